"""The one clock of Flex: every piece of domain code asks it for `now()` and `today()`.

Tests and the demo simulation move time with `travel_to()`; production reads the system clock.
The override is process-wide (not per thread) on purpose: a browser test's live server runs in
another thread and must see the same moment as the test that set it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_lock = threading.Lock()
_override: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware."""
    with _lock:
        moment = _override
    return moment if moment is not None else timezone.now()


def today() -> date:
    """Today's date in Amsterdam: contract deadlines are Dutch calendar days."""
    return now().astimezone(AMSTERDAM).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=AMSTERDAM)


def as_moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            return value.replace(tzinfo=AMSTERDAM)
        return value
    return start_of_day(value) + timedelta(hours=12)


@contextmanager
def travel_to(moment: date | datetime) -> Iterator[None]:
    """Freeze the clock at `moment` (a date means noon in Amsterdam) until the block ends."""
    global _override
    with _lock:
        previous, _override = _override, as_moment(moment)
    try:
        yield
    finally:
        with _lock:
            _override = previous


def set_frozen(moment: date | datetime | None) -> None:
    """Freeze (or with None, release) the clock for the rest of the process: demo simulation."""
    global _override
    with _lock:
        _override = None if moment is None else as_moment(moment)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (PAY-1: 31 Jan + 1 month = 28/29 Feb)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
