"""Optional HTTP basic auth for the read-out (CONTRACT.md section 5, `CAPMON_WEB_USERS_FILE`).

The file has one `user:bcrypt-hash` per line (blank lines and `#` comments allowed), the hashes that
Prometheus' web configuration and `htpasswd -B` use. Every route but /health and /metrics then needs one of
those users. A bcrypt check costs tens of milliseconds on purpose; a status page that reloads every 15 s
should not pay it each time, so a successful check is remembered (by a SHA-256 of the header) for a while.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import bcrypt

from .errors import ConfigError

REMEMBER_S = 300.0
REMEMBER_MAX = 64


def _is_bcrypt(hashed: bytes) -> bool:
    try:
        bcrypt.checkpw(b"", hashed)
    except ValueError:
        return False
    return hashed.startswith((b"$2a$", b"$2b$", b"$2y$"))


class WebUsers:
    def __init__(self, hashes: dict[str, bytes], clock: Callable[[], float] = time.monotonic) -> None:
        self.hashes = hashes
        self.clock = clock
        self._remembered: OrderedDict[bytes, float] = OrderedDict()

    @classmethod
    def load(cls, path: Path) -> WebUsers:
        where = f"CAPMON_WEB_USERS_FILE={path}"
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"bad configuration: {where}: cannot read it ({exc.strerror})") from None
        hashes: dict[str, bytes] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not user or not _is_bcrypt(hashed.encode()):
                raise ConfigError(f"bad configuration: {where}: line {number}: expected user:bcrypt-hash")
            hashes[user] = hashed.encode()
        if not hashes:
            raise ConfigError(f"bad configuration: {where}: no users in it")
        return cls(hashes)

    def allows(self, authorization: str | None) -> bool:
        """True when the Authorization header names a user of the file with the right password."""
        if not authorization or not authorization.startswith("Basic "):
            return False
        digest = hashlib.sha256(authorization.encode()).digest()
        now = self.clock()
        until = self._remembered.get(digest)
        if until is not None and until > now:
            return True
        try:
            user, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self.hashes.get(user)
        if hashed is None:
            bcrypt.checkpw(password.encode(), next(iter(self.hashes.values())))  # as slow as a wrong password
            return False
        if not bcrypt.checkpw(password.encode(), hashed):
            return False
        self._remembered[digest] = now + REMEMBER_S
        while len(self._remembered) > REMEMBER_MAX:
            self._remembered.popitem(last=False)
        return True
