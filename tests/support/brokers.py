"""A Kafka broker of a test's own (the session's broker is shared): stopped and started again on the same data
directory to play an outage, or configured with listeners the session's broker does not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from capmon.harness import free_ports
from tests.conftest import localkafka  # deploy/kafka/localkafka.py, put on the path by conftest


class OwnBroker:
    """A real single-node broker on free ports; `options` go to localkafka.start (extra listeners, users)."""

    def __init__(self, data: Path, ports: int = 2, **options: Any) -> None:
        self.ports = free_ports(ports)
        self.port = self.ports[0]
        self.data = data
        self.options = options
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> OwnBroker:
        localkafka.start(self.port, self.data, localkafka.DEFAULT_CACHE, **self.options)
        return self

    def stop(self) -> None:
        localkafka.stop(self.data)

    def __enter__(self) -> OwnBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
