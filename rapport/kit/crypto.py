"""Secrets Rapport must read back (webhook signing secrets, SMTP passwords), kept in the
database encrypted with a key derived from the app's secret key; and signatures of what it
hands out and must recognise (`Signer`).

AES-256-GCM (`cryptography`), with one key per purpose derived by HKDF-SHA256 from the secret
key, so a value of one kind never opens as another. Each value is also bound to the record it
belongs to (authenticated, not encrypted): copied to another row, it no longer opens. A stored
value reads `v1.<base64url of nonce, ciphertext and tag>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1."
_NONCE_BYTES = 12


class UndecryptableSecret(Exception):
    """A stored secret that does not open: encrypted with another secret key, altered, or
    not an encrypted value at all."""


class SecretBox:
    """Encrypts and decrypts one kind of secret (`purpose`) with a key derived from
    `secret_key`."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"rapport/secret-box/{purpose}".encode(),
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        """The stored form of `plaintext`, which opens only with the same `bound_to` (the id
        of the record holding it)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, stored: str, *, bound_to: str) -> str:
        """The plaintext of a value `seal()` returned; UndecryptableSecret if it does not
        open (never a wrong plaintext)."""
        if not stored.startswith(_VERSION):
            raise UndecryptableSecret("The stored value is not an encrypted secret")
        encoded = stored[len(_VERSION) :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            plaintext = self._aead.decrypt(nonce, sealed, bound_to.encode())
        except (InvalidTag, ValueError) as exc:  # a malformed value: ValueError
            raise UndecryptableSecret(
                "The stored secret does not open with this secret key: it was encrypted with "
                "another one (the secret key changed), or it was altered"
            ) from exc
        return plaintext.decode()


class Signer:
    """Signs and checks messages Rapport hands out and must recognise when they come back (a
    download link), with an HMAC-SHA256 key derived by HKDF from `secret_key` for one
    `purpose`: a signature of one kind never passes as another."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"rapport/signer/{purpose}".encode(),
        ).derive(secret_key.encode())

    def sign(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        """Whether `signature` is this signer's of `message` (compared in constant time)."""
        return hmac.compare_digest(self.sign(message).encode(), signature.encode())
