"""One root exception for everything capmon can tell a user how to fix.

The CLI prints a `CapmonError` as one line and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CapmonError(Exception):
    """A failure with a message fit for the operator; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(CapmonError):
    """A `CAPMON_*` setting or a command-line value is invalid."""

    exit_code = 2


class KafkaUnavailable(CapmonError):
    """The broker cannot be reached or refused the request."""

    exit_code = 3


class InvalidEvent(CapmonError):
    """An event breaks the contract (CONTRACT.md section 2). `reason` never contains a field's value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadRecord(ValueError):
    """Bytes on one of capmon's own topics (figures, alerts, the person table's changelog, dead letters) that are
    not a record of the expected shape: a reader logs, counts and skips it (streams/contract/records/)."""
