"""Reads about people that more than one caller needs."""

from __future__ import annotations

from accounts.models import Address, Subscriber


def current_address(subscriber: Subscriber) -> Address | None:
    """The physical address the subscriber lives at now: the one with the latest move date (REG-7,
    REG-8); of two on the same day, the one recorded last. None when no address is on file."""
    return subscriber.addresses.order_by("-moved_in_on", "-id").first()
