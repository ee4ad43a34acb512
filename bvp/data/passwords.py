"""Password hashing with Argon2id (a memory-hard KDF); plain passwords are never stored."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("password: must be at least 8 characters long")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches. With no hash (no such user, or one who may not sign
    in) a decoy is checked instead and the answer is no: as slow as a real check, so
    response times do not tell which emails have accounts."""
    try:
        if password_hash is None:
            _hasher.verify(_decoy_hash(), password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("no user has this password")
