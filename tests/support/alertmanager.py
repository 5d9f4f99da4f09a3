"""A real Prometheus Alertmanager (Debian package `prometheus-alertmanager`) on loopback, routing every alert
to one webhook receiver, or run with a configuration of the test's own (deploy/alertmanager's)."""

from __future__ import annotations

from pathlib import Path

from tests.support.loopback_service import LoopbackService

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


class Alertmanager(LoopbackService):
    name, package, binaries = "Alertmanager", "prometheus-alertmanager", ("prometheus-alertmanager", "alertmanager")

    def __init__(self, tmp: Path, webhook_url: str = "", config: str | None = None) -> None:
        super().__init__(tmp)
        (tmp / "alertmanager.yml").write_text(CONFIG.format(url=webhook_url) if config is None else config)

    def arguments(self) -> list[str]:
        return [f"--config.file={self.tmp / 'alertmanager.yml'}", f"--storage.path={self.tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]
