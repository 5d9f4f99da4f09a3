"""What operations looks at, end to end: a real worker fed by the simulator on the real broker, scraped by a real
Prometheus loading capmon's rules; every query of every Grafana panel returns data and the figures equal the
worker's /api/occupancy; the status page in headless Chromium shows the same numbers and a firing alert."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid

import jsonschema
import pytest
import yaml

from capmon.harness import WorkerProcess, wait_until
from readout.status_page import full_on_text
from streams.contract.schemas import SCHEMA_DIR
from tests.support.helpers import REPO, run_capmon
from tests.support.page_reader import read_page, shown_int
from tests.support.prometheus import Prometheus

pytestmark = pytest.mark.kafka

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
ARTIFACTS = REPO / "artifacts"
INPUT_PARTITIONS = 5 * 4  # registrations, decisions, placements, locations, forecasts; 4 partitions each
# Grafana's variables, as the dashboards' defaults substitute them ("All" provinces is the regex .*).
VARIABLES = {"$province": ".*", "$window": "7d", "$__rate_interval": "1m", "$__range": "5m", "$__interval": "1s"}
RULES = """\
rules:
  - name: national_headroom_low
    scope: national
    measure: headroom
    below: 100000000
    clear: 100000001
    for: 0m
    severity: critical
    notify: [log]
  - name: province_headroom_low
    scope: province
    measure: headroom
    below: 100
    clear: 250
    for: 1h
    severity: warning
    notify: [log]
"""


def lag_series(text: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("capmon_consumer_lag{")]


@pytest.fixture(scope="module")
def fed_worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory):
    """One worker that has processed a faulty simulated fortnight and the MPP forecast, with a firing alert."""
    tmp = tmp_path_factory.mktemp("observability")
    (tmp / "rules.yaml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=kafka_bootstrap, CAPMON_TOPIC_PREFIX=f"o{uuid.uuid4().hex[:10]}.",
               CAPMON_ALERT_RULES=str(tmp / "rules.yaml"),
               CAPMON_TAAKSTELLING='{"2023-H1": 20000, "2023-H2": 27300}')  # the feed is in 2023-H1
    fed = run_capmon("simulate", "--days", "14", "--seed", "8", "--invalid", "0.01", "--duplicates", "0.02", env=env,
                     timeout=300)
    assert fed.returncode == 0, fed.stderr
    forecast = run_capmon("replay", str(REPO / "deploy" / "forecasts" / "mpp-2023.jsonl"), env=env)
    assert forecast.returncode == 0, forecast.stderr
    worker = WorkerProcess(env, tmp).start()
    try:
        def processed_everything() -> bool:
            lag = lag_series(worker.text("/metrics"))
            return len(lag) == INPUT_PARTITIONS and sum(lag) == 0

        wait_until(processed_everything, timeout=240, interval=0.5, what="the worker to read every input event")
        previous: list[tuple] = []

        def stable_with_alert() -> bool:
            alerts = worker.get("/api/alerts")
            current = (worker.get("/api/occupancy"), [(a["alert_id"], a["status"]) for a in alerts["all"]])
            stable = bool(previous) and previous[-1] == current
            previous.append(current)
            return stable and bool(alerts["active"])

        wait_until(stable_with_alert, timeout=120, interval=2.0, what="stable figures and alerts, one firing")
        yield worker, tmp
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def prometheus(fed_worker):
    worker, tmp = fed_worker
    with Prometheus(tmp, [f"127.0.0.1:{worker.port}"]) as prom:
        wait_until(lambda: prom.value("capmon_national_headroom") is not None, timeout=60,
                   what="Prometheus to scrape the worker")
        yield prom


def panel_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for name, value in VARIABLES.items():
                    expr = expr.replace(name, value)
                assert "$" not in expr, f"unsubstituted variable in {path.name} / {panel['title']}: {expr}"
                queries.append((board["uid"], panel["title"], expr))
    return queries


@pytest.mark.parametrize("path", ["/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook"])
def test_every_json_answer_of_a_fed_worker_has_its_schema_and_fits_it(fed_worker, path):
    """CONTRACT.md section 5: every JSON answer has a JSON Schema in the repository (`capmon schemas`); here with
    a fortnight of figures, a firing alert and a taakstelling, so the optional parts are there too."""
    worker, _tmp = fed_worker
    schema = json.loads((SCHEMA_DIR / f"api-{path.removeprefix('/api/')}.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(worker.get(path))


def test_every_dashboard_panel_query_returns_data(prometheus):
    queries = panel_queries()
    assert len(queries) > 40
    empty: list[str] = []

    def all_answer() -> bool:
        empty[:] = [f"{uid} / {title}: {expr}" for uid, title, expr in queries if not prometheus.query(expr)]
        return not empty

    try:
        wait_until(all_answer, timeout=90, interval=2.0, what="every panel query to return data")
    except BaseException:
        print("queries without data:\n" + "\n".join(empty))
        raise


def test_prometheus_figures_equal_the_api_and_the_health_rules_are_quiet(prometheus, fed_worker):
    worker, _ = fed_worker
    occ = worker.get("/api/occupancy")

    def vector(expr: str, label: str) -> dict[str, float]:
        return {r["metric"][label]: float(r["value"][1]) for r in prometheus.query(expr)}

    def differences() -> list[str]:
        diffs = []
        for name in ("occupancy", "capacity", "headroom"):
            if prometheus.value(f"capmon_national_{name}") != occ["national"][name]:
                diffs.append(f"national {name}")
            provinces = vector(f"capmon_province_{name}", "province")
            if provinces != {p: a[name] for p, a in occ["provinces"].items()}:
                diffs.append(f"province {name}")
            locations = vector(f"capmon_location_{name}", "location_id")
            if locations != {loc: f[name] for loc, f in occ["locations"].items()}:
                diffs.append(f"location {name}")
        if prometheus.value("capmon_permit_holders_in_reception") != occ["national"]["permit_holders_in_reception"]:
            diffs.append("permit holders")
        days = prometheus.value("capmon_national_days_until_full")
        if days is None or abs(days - occ["national"]["days_until_full"]) > 1e-9:
            diffs.append(f"days until full {days} != {occ['national']['days_until_full']}")
        return diffs

    last: list[str] = []

    def equal() -> bool:
        last[:] = differences()
        return not last

    try:
        wait_until(equal, timeout=30, interval=1.0, what="Prometheus figures to equal /api/occupancy")
    except BaseException:
        print("differences:", last)
        raise
    assert len(occ["locations"]) > 40
    assert prometheus.value('sum(capmon_dead_letters_total)') > 0  # the feed had invalid events
    # The rules that watch the watcher are loaded, evaluated, and quiet for a healthy worker.
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/rules", timeout=10) as response:
        groups = json.loads(response.read())
    rules = [r for g in groups["data"]["groups"] for r in g["rules"]]
    in_files = sum(len(g["rules"]) for path in (REPO / "deploy/prometheus/rules").glob("*.yml")
                   for g in yaml.safe_load(path.read_text())["groups"])
    assert {r["health"] for r in rules} == {"ok"} and len(rules) == in_files
    firing = {r["name"] for r in rules if r["type"] == "alerting" and r["state"] == "firing"}
    assert firing <= {"CapmonDeadLetters"}, firing  # the feed's invalid events, and nothing about capmon itself


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("Chromium is not installed: `make test` installs the Debian package chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run",
             "--disable-extensions", "--mute-audio", "--hide-scrollbars",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]  # nothing but loopback
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=timeout)


def test_the_status_page_in_chromium_shows_the_api_figures_and_the_firing_alert(fed_worker):
    worker, tmp = fed_worker
    url = f"http://127.0.0.1:{worker.port}/"
    profile = tmp / "chromium-profile"
    dom = chromium(f"--user-data-dir={profile}", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    occ, alerts = worker.get("/api/occupancy"), worker.get("/api/alerts")
    page = read_page(dom.stdout)
    figures = page.figures
    national = occ["national"]
    for name in ("headroom", "occupancy", "capacity"):
        assert shown_int(figures[f"national-{name}"][1]) == national[name], name
    assert shown_int(figures["national-permit-holders"][1]) == national["permit_holders_in_reception"]
    for code, area in occ["provinces"].items():
        assert shown_int(figures[f"province-headroom:{code}"][1]) == area["headroom"], code
    crowded = [loc for loc, f in occ["locations"].items()
               if f["headroom"] < 0 or (f["occupancy_ratio"] or 0) > 0.96]
    assert shown_int(figures["locations-crowded"][1]) == len(crowded)
    assert sorted(page.alerts) == sorted(a["alert_id"] for a in alerts["active"])
    assert any("national_headroom_low" in a for a in page.alerts)
    national_alert = next(a for a in alerts["active"] if a["rule"] == "national_headroom_low")
    assert national_alert["current"] == national["headroom"]  # the page shows the measure now, not at firing
    assert f"headroom now {figures['national-headroom'][1]} (threshold" in dom.stdout
    assert "big critical" in dom.stdout  # the headroom is below the critical rule's threshold: red
    assert page.external == []
    outlook = worker.get("/api/outlook")  # the page's outlook: 12 weeks, a line and "full on ..." per scenario
    assert 'data-figure="outlook-chart"' in dom.stdout
    for scenario, lines in outlook["scenarios"].items():
        assert f'data-scenario="{scenario}"' in dom.stdout
        assert figures[f"outlook-full:{scenario}"][1] == full_on_text(
            lines["transfer_full_on"], lines["days_until_transfer_full"], "12", 84), scenario

    ARTIFACTS.mkdir(exist_ok=True)
    for name, size in (("status-page.png", "1280,1500"), ("status-page-phone.png", "390,2600")):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        taken = chromium(f"--user-data-dir={profile}", f"--window-size={size}", f"--screenshot={shot}", url)
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"status page screenshots: {ARTIFACTS}/status-page.png, status-page-phone.png ({time.strftime('%T')})")


CONTRACT_METRICS = [  # CONTRACT.md section 4, with an example of each label
    "capmon_national_occupancy", "capmon_national_capacity", "capmon_national_headroom",
    'capmon_province_occupancy{province="NL-GR"}', 'capmon_province_capacity{province="NL-GR"}',
    'capmon_province_headroom{province="NL-GR"}', 'capmon_location_occupancy{location_id="ter-apel"',
    'capmon_location_capacity{location_id="ter-apel"', 'capmon_location_headroom{location_id="ter-apel"',
    "capmon_permit_holders_in_reception", "capmon_inflow_ytd", 'capmon_inflow_rolling{window="7d"}',
    'capmon_inflow_rolling{window="28d"}', 'capmon_mpp_expected_ytd{scenario="min"}',
    'capmon_mpp_expected_ytd{scenario="medio"}', 'capmon_mpp_expected_ytd{scenario="max"}',
    'capmon_mpp_deviation_ratio{scenario="max"}', 'capmon_registrations_total{application_type="first"}',
    'capmon_decisions_total{outcome="granted"}', 'capmon_events_total{result="accepted",topic="placements"}',
    'capmon_events_total{result="duplicate",topic="placements"}',
    'capmon_events_total{result="invalid",topic="placements"}',
    'capmon_alert_active{rule="national_headroom_low",scope="national",severity="critical"} 1.0',
    "capmon_national_transfer_headroom", 'capmon_location_type_occupancy{location_type="regular"}',
    'capmon_location_type_capacity{location_type="emergency"}', 'capmon_location_type_headroom{location_type="amv"}',
    'capmon_location_norm{location_id="ter-apel"', 'capmon_ind_backlog{waiting="lt_1m"}',
    'capmon_ind_backlog{waiting="ge_15m"}', "capmon_ind_backlog_overdue", "capmon_ind_backlog_past_term",
    'capmon_capacity_need{scenario="medio"}',
    'capmon_capacity_short{scenario="max"}', "capmon_first_instance_decisions{",
    'capmon_outlook_headroom{horizon_days="84",scenario="trend",scope="transfer"}',
    'capmon_outlook_headroom{horizon_days="7",scenario="medio",scope="national"}',
]


def test_health_answers_and_metrics_have_every_contract_name_and_bounded_labels(fed_worker):
    worker, _ = fed_worker
    text = worker.text("/metrics")
    missing = [name for name in CONTRACT_METRICS if f"\n{name}" not in text]
    assert missing == []
    assert "person_id" not in text and not re.search(r"\bp-[0-9a-f]{6,}", text)  # the simulator's person ids
    per_nationality: dict[str, list[float]] = {}
    for line in text.splitlines():
        if line.startswith(("capmon_decisions_by_nationality{", "capmon_first_instance_decisions{")):
            nationality = line.split('nationality="')[1].split('"')[0]
            per_nationality.setdefault(nationality, []).append(float(line.rsplit(" ", 1)[1]))
    assert 0 < len(per_nationality) <= 41  # series bounded (small cells are summed under "other")
    assert all(n == 0 or n >= 10 for cells in per_nationality.values() for n in cells)  # no small cell
    assert worker.get_status("/health") == 200
