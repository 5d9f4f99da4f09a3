"""The event contract (CONTRACT.md section 2) as strict, frozen pydantic models, parsed straight from bytes.

Strict means no coercion: `"12"` is not a capacity and `1` is not a boolean. Unknown fields are ignored so
producers can add fields. `parse_event` turns any failure into `InvalidEvent` whose reason names the field and
the rule but never echoes a value (values may be person ids).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from streams.errors import InvalidEvent

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _parse_rfc3339(value: Any) -> Any:
    """Accept only RFC 3339 text with an explicit offset (or Z); pydantic alone would accept dates and numbers."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2023-03-14T09:30:00+01:00")
    frac = re.search(r"\.(\d+)", value)
    if frac and len(frac.group(1)) > 6:  # Python keeps microseconds; drop the rest rather than refuse it
        value = value.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise ValueError("is not a real date and time (RFC 3339)") from None


# CONTRACT.md section 2, "Time sanity": event time lies in 2000-2100. Beyond that a bad clock would move `now`
# for everybody, and a day conversion near year 1 or 9999 would overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
END = datetime(2101, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_MAX_CLOCK_SKEW_S = 3_600  # one hour: dates in the register make a fast clock costly


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < END:
        raise ValueError("out of range: must lie in 2000-2100")
    return value


EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PersonId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LOCATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNREGISTERED = "unregistered"  # where figures of locations the register does not know are shown (reserved)


def _location_id(value: str) -> str:
    """Producers choose location ids, and a registered one becomes a metric label, an alert scope and a key for
    receivers: only a small alphabet, and never the name the unregistered ones are shown under."""
    if not LOCATION_ID.fullmatch(value) or value == UNREGISTERED:
        raise ValueError("location_id not allowed: 1-64 characters of A-Z a-z 0-9 . _ - (and not 'unregistered')")
    return value


LocationId = Annotated[str, AfterValidator(_location_id),
                       Field(json_schema_extra={"pattern": LOCATION_ID.pattern, "minLength": 1, "maxLength": 64})]
Nationality = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: Any) -> Any:
    """Accept only a calendar day written YYYY-MM-DD (strict mode would refuse text, lax mode accepts more)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date (YYYY-MM-DD)") from None
    if not EARLIEST.year <= day.year < END.year:
        raise ValueError("out of range: must lie in 2000-2100")
    return day


Day = Annotated[date, BeforeValidator(_parse_date), Field(json_schema_extra={"type": "string", "format": "date"})]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_rfc3339),
    AfterValidator(_in_range),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]

ApplicationType = Literal["first", "repeat", "family_reunification", "resettlement", "relocation"]
Outcome = Literal["granted", "rejected", "dublin", "withdrawn", "other"]
Action = Literal["check_in", "transfer", "check_out"]
CheckOutReason = Literal["housed", "departed", "removed", "other"]
Province = Literal[
    "NL-GR", "NL-FR", "NL-DR", "NL-OV", "NL-FL", "NL-GE", "NL-UT", "NL-NH", "NL-ZH", "NL-ZE", "NL-NB", "NL-LI"
]
LocationType = Literal["application_centre", "regular", "emergency", "crisis_emergency", "small_scale", "amv"]

# Bounds of CONTRACT.md section 2: beyond them a figure could overflow or turn into NaN in a read-out.
MAX_BEDS = 100_000
MAX_ANNUAL_INFLOW = 10_000_000
MAX_PROFILE_WEIGHT = 1_000_000

# Application types that the MPP forecast counts as inflow (relocation is not).
MPP_APPLICATION_TYPES = frozenset({"first", "repeat", "family_reunification", "resettlement"})


class _Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    event_id: EventId
    occurred_at: Timestamp
    schema_version: int = Field(1, ge=1, le=1_000_000)
    source: Annotated[str, StringConstraints(max_length=64)] | None = None


class Registration(_Event):
    """An asylum registration: one unit of inflow."""

    event_type: Literal["registration"] | None = None
    person_id: PersonId
    application_type: ApplicationType
    nationality: Nationality
    unaccompanied_minor: bool = False
    registration_centre: LocationId | None = None

    @property
    def counts_for_mpp(self) -> bool:
        return self.application_type in MPP_APPLICATION_TYPES


class Decision(_Event):
    """An IND decision on a person's application."""

    event_type: Literal["decision"] | None = None
    person_id: PersonId
    outcome: Outcome
    nationality: Nationality
    track: Annotated[str, StringConstraints(max_length=64)] | None = None


class Placement(_Event):
    """COA moves a person: `location_id` is where they now are, or, for a check-out, the location left."""

    event_type: Literal["placement"] | None = None
    person_id: PersonId
    action: Action
    location_id: LocationId
    reason: CheckOutReason | None = None


class Location(_Event):
    """A capacity-register entry: the latest one per location gives its usable beds."""

    event_type: Literal["location"] | None = None
    location_id: LocationId
    name: Annotated[str, StringConstraints(max_length=200)]
    province: Province
    location_type: LocationType
    capacity: int = Field(ge=0, le=MAX_BEDS)
    status: Literal["open", "closed"]
    norm: int | None = Field(None, ge=0, le=MAX_BEDS)  # the agreed maximum occupancy, where one exists
    # Europe/Amsterdam days: the beds count from the start of `opens_on` and no longer from the start of
    # `closes_on`, the first day without beds (a contract ending on 31 August closes on 1 September).
    opens_on: Day | None = None
    closes_on: Day | None = None

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Location:
        """A contract that closes on or before the day it opens would never have a bed: a producer's mistake
        (swapped or mistyped dates) rather than a register entry, so it is refused instead of read as closed."""
        if self.opens_on is not None and self.closes_on is not None and self.closes_on <= self.opens_on:
            raise ValueError("closes_on must be after opens_on (closes_on is the first day without beds)")
        return self


class Scenarios(BaseModel):
    """Annual inflow of the three MPP scenarios."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    min: int = Field(ge=0, le=MAX_ANNUAL_INFLOW)
    medio: int = Field(ge=0, le=MAX_ANNUAL_INFLOW)
    max: int = Field(ge=0, le=MAX_ANNUAL_INFLOW)

    @model_validator(mode="after")
    def _ordered(self) -> Scenarios:
        if not self.min <= self.medio <= self.max:
            raise ValueError("scenarios must satisfy min <= medio <= max")
        return self


def _profile_not_all_zero(profile: list[float] | None) -> list[float] | None:
    if profile is not None and not any(profile):
        raise ValueError("monthly_profile must not be all zero")
    return profile


class Forecast(_Event):
    """An MPP forecast for one year; the latest per year wins."""

    event_type: Literal["forecast"] | None = None
    forecast_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    year: int = Field(ge=2000, le=2100)
    scenarios: Scenarios
    monthly_profile: Annotated[
        list[Annotated[float, Field(ge=0, le=MAX_PROFILE_WEIGHT, allow_inf_nan=False)]] | None,
        Field(min_length=12, max_length=12),
        AfterValidator(_profile_not_all_zero),
    ] = None


Event = Registration | Decision | Placement | Location | Forecast

MODELS: dict[str, type[_Event]] = {
    "registration": Registration,
    "decision": Decision,
    "placement": Placement,
    "location": Location,
    "forecast": Forecast,
}


def parse_event(raw: bytes | str, event_type: str | None = None) -> Event:
    """Validate one event. `event_type` comes from the topic on Kafka; JSONL lines carry their own.

    Raises `InvalidEvent` with a reason such as ``"nationality: String should match pattern '^[A-Z]{3}$'"``.
    """
    try:
        if event_type is not None:
            return MODELS[event_type].model_validate_json(raw)  # type: ignore[return-value]
        data = _json_object(raw)
        kind = data.get("event_type")
        if kind is None:
            raise InvalidEvent("event_type: Field required (events in files must say their type)")
        if kind not in MODELS:
            raise InvalidEvent(f"event_type: Input should be one of {', '.join(repr(k) for k in MODELS)}")
        return MODELS[kind].model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        raise InvalidEvent(describe(exc)) from None


def _json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise InvalidEvent("not UTF-8 text") from None
    except RecursionError:
        raise InvalidEvent("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise InvalidEvent(f"not JSON: {exc.msg} at position {exc.pos}") from None  # type: ignore[attr-defined]
    if not isinstance(data, dict):
        raise InvalidEvent("not a JSON object")
    return data


def describe(exc: ValidationError, limit: int = 3) -> str:
    """A short reason naming each failing field and rule, without the offending values."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "json_invalid":
            where, msg = "event", "not JSON: " + str(err.get("ctx", {}).get("error", msg))
        elif err["type"] == "model_type" and not err["loc"]:
            msg = "not a JSON object"
        parts.append(f"{where}: {msg}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def check_not_in_future(event: Event, timestamp_us: int | None, max_skew_s: float) -> None:
    """An event may not claim to have happened more than `max_skew_s` after the time its message was written
    (the broker's clock on topics capmon creates; `--as-of` for a file). Raises `InvalidEvent`."""
    if timestamp_us is None:
        return
    occurred_us = (event.occurred_at - EPOCH) // timedelta(microseconds=1)
    if occurred_us > timestamp_us + max_skew_s * 1_000_000:
        raise InvalidEvent(f"occurred_at in the future: more than {max_skew_s:g} s after the message's timestamp")
