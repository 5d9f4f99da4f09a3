"""JSON that every client can parse: no NaN or infinity, whatever a figure turned out to be.

Python's `json` writes `NaN` and `Infinity`, which are not JSON; a figure divided by nothing, or a value that
slipped past the input bounds, would then break every dashboard and receiver reading it. Each read-out, alert
record and notification passes through `finite`, which turns a non-finite number into null (no value)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (at any depth of dicts, lists and tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` of `finite(value)`; refuses NaN and infinity should one get past it."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
