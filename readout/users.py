"""Optional HTTP basic auth for the read-out (CONTRACT.md section 5, `CAPMON_WEB_USERS_FILE`).

The file has one `user:bcrypt-hash` per line (blank lines and `#` comments allowed), the hashes that
Prometheus' web configuration and `htpasswd -B` use. Every route but /health and /metrics then needs one of
those users. A bcrypt check costs tens to hundreds of milliseconds on purpose; a status page that reloads every
15 s should not pay it each time, so a successful check is remembered (by a SHA-256 of the header) for a while.
The web server runs the checks off its event loop, throttled per client (readout/login.py).
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

from streams.errors import ConfigError

REMEMBER_S = 300.0
REMEMBER_MAX = 64
BCRYPT_MAX_BYTES = 72


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
        """True when the Authorization header names a user of the file with the right password. Runs bcrypt on
        the caller's thread: the web server goes through `readout.login.LoginGate` instead."""
        if self.remembered(authorization):
            return True
        credentials = self.credentials(authorization)
        if credentials is None or not self.check(*credentials):
            return False
        self.remember(authorization)
        return True

    def remembered(self, authorization: str | None) -> bool:
        """This exact header passed a check less than REMEMBER_S ago (no bcrypt needed)."""
        if not authorization:
            return False
        until = self._remembered.get(_digest(authorization))
        return until is not None and until > self.clock()

    def remember(self, authorization: str) -> None:
        self._remembered[_digest(authorization)] = self.clock() + REMEMBER_S
        while len(self._remembered) > REMEMBER_MAX:
            self._remembered.popitem(last=False)

    @staticmethod
    def credentials(authorization: str | None) -> tuple[str, str] | None:
        """(user, password) of a basic-auth header, or None when it is not one."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    def check(self, user: str, password: str) -> bool:
        """The bcrypt check: slow on purpose, thread-safe (it touches no shared state). An unknown user costs as
        much as a wrong password. bcrypt takes at most 72 bytes (bcrypt 5 raises beyond): a longer password
        can match no hash of the file, so it simply fails, at the same cost."""
        hashed = self.hashes.get(user)
        secret = password.encode()
        if len(secret) > BCRYPT_MAX_BYTES:
            secret, hashed = b"", None
        if hashed is None:
            bcrypt.checkpw(secret, next(iter(self.hashes.values())))  # as slow as a wrong password
            return False
        return bcrypt.checkpw(secret, hashed)


def _digest(authorization: str) -> bytes:
    return hashlib.sha256(authorization.encode()).digest()
