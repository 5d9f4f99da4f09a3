"""The worker's real web server: it listens on CAPMON_WEB_HOST only, a storm of bad logins does not freeze the
worker (bcrypt off the event loop, a throttle per client), failed logins are logged without the password, a long
password is a 401, and every answer carries the security headers and no version in `Server`."""

from __future__ import annotations

import base64
import http.client
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import pytest

from capmon.harness import WorkerProcess, wait_until

pytestmark = pytest.mark.kafka


def listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket the process listens on, read from /proc (what `ss -ltnp` shows)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            if width == 8:
                shown = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                shown = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.add((shown, int(port, 16)))
    return found


def web_sockets(worker: WorkerProcess) -> set[tuple[str, int]]:
    assert worker.proc is not None
    return {(address, port) for address, port in listening(worker.proc.pid) if port == worker.port}


def get(host: str, port: int, path: str, auth: tuple[str, str] | None = None,
        source: str | None = None, timeout: float = 30) -> tuple[int, dict[str, str], float]:
    """One request on a fresh connection (from `source` when given): status, headers, seconds taken."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0) if source else None)
    try:
        headers = {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.headers), time.monotonic() - started
    finally:
        conn.close()


def test_the_web_server_listens_on_capmon_web_host_only(capmon_env, tmp_path):
    default = WorkerProcess(capmon_env, tmp_path, name="default").start()
    try:
        assert web_sockets(default) == {("127.0.0.1", default.port)}
    finally:
        default.stop()
    other = WorkerProcess({**capmon_env, "CAPMON_WEB_HOST": "127.0.0.2"}, tmp_path, name="other").start()
    try:
        assert web_sockets(other) == {("127.0.0.2", other.port)}
        assert get("127.0.0.2", other.port, "/health")[0] == 200
        with pytest.raises(ConnectionRefusedError):
            get("127.0.0.1", other.port, "/health")
    finally:
        other.stop()


@pytest.fixture
def guarded_worker(capmon_env, tmp_path):
    """A worker with a users file of realistic cost (bcrypt 12: about a quarter of a second per check)."""
    users = tmp_path / "users"
    users.write_text(f"officer:{bcrypt.hashpw(b's3cret', bcrypt.gensalt(rounds=12)).decode()}\n")
    worker = WorkerProcess({**capmon_env, "CAPMON_WEB_USERS_FILE": str(users)}, tmp_path).start()
    try:
        yield worker
    finally:
        worker.stop()


class HealthWatch:
    """GET /health over and over on a thread while a storm runs; the slowest answer is the loop's stall."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.latencies.append(get("127.0.0.1", self.port, "/health")[2])
            self._stop.wait(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        wait_until(lambda: len(self.latencies) >= 3, timeout=10, what="/health answering")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


PASSWORDS = [secrets.token_hex(8) for _ in range(20)]


def storm(port: int, sources: list[str]) -> list[tuple[int, dict[str, str], float]]:
    """20 concurrent requests with random credentials, from the source addresses given (cycled)."""
    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(
            lambda i: get("127.0.0.1", port, "/api/occupancy", (f"user{i}", PASSWORDS[i]),
                          source=sources[i % len(sources)]), range(20)))


def test_a_storm_of_bad_logins_from_one_client_is_throttled_and_never_stalls_the_worker(guarded_worker):
    worker = guarded_worker
    with HealthWatch(worker.port) as watch:
        answers = storm(worker.port, ["127.0.0.1"])
    statuses = sorted(status for status, _h, _t in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) >= 10, statuses  # at most a handful of checks ran; the rest never reached bcrypt
    assert all(int(h["Retry-After"]) >= 1 for status, h, _t in answers if status == 429)
    assert max(watch.latencies) < 1.0, max(watch.latencies)
    # Throttled: even the right password waits its turn; another client is not affected.
    assert get("127.0.0.1", worker.port, "/api/occupancy", ("officer", "s3cret"))[0] == 429
    assert get("127.0.0.1", worker.port, "/api/occupancy", ("officer", "s3cret"), source="127.0.0.9")[0] == 200
    failed = [line for line in worker.log().splitlines() if "failed login" in line]
    assert 1 <= len(failed) <= 6 and all("from 127.0.0.1" in line for line in failed), failed
    assert any("refused for up to" in line for line in worker.log().splitlines())
    assert not any(password in worker.log() for password in PASSWORDS)


def test_a_storm_of_bad_logins_from_many_clients_runs_off_the_event_loop(guarded_worker):
    """20 addresses, none throttled: every check goes to bcrypt, two at a time on threads; /health answers."""
    worker = guarded_worker
    sources = [f"127.0.1.{i}" for i in range(1, 21)]
    with HealthWatch(worker.port) as watch:
        answers = storm(worker.port, sources)
    statuses = [status for status, _h, _t in answers]
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 10, statuses
    assert max(watch.latencies) < 1.0, max(watch.latencies)


def test_failed_logins_are_logged_escaped_and_without_the_password_and_a_long_password_is_401(guarded_worker):
    worker = guarded_worker
    password = "hunter2-" + secrets.token_hex(8)
    assert get("127.0.0.1", worker.port, "/", ("evil\nINFO forged line", password), source="127.0.2.1")[0] == 401
    assert get("127.0.0.1", worker.port, "/", ("officer", "s3cret" + "x" * 100), source="127.0.2.2")[0] == 401
    assert get("127.0.0.1", worker.port, "/", ("officer", "é" * 60), source="127.0.2.2")[0] == 401
    assert get("127.0.0.1", worker.port, "/", ("officer", "s3cret"), source="127.0.2.3")[0] == 200
    wait_until(lambda: "from 127.0.2.2" in worker.log(), timeout=10, what="the failed logins logged")
    log = worker.log()
    assert "failed login for user 'evil\\nINFO forged line' from 127.0.2.1" in log
    assert "\nINFO forged line" not in log and password not in log and "Traceback" not in log


SECURITY = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def test_every_answer_carries_the_security_headers_and_no_version(guarded_worker):
    worker = guarded_worker
    good = ("officer", "s3cret")
    for path, auth, want in (("/", good, 200), ("/api/occupancy", good, None), ("/api/alerts", None, 401),
                             ("/health", None, None), ("/metrics", None, 200), ("/nothing", None, 404),
                             ("/table/people/x/", good, 404)):
        status, headers, _t = get("127.0.0.1", worker.port, path, auth, source="127.0.3.1")
        if want is not None:
            assert status == want, path
        for name, value in SECURITY.items():
            assert headers.get(name) == value, (path, name, headers)
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src" not in csp
        assert headers.get("Server") == "capmon", (path, headers.get("Server"))
        assert (headers.get("Cache-Control") == "no-store") == path.startswith("/api/"), (path, headers)
    with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as raw:  # never reaches the router
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        head = raw.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.") and " 400 " in head.splitlines()[0], head
    assert "Server: capmon\r\n" in head and "aiohttp" not in head and "Python" not in head, head
