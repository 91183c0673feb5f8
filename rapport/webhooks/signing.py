"""Webhook secrets and the `Rapport-Signature` header.

The signature is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the whole
secret (`whsec_...`) as UTF-8 bytes. Signing the timestamp with the body lets a receiver refuse
old deliveries replayed by someone who captured one.

Secrets are stored encrypted, each bound to its webhook's id (`secret_box`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from rapport.kit.crypto import SecretBox

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_box(secret_key: str) -> SecretBox:
    """What encrypts webhook secrets (`Webhook.encrypted_secret`, bound to the webhook's id)."""
    return SecretBox(secret_key, "webhook signing secrets")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
