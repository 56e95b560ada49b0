"""The operator's credential: who may use the Lab, retrain, switch datasets and set a room's model.

The token is ``MOVIENIGHT_OPERATOR_TOKEN`` when that is set; otherwise ``./scripts/start``
creates a random one (``secrets``, 192 bits) in ``<data dir>/operator-token``, readable by its
owner only (0600), and prints it once, when it is made. With neither, nobody is an operator and
the Lab stays locked: there is no default password. Guesses are compared in constant time
(``hmac.compare_digest``). No Streamlit here (``./scripts/start`` uses it).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from engine.data.paths import data_dir

TOKEN_ENV = "MOVIENIGHT_OPERATOR_TOKEN"
TOKEN_FILE = "operator-token"
TOKEN_BYTES = 24


def token_file() -> Path:
    return data_dir() / TOKEN_FILE


def expected_token() -> str | None:
    """The operator token in force (environment first, then the file), None if there is none."""
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    try:
        from_file = token_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return from_file or None


def is_operator_token(candidate: object) -> bool:
    """Whether ``candidate`` is the operator token (constant-time; False when none is set)."""
    expected = expected_token()
    if expected is None or not isinstance(candidate, str) or not candidate.strip():
        return False
    return hmac.compare_digest(candidate.strip().encode(), expected.encode())


def ensure_token_file() -> tuple[str | None, bool]:
    """(where the token comes from, whether it was created now): the environment variable's
    name, or the file made here when missing (0600, created atomically with O_EXCL so two
    starts never write two tokens)."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return TOKEN_ENV, False
    path = token_file()
    if path.exists():
        return str(path), False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another start made it a moment ago
        return str(path), False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return str(path), True
