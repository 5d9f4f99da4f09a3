"""What an alert says to a person: what, where, how bad, since when, where to look. No person ids exist in
alerts (measures are aggregates), so none can leak here."""

from __future__ import annotations

from datetime import datetime

from streams.contract.records.alerts import Transition
from streams.state.stamp import AMSTERDAM

MEASURE_WORDS = {
    "headroom": "headroom (free usable beds)",
    "occupancy": "occupancy",
    "occupancy_ratio": "occupancy ratio",
    "days_until_full": "days until full",
    "transfer_days_until_full": "days until the transfer network is full",
    "permit_holders": "permit holders in reception",
    "staleness": "seconds without events",
    "transfer_headroom": "transfer headroom (free beds people can move on to)",
    "over_norm": "occupancy above the norm",
    "ind_backlog_overdue": "persons awaiting an IND decision past six months",
    "ind_backlog_past_term": "persons awaiting an IND decision past their decision term",
}
SCOPE_WORDS = {"national": "nationally"}


def when(us: int | None) -> str:
    return "?" if us is None else datetime.fromtimestamp(us / 1e6, AMSTERDAM).strftime("%d %b %Y %H:%M")


def iso(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, AMSTERDAM).isoformat()


def value_text(t: Transition) -> str:
    if t.value is None:
        return "n/a"
    if t.measure == "occupancy_ratio" or t.measure.startswith("mpp_deviation"):
        return f"{t.value:.1%}"
    return f"{t.value:,.1f}" if t.measure in ("days_until_full", "transfer_days_until_full") else f"{t.value:,.0f}"


def threshold_text(t: Transition) -> str:
    if t.measure == "occupancy_ratio" or t.measure.startswith("mpp_deviation"):
        return f"{t.threshold:.1%}"
    return f"{t.threshold:,g}"


def summary(t: Transition) -> str:
    """One line: '[CRITICAL] headroom (free usable beds) nationally: 412 (threshold 500) since 14 Mar 2023 09:15'."""
    what = MEASURE_WORDS.get(t.measure, t.measure.replace("_", " "))
    where = SCOPE_WORDS.get(t.scope, f"in {t.place or t.scope}")
    state = {"resolved": "RESOLVED", "escalated": f"ESCALATED {t.severity.upper()}"}.get(t.kind, t.severity.upper())
    return (f"[{state}] {what} {where}: {value_text(t)} (threshold {threshold_text(t)}) "
            f"since {when(t.since_us)} — rule {t.rule}")


def details(t: Transition, status_url: str | None, dashboard_url: str | None) -> list[str]:
    scope = f"{t.place} ({t.scope})" if t.place else t.scope
    lines = [f"Rule `{t.rule}` ({t.severity}), scope {scope}, measure {t.measure}.",
             f"Condition since {when(t.since_us)}; this change at {when(t.at_us)} (event time)."]
    if t.escalated_from:
        lines.append(f"Escalated from `{t.escalated_from}`.")
    looks = [u for u in (status_url, dashboard_url) if u]
    if looks:
        lines.append("Look at: " + " · ".join(looks))
    return lines


def slack_escape(text: str) -> str:
    """Slack's control characters as entities (its documented rule): a location id `<!channel>` is shown, not
    obeyed as a mention of everyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def printable(text: str) -> str:
    """One log line whatever the ids hold: control and separator characters (a newline in a location id)
    escaped as Python does (`\\n`, `\\u2028`), and the backslash too, so an id that spells `\\n` reads apart
    from one holding a newline. Every log line in alerts/ that shows an id, scope or rule passes it here."""
    return "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)


def plain(text: str, limit: int) -> str:
    """Text for a receiver that shows it as plain text (PagerDuty's summary): one line, at most `limit`
    characters."""
    return printable(text)[:limit]
