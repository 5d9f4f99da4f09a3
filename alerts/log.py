"""The alerts topic read back: every worker folds its records (streams/contract/records/alerts.py) into an
`AlertLog` (for /api/alerts, the status page and `capmon_alert_active`); a new leader restores from it. A broken
record is logged and skipped, never fatal.
"""

from __future__ import annotations

import logging

from alerts.text import printable
from streams.contract.records.alerts import CHECKPOINT_KEY, AlertRecord, Checkpoint, alert_id_of
from streams.errors import BadRecord

log = logging.getLogger(__name__)


class AlertLog:
    """The alerts topic read back: the latest record per alert and the latest checkpoint."""

    def __init__(self) -> None:
        self.records: dict[str, AlertRecord] = {}
        self.evaluated_until_us: int | None = None
        self.bad_records = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            if key == CHECKPOINT_KEY:
                if value is not None:
                    self.evaluated_until_us = Checkpoint.decode(value).evaluated_until_us
                return
            alert_id = alert_id_of(key)
            if value is None:
                self.records.pop(alert_id, None)
                return
            rec = AlertRecord.decode(value)
        except BadRecord as exc:
            self.bad_records += 1
            log.warning("alerts topic: skipped a broken record (key %r): %s", key[:80], printable(str(exc)))
            return
        current = self.records.get(alert_id)
        if current is None or rec.seq >= current.seq:
            self.records[alert_id] = rec
