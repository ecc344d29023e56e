"""Tokens at rest: media-server and Sonarr/Radarr keys are stored encrypted (Fernet: AES-128-CBC with an
HMAC), so a copy of the database alone does not hand out the keys to someone's servers.

The key is `security.secret_key` when configured (any string; it is stretched to a Fernet key), else a key
made once in the data directory, readable only by its owner.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.config import Settings
from core.embedded import prepare_data_dir
from core.errors import StartupError

__all__ = ["SecretBox", "secret_box"]

KEY_FILE = "secret.key"


class SecretBox:
    """Seals and opens tokens; the key is read (or made) at first use, so a process that never touches a
    server's token never creates one."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key = key
        self._fernet: Fernet | None = None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._key() if callable(self._key) else self._key)
        return self._fernet

    def seal(self, secret: str) -> str:
        return self.fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self.fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise StartupError(
                "a stored server token cannot be decrypted: the secret key changed since it was saved "
                "(security.secret_key or secret.key in the data directory); add the server again"
            ) from None


def _stretched(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def _key_file(directory: Path) -> bytes:
    path = directory / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    # Written whole under another name, then linked into place: a second process starting at the same
    # moment finds the link taken and reads the one key, never a half-written file.
    draft = directory / f".{KEY_FILE}.{os.getpid()}"
    draft.write_bytes(Fernet.generate_key())
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_bytes().strip()


def secret_box(settings: Settings) -> SecretBox:
    configured = settings.security.secret_key
    if configured is not None:
        return SecretBox(_stretched(configured.get_secret_value()))
    return SecretBox(lambda: _key_file(prepare_data_dir(settings.data_dir)))
