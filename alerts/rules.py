"""Alert rules (CONTRACT.md section 7): the YAML model, validated at load with rule, field and reason.

A bad rules file is refused as a whole (`RulesError`); the worker does not start on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from streams.errors import ConfigError

SCENARIOS = ("min", "medio", "max")
OUTLOOK_SCENARIOS = (*SCENARIOS, "trend")  # the outlook's lines (CONTRACT.md section 3a)
LOCATION_TYPES = ("application_centre", "regular", "emergency", "crisis_emergency", "small_scale", "amv")
RECEIVERS = ("pagerduty", "slack", "alertmanager", "log")
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# measure -> (what it means, unit) ; the parameterised ones are matched by prefix
MEASURES = {
    "headroom": "free usable beds (capacity - occupancy)",
    "occupancy": "persons in reception",
    "occupancy_ratio": "occupancy / capacity",
    "days_until_full": "headroom / net inflow per day (moves in - moves out) over 28 days (absent when not shrinking)",
    "transfer_days_until_full": "transfer headroom / the transfer network's net inflow per day over 28 days "
                                "(absent when not shrinking)",
    "permit_holders": "permit holders still in reception",
    "inflow_rolling:7d": "MPP inflow over the last 7 days",
    "inflow_rolling:28d": "MPP inflow over the last 28 days",
    **{f"mpp_deviation:{s}": f"MPP inflow year to date / expected ({s} scenario) - 1" for s in SCENARIOS},
    **{f"outlook_days_until_transfer_full:{s}": f"days until the transfer network's projected headroom is <= 0 "
       f"under the outlook's {s} line, with the register's dates (absent when not within the horizon)"
       for s in OUTLOOK_SCENARIOS},
    "staleness": "seconds (wall clock) since the last event of a topic; scope is the topic",
    "transfer_headroom": "free beds in regular, emergency, crisis-emergency and small-scale locations (net)",
    "over_norm": "occupancy - norm, for a location with a norm",
    "ind_backlog_overdue": "persons awaiting an IND decision for 183 days or more",
    "ind_backlog_past_term": "persons awaiting an IND decision at least the decision term of their registration day",
}
NATIONAL_ONLY = {"inflow_rolling:7d", "inflow_rolling:28d", *(f"mpp_deviation:{s}" for s in SCENARIOS),
                 "transfer_headroom", "transfer_days_until_full", "ind_backlog_overdue", "ind_backlog_past_term",
                 *(f"outlook_days_until_transfer_full:{s}" for s in OUTLOOK_SCENARIOS)}
LOCATION_ONLY = {"over_norm"}


def parse_duration(text: str | int) -> int:
    """'30m' -> 1800 seconds; also s, h, d; a bare integer is seconds."""
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError("a duration is a number with s, m, h or d, e.g. 30m")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)
    scope: str
    measure: str
    below: float | None = Field(None, allow_inf_nan=False)  # thresholds must be finite: an infinite one never
    above: float | None = Field(None, allow_inf_nan=False)  # (or always) fires, and cannot go into JSON
    clear: float | None = Field(None, allow_inf_nan=False)
    for_s: int = Field(0, alias="for", le=366 * 86_400)
    severity: Literal["critical", "warning", "info"]
    notify: tuple[str, ...] = ("log",)
    summary: str | None = None  # optional text for notifications

    @field_validator("for_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> int:
        return parse_duration(value)  # type: ignore[arg-type]

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value in ("national", "province", "location", "topic"):
            return value
        if value.startswith("location:") and len(value) > len("location:"):
            return value
        if value.startswith("location_type:") and value.split(":", 1)[1] in LOCATION_TYPES:
            return value
        raise ValueError(
            f"must be national, province, location, location:<id> or location_type:<{'|'.join(LOCATION_TYPES)}>")

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        if value not in MEASURES:
            raise ValueError(f"unknown measure; one of {', '.join(MEASURES)}")
        return value

    @field_validator("notify", mode="before")
    @classmethod
    def _notify(cls, value: object) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
        unknown = [v for v in items if v not in RECEIVERS]
        if unknown:
            raise ValueError(f"unknown receiver {unknown[0]!r}; one of {', '.join(RECEIVERS)}")
        return tuple(items)

    @model_validator(mode="after")
    def _threshold(self) -> Rule:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of below or above")
        if self.clear is not None:
            if self.below is not None and self.clear < self.below:
                raise ValueError("clear must be >= below (the measure must recover past it to resolve)")
            if self.above is not None and self.clear > self.above:
                raise ValueError("clear must be <= above (the measure must recover past it to resolve)")
        if self.measure in NATIONAL_ONLY and self.scope != "national":
            raise ValueError(f"measure {self.measure} exists only for scope national")
        if self.measure in LOCATION_ONLY and not (self.scope == "location" or self.scope.startswith("location:")):
            raise ValueError(f"measure {self.measure} exists only for scopes location and location:<id>")
        if (self.measure == "staleness") != (self.scope == "topic"):
            raise ValueError("measure staleness goes with scope topic (and only it)")
        return self

    @property
    def threshold(self) -> float:
        return self.below if self.below is not None else self.above  # type: ignore[return-value]

    @property
    def clear_at(self) -> float:
        return self.clear if self.clear is not None else self.threshold

    def breaches(self, value: float) -> bool:
        """The entry condition: strictly past the threshold."""
        return value < self.below if self.below is not None else value > self.above  # type: ignore[operator]

    def recovered(self, value: float) -> bool:
        """The exit condition once firing: back past `clear` (or the threshold itself when clear is absent)."""
        if self.below is not None:
            return value >= self.clear_at
        return value <= self.clear_at


class RulesError(ConfigError):
    """A rules file that cannot be used: says which rule, which field and why."""


def load_rules(path: Path | str) -> list[Rule]:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RulesError(f"alert rules {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RulesError(f"alert rules {path}: not valid YAML{where}") from None
    return parse_rules(document, str(path))


def parse_rules(document: object, source: str = "rules") -> list[Rule]:
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesError(f"alert rules {source}: expected a mapping with a list under 'rules'")
    rules, names = [], set()
    for i, raw in enumerate(document["rules"]):
        label = f"rule {i + 1}" + (f" ({raw.get('name')})" if isinstance(raw, dict) and raw.get("name") else "")
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "rule"
            field = "for" if field == "for_s" else field
            raise RulesError(f"alert rules {source}: {label}: {field}: {err['msg'].removeprefix('Value error, ')}") \
                from None
        if rule.name in names:
            raise RulesError(f"alert rules {source}: {label}: name: used twice")
        names.add(rule.name)
        rules.append(rule)
    return rules
