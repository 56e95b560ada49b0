"""The operator's credential: from the environment or a 0600 file made once, compared in
constant time, and no credential at all means nobody is an operator."""

from __future__ import annotations

import hmac
import stat

import pytest

from app import operator


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(operator.TOKEN_ENV, raising=False)


def test_no_token_anywhere_means_nobody_is_the_operator():
    assert operator.expected_token() is None
    assert not operator.is_operator_token("")
    assert not operator.is_operator_token("anything")
    assert not operator.is_operator_token(None)


def test_the_token_file_is_made_once_private_and_unguessable():
    where, created = operator.ensure_token_file()
    assert created and where == str(operator.token_file())
    mode = stat.S_IMODE(operator.token_file().stat().st_mode)
    assert mode == 0o600  # readable by its owner only
    token = operator.expected_token()
    assert token is not None and len(token) >= 32  # 24 random bytes, URL-safe
    assert operator.ensure_token_file() == (where, False)  # a second start keeps it
    assert operator.expected_token() == token
    assert operator.is_operator_token(token) and operator.is_operator_token(f"  {token}\n")
    assert not operator.is_operator_token(token[:-1])
    assert not operator.is_operator_token(token + "x")
    operator.token_file().unlink()
    operator.ensure_token_file()
    assert operator.expected_token() != token  # a new one, not a fixed default


def test_the_environment_wins_and_no_file_is_made(monkeypatch):
    monkeypatch.setenv(operator.TOKEN_ENV, "from-the-environment")
    assert operator.ensure_token_file() == (operator.TOKEN_ENV, False)
    assert not operator.token_file().exists()
    assert operator.is_operator_token("from-the-environment")
    assert not operator.is_operator_token("from-the-file")


def test_the_comparison_is_constant_time(monkeypatch):
    monkeypatch.setenv(operator.TOKEN_ENV, "secret")
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(operator.hmac, "compare_digest", spy)
    assert operator.is_operator_token("secret") and not operator.is_operator_token("guess")
    assert calls == [(b"secret", b"secret"), (b"guess", b"secret")]
