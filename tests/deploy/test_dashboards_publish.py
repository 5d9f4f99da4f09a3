"""`capmon dashboards publish` against an HTTP server on loopback that answers as Grafana's HTTP API does
(folders and dashboards/db, bearer token), so grafana-client really talks HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.helpers import REPO, run_capmon

TOKEN = "glsa_secret-token-never-printed"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"


class GrafanaStandIn(BaseHTTPRequestHandler):
    folders: ClassVar[dict[str, dict]] = {}
    dashboards: ClassVar[dict[str, dict]] = {}
    calls: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"message": "invalid API key"})
            return False
        return True

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path))
        if not self._authorised():
            return
        if self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.folders:
                self._answer(200, self.folders[uid])
            else:
                self._answer(404, {"message": "folder not found"})
            return
        self._answer(404, {"message": "not found"})

    def do_POST(self) -> None:
        self.calls.append(("POST", self.path))
        if not self._authorised():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/folders":
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": len(self.folders) + 1}
            self._answer(200, self.folders[body["uid"]])
        elif self.path == "/api/dashboards/db":
            dash = body["dashboard"]
            if body.get("folderUid") not in self.folders or not dash.get("panels") or dash.get("id") is not None:
                self._answer(400, {"message": "bad dashboard"})
                return
            version = self.dashboards.get(dash["uid"], {}).get("version", 0) + 1
            self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": body["folderUid"], "version": version}
            self._answer(200, {"id": 1, "uid": dash["uid"], "url": f"/d/{dash['uid']}/x", "status": "success",
                               "version": version})
        else:
            self._answer(404, {"message": "not found"})


@pytest.fixture
def grafana():
    GrafanaStandIn.folders, GrafanaStandIn.dashboards, GrafanaStandIn.calls = {}, {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GrafanaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_publish_creates_the_folder_and_every_dashboard_then_overwrites_them(grafana, tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env = {"CAPMON_GRAFANA_URL": grafana, "CAPMON_GRAFANA_TOKEN_FILE": str(token_file)}
    first = run_capmon("dashboards", "publish", env=env)
    assert first.returncode == 0, first.stderr
    expected = {json.loads(p.read_text())["uid"] for p in DASHBOARDS.glob("*.json")}
    assert set(GrafanaStandIn.dashboards) == expected == {"capmon-capacity", "capmon-inflow", "capmon-chain",
                                                          "capmon-health"}
    assert ("POST", "/api/folders") in GrafanaStandIn.calls
    again = run_capmon("dashboards", "publish", env=env)
    assert again.returncode == 0, again.stderr
    assert GrafanaStandIn.calls.count(("POST", "/api/folders")) == 1  # the folder exists now
    assert {d["version"] for d in GrafanaStandIn.dashboards.values()} == {2}
    assert "version 2" in again.stdout and TOKEN not in again.stdout + again.stderr


def test_a_refused_token_or_no_token_is_one_clear_line(grafana):
    refused = run_capmon("dashboards", "publish", env={"CAPMON_GRAFANA_URL": grafana, "CAPMON_GRAFANA_TOKEN": "nope"})
    assert refused.returncode == 4
    assert refused.stderr.strip().splitlines() == [
        f"capmon dashboards: Grafana at {grafana} refused the token (401): check CAPMON_GRAFANA_TOKEN(_FILE)"]
    missing = run_capmon("dashboards", "publish", env={"CAPMON_GRAFANA_URL": grafana})
    assert missing.returncode == 2 and "CAPMON_GRAFANA_TOKEN" in missing.stderr
    unreachable = run_capmon("dashboards", "publish", "--url", "http://127.0.0.1:9", env={"CAPMON_GRAFANA_TOKEN": "x"})
    assert unreachable.returncode == 4 and "cannot reach Grafana at http://127.0.0.1:9" in unreachable.stderr


def test_without_the_dashboards_extra_publishing_is_one_clear_line():
    """The worker image leaves grafana-client out: `capmon dashboards publish` there says what to do."""
    import subprocess
    import sys

    absent = "import sys; sys.modules['grafana_client'] = None; from capmon.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", absent, "dashboards", "publish"], capture_output=True, text=True,
                          env={"CAPMON_GRAFANA_URL": "http://127.0.0.1:9", "CAPMON_GRAFANA_TOKEN": TOKEN}, cwd=REPO,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "capmon dashboards: publishing dashboards needs the `dashboards` extra (grafana-client), which the worker "
        "image does not install: run it from a checkout after `make install`, or `pip install 'capmon[dashboards]'`"]
    assert TOKEN not in done.stderr
