"""Run real `capmon worker` processes and read them from outside: the one harness of the tests and the benchmarks.

A worker runs as `python -m capmon worker` in its own session, with its own web port and state directory (the
same name: the same state, so a restart in place), its output in a log file next to that state. Waiting is a
polled condition with a deadline (`wait_until`); a worker that dies while it is waited on ends the wait at once
with the tail of its log (`WorkerExited`) instead of a timeout minutes later.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
LOG_TAIL = 3000  # characters of a worker's log in WorkerExited

# Ports are drawn below the ephemeral range (32768-60999 here, /proc/sys/net/ipv4/ip_local_port_range): a port
# from bind(0) comes from that range, which every outgoing connection also draws from, so between choosing it and
# the service binding it seconds later a client's connection could take it ("Address already in use"). None is
# handed out twice in one process.
PORTS_LOW, PORTS_HIGH = 20_000, 32_000
_handed: set[int] = set()

T = TypeVar("T")


class WorkerExited(RuntimeError):
    """The worker process ended while it was waited on or asked something; the message ends with its log."""


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there either


def free_ports(n: int = 1) -> list[int]:
    """`n` consecutive free loopback ports (a broker's controller listens on its port + 1), never handed out before."""
    for _ in range(200):
        first = random.randrange(PORTS_LOW, PORTS_HIGH - n)
        ports = list(range(first, first + n))
        if not _handed.intersection(ports) and all(_bindable(p) for p in ports):
            _handed.update(ports)
            return ports
    raise RuntimeError("no free ports")


def free_port() -> int:
    return free_ports(1)[0]


def wait_until(condition: Callable[[], T], timeout: float = 30.0, what: str = "", interval: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy, and return that. An OSError from it (a worker or a
    file not there yet) counts as not yet; WorkerExited ends the wait. TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while True:
        try:
            result = condition()
        except OSError as exc:
            last_error, result = exc, None  # type: ignore[assignment]
        if result:
            return result
        if time.monotonic() > deadline:
            error = f" (last error: {last_error})" if last_error is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or condition}{error}")
        time.sleep(interval)


def metric_sum(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of the samples called `name` with these labels (among others) in a /metrics text; 0 when none."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(f'{k}="{v}"' in line for k, v in (labels or {}).items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class WorkerProcess:
    """One `capmon worker` subprocess with its own web port and state directory."""

    def __init__(self, env: Mapping[str, str], tmp: Path, name: str = "w") -> None:
        self.port = free_port()
        self.log_path = tmp / f"{name}-{self.port}.log"
        self.env = {**env, "CAPMON_WEB_PORT": str(self.port), "CAPMON_STATE_DIR": str(tmp / f"state-{name}")}
        self.proc: subprocess.Popen | None = None
        self._ended_by_us = False

    @property
    def url(self) -> str:
        return f"http://{self.env.get('CAPMON_WEB_HOST', '127.0.0.1')}:{self.port}"

    def start(self, wait_healthy: bool = True, timeout: float = 90) -> WorkerProcess:
        """Start (again, in place); with `wait_healthy`, return once /health answers 200."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "capmon", "worker"], env=self.env, cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._ended_by_us = False
        if wait_healthy:
            wait_until(self.healthy, timeout, f"the worker on port {self.port} to be healthy ({self.log_path})")
        return self

    def _check_running(self) -> None:
        """WorkerExited when the process ended and neither stop() nor kill9() ended it."""
        if self.proc is None:
            raise WorkerExited("the worker was never started")
        if self.proc.poll() is not None and not self._ended_by_us:
            raise WorkerExited(f"the worker on port {self.port} exited with {self.proc.returncode}; its log ends:\n"
                               f"{self.log()[-LOG_TAIL:]}")

    def healthy(self) -> bool:
        self._check_running()
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

    def text(self, path: str) -> str:
        self._check_running()
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return response.read().decode()

    def get(self, path: str) -> Any:
        return json.loads(self.text(path))

    def metric(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """The sum of a metric's samples with these labels on /metrics (0 when it has none)."""
        return metric_sum(self.text("/metrics"), name, labels)

    def rss_mb(self) -> float:
        """Resident memory of the worker process, from /proc."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill9(self) -> None:
        assert self.proc is not None
        self._ended_by_us = True
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> float:
        """SIGTERM (SIGKILL after `timeout`); returns how long the process took to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        self._ended_by_us = True
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
