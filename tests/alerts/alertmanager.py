"""A real Prometheus Alertmanager (Debian package `prometheus-alertmanager`) on loopback, routing every alert
to one webhook receiver."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.worker_harness import free_port

CONFIG = """\
route:
  receiver: hook
  group_by: [alertname, scope]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


class Alertmanager:
    def __init__(self, tmp: Path, webhook_url: str) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            pytest.fail("Alertmanager is not installed: `make test` installs the Debian package "
                        "prometheus-alertmanager (apt-get install prometheus-alertmanager)")
        self.binary = binary
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "alertmanager.yml").write_text(CONFIG.format(url=webhook_url))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Alertmanager:
        log = open(self.tmp / "alertmanager.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.tmp / 'alertmanager.yml'}", f"--storage.path={self.tmp / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout=30, what="Alertmanager to be ready")
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
