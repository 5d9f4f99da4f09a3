"""The Grafana files on their own: dashboards current with their builder, well-formed, provisioning consistent."""

from __future__ import annotations

import importlib.util
import json

import yaml

from tests.support.helpers import REPO

GRAFANA = REPO / "deploy" / "grafana"


def builder():
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_are_what_the_builder_writes():
    rendered = builder().render_all()
    committed = {p.name: p.read_text() for p in (GRAFANA / "dashboards").glob("*.json")}
    assert committed == rendered, "run `make dashboards` and commit deploy/grafana/dashboards"


def test_every_panel_has_a_query_on_the_templated_data_source_and_a_place_on_the_grid():
    for path in (GRAFANA / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "datasource" in variables
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for p in board["panels"]:
            assert p["targets"] and all(t["expr"] and t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
            grid = p["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (path.name, p["title"])


def test_provisioning_points_at_the_dashboards_and_prometheus():
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus" and ds["datasources"][0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "capmon.yml").read_text())["providers"]
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards/capmon"
