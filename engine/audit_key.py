"""The secret that keys the audit chain, kept outside the database.

With a plain hash, anyone who can write the database can edit an event and recompute
every later hash; with an HMAC they also need this key, which lives in the
environment or in a file the database never sees. The key travels with the engine's
database connections (an execution option), so every writer of the chain, the
engine's commands and the web layer's security events alike, appends with it and
none can forget it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import sessionmaker

from engine.errors import EngineError

KEY_BYTES = 32  # a new key; HMAC-SHA256 gains nothing from more
MIN_KEY_BYTES = 32
KEY_OPTION = "audit_key"


class AuditKeyError(EngineError):
    """No key, or one that cannot be read: the chain is neither written nor checked without it."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        """Names the key in checkpoints and messages without revealing it."""
        return hmac.new(self.secret, b"audit key id", hashlib.sha256).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def new_key() -> AuditKey:
    return AuditKey(secrets.token_bytes(KEY_BYTES))


def key_text(key: AuditKey) -> str:
    """The form kept in a key file or the AUDIT_KEY variable: hex."""
    return key.secret.hex()


def parse_key(text: str, source: str) -> AuditKey:
    """Hex (even length, digits 0-9a-f only) or else base64; ``source`` names where it came from."""
    text = text.strip()
    if not text:
        raise AuditKeyError(f"{source}: empty")
    try:
        if len(text) % 2 == 0 and all(char in string.hexdigits for char in text):
            secret = bytes.fromhex(text)
        else:
            secret = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise AuditKeyError(f"{source}: neither hex nor base64") from None
    if len(secret) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"{source}: {len(secret)} bytes, at least {MIN_KEY_BYTES} needed "
            f"(e.g. python3 -c 'import secrets; print(secrets.token_hex({KEY_BYTES}))')"
        )
    return AuditKey(secret)


def read_key_file(path: Path) -> AuditKey:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise AuditKeyError(f"audit key file {path}: cannot be read ({error})") from None
    return parse_key(text, f"audit key file {path}")


def create_key_file(path: Path) -> AuditKey:
    """A new key in a new file only its owner can read; an existing file is never overwritten."""
    key = new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuditKeyError(f"audit key file {path}: exists already, not replaced") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key_text(key) + "\n")
    return key


def bind(db: Engine, key: AuditKey) -> Engine:
    """The same database, its connections carrying ``key`` for every audit append."""
    return db.execution_options(**{KEY_OPTION: key})


def keyed_sessions(sessions: sessionmaker, key: AuditKey | None) -> sessionmaker:
    """The same sessions on a database bound to ``key`` (unchanged without one)."""
    if key is None:
        return sessions
    keyed_bind = bind(sessions.kw["bind"], key)
    return sessionmaker(**(sessions.kw | {"bind": keyed_bind}), class_=sessions.class_)


def bound_key(connection: Connection) -> AuditKey | None:
    return connection.get_execution_options().get(KEY_OPTION)


def key_of(connection: Connection) -> AuditKey:
    key = bound_key(connection)
    if key is None:
        raise AuditKeyError(
            "no audit key: the audit chain is keyed with a secret kept outside the database; "
            "give the engine one (AUDIT_KEY or AUDIT_KEY_FILE)"
        )
    return key
