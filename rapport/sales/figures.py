"""Aggregate figures of leads, as the database counts and sums them (amounts in minor units):
what the dashboard reads of the sales domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenLeadGroup:
    """The open leads of one stage in one currency (None: leads without a currency)."""

    stage_id: uuid.UUID
    currency: str | None
    leads: int
    valued: int
    """How many of them carry a value."""
    value_minor: int
    weighted_minor: int
    """Each value times its lead's probability / 100, rounded down as on the lead, summed."""


@dataclass(frozen=True)
class ClosedLeadGroup:
    """The leads won (or lost) in a period in one currency (None: without a currency)."""

    won: bool
    currency: str | None
    leads: int
    valued: int
    value_minor: int
    seconds_open: float
    """Summed over the leads: from their creation to their closing."""


@dataclass(frozen=True)
class StageExits:
    """The leads that left one stage in a period: how many times, how long they had sat in it
    (seconds, summed)."""

    stage_id: uuid.UUID
    exits: int
    seconds: int
