"""How many examples a property test tries: all of them in `make test` (and so in CI), a third before a commit.

`make test` sets CAPMON_HYPOTHESIS_PROFILE=ci; `make check` and a plain `pytest` run the quicker share, so the
pure suite stays a pre-commit check while CI keeps every example each test asks for."""

from __future__ import annotations

import os

CI = os.environ.get("CAPMON_HYPOTHESIS_PROFILE") == "ci"


def examples(full: int) -> int:
    """`full` examples under the ci profile, a third of them (at least 20) otherwise."""
    return full if CI else max(20, full // 3)
