"""The TARGET2 calendar on which SEPA direct debits settle (pure functions).

A collection date must be a TARGET2 business day: every weekday except 1 January, Good Friday,
Easter Monday, 1 May, 25 and 26 December (ECB, TARGET2 closing days; the EPC SDD rulebooks use them).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


@cache
def easter_sunday(year: int) -> date:
    """Western Easter (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher")."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def is_target_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    easter = easter_sunday(day.year)
    closed = {
        date(day.year, 1, 1),
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        date(day.year, 5, 1),
        date(day.year, 12, 25),
        date(day.year, 12, 26),
    }
    return day not in closed


def next_target_day(day: date) -> date:
    """`day` itself if it is a TARGET2 business day, else the first one after it."""
    while not is_target_day(day):
        day += timedelta(days=1)
    return day


def add_target_days(day: date, days: int) -> date:
    """The TARGET2 business day `days` business days after `day`."""
    for _ in range(days):
        day = next_target_day(day + timedelta(days=1))
    return day
