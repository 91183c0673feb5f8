"""Secrets: API key generation and hashing, password hashing, session tokens (JWT)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rapport.kit.clock import utcnow

API_KEY_PREFIX = "ak_"
_KEY_BYTES = 32  # 256 bits of randomness
_password_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _password_hasher.hash(secrets.token_urlsafe(16))


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def hash_api_key(key: str) -> str:
    """SHA-256 is right for keys (unlike passwords): they are long random strings, not guessable."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SessionClaims:
    user_id: uuid.UUID
    expires_at: datetime


def issue_session_token(user_id: uuid.UUID, secret: str, ttl_seconds: int) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    token = jwt.encode(
        {
            "sub": str(user_id),
            "iat": now,
            "exp": expires,
            "typ": "session",
            "jti": secrets.token_hex(8),
        },
        secret,
        algorithm="HS256",
    )
    return token, expires


class InvalidToken(Exception):
    pass


def read_session_token(token: str, secret: str) -> SessionClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The session token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("The session token is not valid") from exc
    if claims.get("typ") != "session":
        raise InvalidToken("The session token is not valid")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise InvalidToken("The session token is not valid") from exc
    return SessionClaims(user_id, datetime.fromtimestamp(int(claims["exp"]), utcnow().tzinfo))
