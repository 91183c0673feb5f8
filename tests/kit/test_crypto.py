"""Secrets kept encrypted: they open only with the key, purpose and record they were sealed
with, and otherwise fail loudly (never a wrong plaintext)."""

from __future__ import annotations

import pytest

from rapport.kit.crypto import SecretBox, UndecryptableSecret

KEY = "k" * 64
SECRET = "whsec_" + "s" * 43


def test_a_sealed_secret_opens_with_its_key_purpose_and_record() -> None:
    box = SecretBox(KEY, "webhook signing secrets")
    sealed = box.seal(SECRET, bound_to="hook-1")
    assert "s" * 43 not in sealed
    assert sealed != box.seal(SECRET, bound_to="hook-1")  # a fresh nonce each time
    assert box.open(sealed, bound_to="hook-1") == SECRET


@pytest.mark.parametrize(
    ("key", "purpose", "bound_to"),
    [
        pytest.param("another key", "webhook signing secrets", "hook-1", id="another-key"),
        pytest.param(KEY, "smtp passwords", "hook-1", id="another-purpose"),
        pytest.param(KEY, "webhook signing secrets", "hook-2", id="another-record"),
    ],
)
def test_anything_else_refuses_to_open_it(key: str, purpose: str, bound_to: str) -> None:
    sealed = SecretBox(KEY, "webhook signing secrets").seal(SECRET, bound_to="hook-1")
    with pytest.raises(UndecryptableSecret, match="another one"):
        SecretBox(key, purpose).open(sealed, bound_to=bound_to)


@pytest.mark.parametrize("stored", [SECRET, "v1.", "v1.AAAA", "v1.not base64!"])
def test_a_value_that_was_never_sealed_refuses_to_open(stored: str) -> None:
    with pytest.raises(UndecryptableSecret):
        SecretBox(KEY, "webhook signing secrets").open(stored, bound_to="hook-1")
