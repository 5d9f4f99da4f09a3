"""The status page on its own: the figures it shows, colours against the thresholds, self-contained HTML."""

from __future__ import annotations

from alerts.log import AlertLog
from alerts.rules import Rule
from readout.alerts import alerts_json
from readout.status_page import Thresholds
from readout.web import inflow_json, occupancy_json, status_html
from tests.streams.test_metrics import view_with_people
from tests.support.page_reader import read_page, shown_int


def rule(name: str, below: float, severity: str, scope: str = "national", measure: str = "headroom") -> Rule:
    return Rule.model_validate({"name": name, "scope": scope, "measure": measure, "below": below,
                                "severity": severity})


def test_thresholds_come_from_the_national_headroom_rules():
    t = Thresholds.from_rules([rule("a", 2000, "warning"), rule("b", 500, "critical"), rule("c", 9999, "critical",
                                                                                             scope="province")])
    assert (t.warning, t.critical) == (2000, 500)
    assert [t.level(h) for h in (2000, 1999, 500, 499)] == ["ok", "warning", "warning", "critical"]
    assert Thresholds().level(-5) == "ok"


def test_the_page_shows_the_api_figures_and_firing_alerts_and_needs_nothing_from_elsewhere():
    view, a_person = view_with_people()
    alert_log = AlertLog()
    alert_log.apply(b"national_headroom_low/national", (
        b'{"transition": {"alert_id": "national_headroom_low/national", "rule": "national_headroom_low",'
        b' "scope": "national", "severity": "critical", "measure": "headroom", "threshold": 50, "kind": "fired",'
        b' "at_us": 1688198400000000, "value": 25, "since_us": 1688198400000000, "notify": ["log"],'
        b' "escalated_from": null}, "state": {"status": "firing", "value": 25, "since_us": 1688198400000000,'
        b' "fired_us": 1688198400000000}, "seq": 1}'))
    rules = [rule("national_headroom_low", 50, "critical")]
    alerts = alerts_json(alert_log, view, rules)
    page = status_html(view.figures(), alerts, Thresholds.from_rules(rules), dashboard_url="http://grafana/d/capmon")
    parsed = read_page(page)
    occ = occupancy_json(view.figures())
    figures = parsed.figures
    assert shown_int(figures["national-headroom"][1]) == occ["national"]["headroom"] == 10
    assert shown_int(figures["national-occupancy"][1]) == occ["national"]["occupancy"]
    for code, area in occ["provinces"].items():
        assert shown_int(figures[f"province-headroom:{code}"][1]) == area["headroom"]
    assert shown_int(figures["inflow-ytd"][1]) == inflow_json(view.figures())["ytd"] == 30
    assert parsed.alerts == [a["alert_id"] for a in alerts["active"]] == ["national_headroom_low/national"]
    assert alerts["active"][0]["current"] == 10  # the measure now; 25 when it fired
    assert "headroom now 10 (threshold 50)" in page
    assert 'class="big critical"' in page  # headroom 10 is below the critical threshold 50
    assert figures["page-status"][0] == "critical" and 'class="page-status page-critical"' in page
    assert parsed.external == []  # no scripts, style sheets, images or fonts from anywhere
    assert '<a href="http://grafana/d/capmon"' in page  # only a link to follow
    assert "url(" not in page and "@import" not in page
    assert a_person not in page
    assert "<polyline" in page and view.figures().curve is not None


def test_the_page_leads_with_transfer_headroom_and_shows_norms_and_the_backlog():
    import json

    from streams.contract.records.figures import partition_key
    from streams.contract.topics import Topics
    from streams.ingest.processors import Incoming, PeopleProcessor
    from streams.state.view import FiguresView

    def site(loc: str, kind: str, beds: int, norm: int | None = None) -> bytes:
        body = {"event_id": f"l-{loc}", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": loc,
                "name": loc, "province": "NL-GR", "location_type": kind, "capacity": beds, "status": "open"}
        return json.dumps({**body, **({"norm": norm} if norm is not None else {})}).encode()

    proc = PeopleProcessor(Topics(""))
    batch = []
    for i in range(12):
        where = "TA" if i < 9 else "AZC"
        batch.append(Incoming("placements", 0, i, b"p", json.dumps(
            {"event_id": f"c{i}", "occurred_at": "2023-07-01T10:00:00+02:00", "person_id": f"p{i}",
             "action": "check_in", "location_id": where}).encode()))
    for i, day in enumerate(("2023-06-25", "2023-03-01", "2022-12-01")):  # waiting 6, 122 and 212 days
        batch.append(Incoming("registrations", 0, i, b"p", json.dumps(
            {"event_id": f"r{i}", "occurred_at": f"{day}T10:00:00+02:00", "person_id": f"p{i}",
             "application_type": "first", "nationality": "SYR"}).encode()))
    proc.process(batch)
    view = FiguresView()
    view.apply(b"site:TA", site("TA", "application_centre", 10, norm=8))
    view.apply(b"site:AZC", site("AZC", "regular", 4))
    view.apply(partition_key(0), proc.partitions[0].summary())
    rules = [rule("transfer_low", 2, "critical", measure="transfer_headroom")]
    page = status_html(view.figures(), {"active": [], "pending": []}, Thresholds(),
                       transfer_thresholds=Thresholds.from_rules(rules, "transfer_headroom"))
    figures = read_page(page).figures
    assert page.index('data-figure="transfer-headroom"') < page.index('data-figure="national-headroom"')
    assert shown_int(figures["transfer-headroom"][1]) == 1  # AZC: 4 beds, 3 persons; Ter Apel not counted
    assert shown_int(figures["transfer-national-headroom"][1]) == 2  # 14 beds, 12 persons
    assert 'class="big critical"' in page  # transfer headroom 1 is below the rule's 2
    assert shown_int(figures["norm:TA"][1]) == 8 and figures["over-norm:TA"][0] == "1"
    assert figures["backlog-total"][0] == "3" and figures["backlog-overdue"][0] == "1"
    assert figures["backlog-past-term"][0] == "0"  # registered 2022-12-01: fifteen months to wait
    assert [figures[f"backlog:{b}"][0] for b in ("lt_1m", "1m_3m", "3m_6m", "6m_15m", "ge_15m")] == \
        ["1", "0", "1", "1", "0"]


def test_the_page_takes_the_colour_of_the_most_severe_firing_alert_whatever_the_figures_say():
    """A big green figure beside a critical page was the bug: the page's colour is that of its alerts."""
    view, _ = view_with_people()
    quiet = Thresholds()  # no headroom rule: every figure's own colour is "ok"

    def page_with(*severities: str) -> tuple[str, str]:
        active = [{"alert_id": f"r{i}/national", "rule": f"r{i}", "scope": "national", "severity": sev,
                   "measure": "transfer_headroom", "value": 0, "current": 0, "threshold": 100,
                   "fired_at": "2023-08-24T10:00"} for i, sev in enumerate(severities)]
        page = status_html(view.figures(), {"active": active, "pending": []}, quiet)
        return read_page(page).figures["page-status"][0], page

    assert page_with()[0] == "ok"
    assert page_with("info")[0] == "ok"
    assert page_with("info", "warning")[0] == "warning"
    level, page = page_with("warning", "critical", "warning")
    assert level == "critical" and "page-critical" in page and 'class="big ok"' in page
    assert "1 critical alert firing (r1)" in page


def test_a_warning_shows_in_the_header_escaped_and_only_when_given():
    view, _ = view_with_people()
    quiet = Thresholds()
    plain = status_html(view.figures(), {"active": [], "pending": []}, quiet)
    warned = status_html(view.figures(), {"active": [], "pending": []}, quiet, warning="Kafka <unreachable> for 9 s")
    assert "data-warning" not in plain
    assert '<span class="stale" data-warning>Kafka &lt;unreachable&gt; for 9 s</span>' in warned
