"""Amounts of money: ISO 4217 currencies, decimal strings on the wire, integers in the database.

An amount is stored as a count of its currency's minor unit (cents for USD, yen for JPY, fils
for BHD), so sums are exact on every database and no float ever holds money. On the wire it
is a decimal string (`"1250.00"`), written with the currency's own number of decimals.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from babel.numbers import get_currency_precision, list_currencies

from rapport.kit.errors import field_error

MAX_DIGITS = 15
"""Whole digits an amount may have: far beyond any deal, well inside 64-bit minor units."""

_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies()) - {"XXX", "XTS"}


def currency_code(value: str, field: str = "currency") -> str:
    """The ISO 4217 code `value` names (any case), else a 422 on `field`."""
    code = value.strip().upper()
    if code not in _currencies():
        raise field_error(field, f"{value!r} is not an ISO 4217 currency code (USD, EUR, ...)")
    return code


def decimals(currency: str) -> int:
    return int(get_currency_precision(currency))


@functools.cache
def uncommon_decimals() -> dict[str, int]:
    """The currencies whose minor unit is not a hundredth (JPY 0, BHD 3, ...)."""
    found = {code: decimals(code) for code in _currencies()}
    return {code: places for code, places in sorted(found.items()) if places != 2}


def to_minor(amount: str, currency: str, field: str = "value") -> int:
    """A decimal string as a count of the currency's minor unit; a 422 on `field` for a
    negative amount, a malformed one, or one finer than the currency's minor unit."""
    text = amount.strip()
    if text.startswith("-"):
        raise field_error(field, "Cannot be negative")
    if not _AMOUNT.fullmatch(text):
        raise field_error(field, 'A decimal number written as a string, such as "1250.00"')
    whole, _, fraction = text.partition(".")
    if len(whole.lstrip("0")) > MAX_DIGITS:
        raise field_error(field, f"At most {MAX_DIGITS} digits before the decimal point")
    places = decimals(currency)
    if len(fraction.rstrip("0")) > places:
        raise field_error(
            field, f"{currency} has {places} decimal place{'s' if places != 1 else ''} at most"
        )
    return int(Decimal(text).scaleb(places))


def to_amount(minor: int, currency: str) -> str:
    """The decimal string of a count of minor units."""
    places = decimals(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"
