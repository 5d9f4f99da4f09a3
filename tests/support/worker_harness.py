"""Run real `capmon worker` processes in tests, read their HTTP API, and compare with the reference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.support.helpers import REPO, wait_for
from tests.support.ports import free_port


class WorkerProcess:
    """One `capmon worker` subprocess with its own web port and state directory."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str = "w") -> None:
        self.port = free_port()
        self.log_path = tmp / f"{name}-{self.port}.log"
        self.env = {**env, "CAPMON_WEB_PORT": str(self.port), "CAPMON_STATE_DIR": str(tmp / f"state-{name}")}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.env.get('CAPMON_WEB_HOST', '127.0.0.1')}:{self.port}"

    def start(self, wait_healthy: bool = True) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen([sys.executable, "-m", "capmon", "worker"], env=self.env, cwd=REPO,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if wait_healthy:
            wait_for(self.healthy, timeout=90, what=f"worker on port {self.port} to be healthy ({self.log_path})")
        return self

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}: {self.log()[-2000:]}")
        try:
            return self.get_status("/health") == 200
        except OSError:
            return False

    def get_status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.loads(response.read())

    def text(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return response.read().decode()

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> float:
        """SIGTERM; returns how long the process took to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        return time.monotonic() - started

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def figures_differences(worker: WorkerProcess, expected: dict) -> list[str]:
    """What differs between a worker's API and the reference figures (empty when they are equal)."""
    try:
        occ = worker.get("/api/occupancy")
        flow = worker.get("/api/inflow")
    except OSError as exc:
        return [f"API not answering: {exc}"]
    diffs = []
    for key in ("occupancy", "capacity", "headroom"):
        if occ["national"][key] != expected["national"][key]:
            diffs.append(f"national {key}: {occ['national'][key]} != {expected['national'][key]}")
    if occ["national"]["permit_holders_in_reception"] != expected["permit_holders"]:
        diffs.append(f"permit holders {occ['national']['permit_holders_in_reception']} != {expected['permit_holders']}")
    got_prov = {p: {k: v[k] for k in ("occupancy", "capacity", "headroom")} for p, v in occ["provinces"].items()}
    if got_prov != expected["provinces"]:
        diffs.append("provinces differ")
    got_loc = {loc: (v["occupancy"], v["capacity"]) for loc, v in occ["locations"].items()}
    exp_loc = {loc: (v["occupancy"], v["capacity"]) for loc, v in expected["locations"].items()}
    if got_loc != exp_loc:
        diffs.append(f"{sum(got_loc.get(k) != v for k, v in exp_loc.items())} locations differ")
    got_transfer = {k: occ["transfer"][k] for k in ("occupancy", "capacity", "headroom")}
    if got_transfer != expected["transfer"]:
        diffs.append(f"transfer {got_transfer} != {expected['transfer']}")
    got_types = {t: {k: v[k] for k in ("occupancy", "capacity", "headroom")}
                 for t, v in occ["location_types"].items() if v["occupancy"] or v["capacity"]}
    if got_types != {t: v for t, v in expected["location_types"].items() if v["occupancy"] or v["capacity"]}:
        diffs.append("location types differ")
    got_norms = {loc: (v["norm"], v["over_norm"]) for loc, v in occ["locations"].items() if "norm" in v}
    if got_norms != expected["norms"]:
        diffs.append(f"norms {got_norms} != {expected['norms']}")
    overall = flow["grant_rates"]["overall"]
    if overall != expected["grant_rates"] and not _close(overall, expected["grant_rates"]):
        diffs.append(f"grant rates {overall} != {expected['grant_rates']}")
    if "backlog" in expected and flow["ind_backlog"] != expected["backlog"]:
        diffs.append(f"backlog {flow['ind_backlog']} != {expected['backlog']}")
    need = occ.get("capacity_need")
    if "capacity_need" in expected and (need is None or any(
            abs(need["scenarios"][s]["need"] - v) > 1e-6 for s, v in expected["capacity_need"].items())):
        diffs.append(f"capacity need {need and {s: v['need'] for s, v in need['scenarios'].items()}} != "
                     f"{expected['capacity_need']}")
    if flow["ytd"] != expected["inflow_ytd"] or flow["rolling"] != expected["rolling"]:
        diffs.append(f"inflow {flow['ytd']} {flow['rolling']} != {expected['inflow_ytd']} {expected['rolling']}")
    if expected["now"] is not None and (occ["now"] is None or datetime.fromisoformat(occ["now"]) != expected["now"]):
        diffs.append(f"now {occ['now']} != {expected['now'].isoformat()}")
    return diffs


def _close(got: dict, want: dict) -> bool:
    """Equal, ratios to 1e-9 (they are divided in different orders)."""
    return got.keys() == want.keys() and all(
        got[k] == want[k] or (isinstance(got[k], float) and want[k] is not None and abs(got[k] - want[k]) < 1e-9)
        for k in got)
