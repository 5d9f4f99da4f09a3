"""Free loopback ports for the services tests start (brokers, workers, Prometheus, Alertmanager).

A port the kernel hands out for `bind(0)` comes from the ephemeral range (32768-60999 here), which every outgoing
connection of the suite also draws from: between choosing such a port and the service binding it seconds later,
a client's connection can take it ("Address already in use": a broker failed to start in a full run). So ports
are drawn below that range, where no outgoing connection ever lands, and none is handed out twice in a session.
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20_000, 32_000  # below the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range)
_handed: set[int] = set()


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
    """`n` consecutive free ports (a broker's controller listens on its port + 1)."""
    for _ in range(200):
        first = random.randrange(LOW, HIGH - n)
        ports = list(range(first, first + n))
        if not _handed.intersection(ports) and all(_bindable(p) for p in ports):
            _handed.update(ports)
            return ports
    raise AssertionError("no free ports")


def free_port() -> int:
    return free_ports(1)[0]
