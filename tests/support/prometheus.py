"""A real Prometheus (Debian package `prometheus`) on loopback, scraping capmon workers every second and loading
capmon's own rules (deploy/prometheus/rules), for tests."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from tests.support.helpers import REPO
from tests.support.loopback_service import LoopbackService

CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}/*.yml
scrape_configs:
  - job_name: capmon
    static_configs:
      - targets: {targets}
"""


class Prometheus(LoopbackService):
    name, package, binaries = "Prometheus", "prometheus", ("prometheus",)

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        super().__init__(tmp)
        (tmp / "prometheus.yml").write_text(CONFIG.format(rules=REPO / "deploy" / "prometheus" / "rules",
                                                          targets=json.dumps(targets)))

    def arguments(self) -> list[str]:
        return [f"--config.file={self.tmp / 'prometheus.yml'}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"]

    def query(self, expr: str) -> list[dict]:
        """An instant query; the result vector (raises on a query Prometheus rejects)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None
