"""Normalising values people type (blank strings, phone numbers, web domains), and merging
custom properties."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from rapport.kit.errors import field_error

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
URL_LIMIT = 2048


def folded(text: str) -> str:
    """For matching without regard to case or accents: `Élodie` -> `elodie`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def clean(value: str | None) -> str | None:
    """Stripped, and None when nothing is left."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def not_blank(value: str | None, field: str) -> str:
    """Stripped; a 422 on `field` when nothing is left (a name, a title, a subject)."""
    cleaned = clean(value)
    if cleaned is None:
        raise field_error(field, "Cannot be blank")
    return cleaned


def normalize_phone(value: str | None, region: str | None, field: str = "phone") -> str | None:
    """E.164, read with the workspace's default region when the number has no country code."""
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (include the country code, e.g. +44...)"
        raise field_error(field, f"Not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(number):
        raise field_error(field, "Not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_domain(value: str | None, field: str = "domain") -> str | None:
    """`https://www.Acme.com/about` -> `acme.com`: the host, lowercased, without `www.`,
    internationalised names in their ASCII (punycode) form."""
    value = clean(value)
    if value is None:
        return None
    try:
        host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
        host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError) as exc:
        raise field_error(field, "Not a domain name") from exc
    host = host.removeprefix("www.")
    labels = host.split(".")
    if len(labels) < 2 or len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise field_error(field, "Not a domain name (like acme.com)")
    return host


def is_host_name(host: str) -> bool:
    """Whether a resolver can look the host up: every label 1 to 63 characters in its IDNA
    (ASCII) form, checked by the codec getaddrinfo() encodes names with."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def normalize_website(value: str | None, field: str = "website") -> str | None:
    """An http(s) URL of at most URL_LIMIT characters; a bare host gets `https://`."""
    value = clean(value)
    if value is None:
        return None
    url = value if "://" in value else f"https://{value}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        valid = (
            parts.scheme in ("http", "https")
            and bool(host)
            and is_host_name(host)
            and " " not in url
        )
    except ValueError:
        valid = False
    if not valid:
        raise field_error(field, "Not a web address (like https://acme.com)")
    if len(url) > URL_LIMIT:
        raise field_error(field, f"At most {URL_LIMIT} characters")
    return url


def merge_properties(current: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """`patch` merged into `current` key by key; a key sent as None is removed, and a patch
    of None clears everything."""
    if patch is None:
        return {}
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
