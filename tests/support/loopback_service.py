"""A real server from a Debian package (Prometheus, Alertmanager) run on 127.0.0.1 for a test: started with
its own config in the test's directory, ready once `/-/ready` answers 200, terminated afterwards."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Self

import pytest

from capmon.harness import free_port, wait_until


class LoopbackService:
    name = ""  # for messages and the log file
    package = ""  # the Debian package `make test` installs (deploy/test-deps.sh)
    binaries: tuple[str, ...] = ()  # command names to look for, in order

    def __init__(self, tmp: Path) -> None:
        binary = next((found for b in self.binaries if (found := shutil.which(b))), None)
        if binary is None:
            pytest.fail(f"{self.name} is not installed: `make test` installs the Debian package {self.package} "
                        f"(apt-get install {self.package})")
        self.binary, self.tmp = binary, tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"{self.name.lower()}.log"
        self.proc: subprocess.Popen | None = None

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([self.binary, *self.arguments()], stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=60, what=f"{self.name} to be ready ({self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
