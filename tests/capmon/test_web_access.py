"""On a real worker: the stream library's pages answer 404 (a person's record is not readable over HTTP), and
with CAPMON_WEB_USERS_FILE every route but /health and /metrics needs a user, checked with real requests."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import bcrypt

from capmon.harness import WorkerProcess, wait_until
from tests.capmon.test_web_hardening import get
from tests.support.helpers import run_capmon

PROTECTED = ["/", "/api/occupancy", "/api/inflow", "/api/alerts"]


def status(port: int, path: str, auth: tuple[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_only_the_contracts_routes_answer_and_they_need_a_user_but_health_and_metrics(capmon_env, tmp_path):
    placement = {"event_type": "placement", "event_id": "e1", "occurred_at": "2023-07-01T10:00:00+02:00",
                 "person_id": "person-4711", "action": "check_in", "location_id": "L1"}
    (tmp_path / "feed.jsonl").write_text(json.dumps(placement) + "\n")
    assert run_capmon("replay", str(tmp_path / "feed.jsonl"), env=capmon_env).returncode == 0
    users = tmp_path / "users"
    users.write_text(f"officer:{bcrypt.hashpw(b's3cret', bcrypt.gensalt(rounds=4)).decode()}\n")
    worker = WorkerProcess({**capmon_env, "CAPMON_WEB_USERS_FILE": str(users)}, tmp_path).start()
    try:
        wait_until(lambda: worker.get("/health")["assigned_partitions"], timeout=60, what="partitions")
        good = ("officer", "s3cret")
        wait_until(lambda: status(worker.port, "/api/occupancy", good)[0] == 200, timeout=30, what="the API")
        for number, path in enumerate(PROTECTED, start=1):
            code, headers = status(worker.port, path)
            assert code == 401 and headers["WWW-Authenticate"].startswith("Basic"), path
            client = f"127.0.5.{number}"  # one address per path: failed logins are throttled per address
            assert get("127.0.0.1", worker.port, path, ("officer", "wrong"), source=client)[0] == 401, path
            assert get("127.0.0.1", worker.port, path, ("nobody", "s3cret"), source=client)[0] == 401, path
            assert status(worker.port, path, good)[0] == 200, path
        assert status(worker.port, "/health")[0] == 200 and status(worker.port, "/metrics")[0] == 200
        for path in ("/table/people/person-4711/", "/table/people/person-4711", "/table/", "/router/",
                     "/router/people/person-4711/", "/graph/", "/stats/", "/performance/", "/nothing"):
            assert status(worker.port, path, good)[0] == 404, path
        assert "person-4711" not in worker.log()
    finally:
        worker.stop()


def test_a_bad_users_file_stops_the_worker_with_one_line(capmon_env, tmp_path):
    (tmp_path / "users").write_text("officer:not-a-hash\n")
    result = run_capmon("worker", env={**capmon_env, "CAPMON_WEB_USERS_FILE": str(tmp_path / "users")})
    assert result.returncode == 2
    assert result.stderr.strip() == (f"capmon worker: bad configuration: CAPMON_WEB_USERS_FILE={tmp_path / 'users'}: "
                                     "line 1: expected user:bcrypt-hash")
