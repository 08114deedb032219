"""Pseudonyms for officers: a keyed hash, stable across weeks, meaningless without the key.

The key is 32 random bytes kept outside the store: in ``$VISIBILITY_KEY`` (hex),
or in a key file beside the store (``<store>.key``) created on first use and
readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "VISIBILITY_KEY"


def key_path(store_path: str | Path) -> Path:
    return Path(str(store_path) + ".key")


def load_key(store_path: str | Path, create: bool = True) -> bytes:
    """The pseudonym key: from the environment, else the key file (made if missing)."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            return bytes.fromhex(env)
        except ValueError:
            return env.encode()
    path = key_path(store_path)
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        raise FileNotFoundError(path)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def pseudonym(officer_id: str, key: bytes) -> str:
    """A short stable label such as ``OFC-3F9A21C4`` for an officer id."""
    digest = hmac.new(key, officer_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "OFC-" + digest[:8].upper()
