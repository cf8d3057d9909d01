"""Money in Flex: `Decimal` euros, rounded half up to the cent in exactly one place.

VAT rates are dated data: a rate applies from its first day until the next entry.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Wet op de omzetbelasting 1968, art. 9 lid 1: the general VAT rate is 21% since 1 January 2019
# (it was 19% before). Rentals of consumer electronics fall under the general rate.
VAT_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2012, 10, 1), Decimal("0.19")),
    (date(2019, 1, 1), Decimal("0.21")),
)

MoneyField = partial(models.DecimalField, max_digits=12, decimal_places=2)


def to_money(amount: Decimal | int | str) -> Decimal:
    """Round an amount to whole cents, half up (a half cent goes to the next cent away from zero)."""
    if isinstance(amount, float):
        raise TypeError("money is never a float; pass a Decimal, int or str")
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def vat_rate_on(day: date) -> Decimal:
    rate = None
    for valid_from, value in VAT_RATES:
        if valid_from <= day:
            rate = value
    if rate is None:
        raise LookupError(f"no VAT rate known for {day}")
    return rate


def split_gross(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """Split a VAT-inclusive consumer price into (net, VAT); the two always add up to `gross`."""
    gross = to_money(gross)
    net = to_money(gross / (1 + rate))
    return net, gross - net


def format_eur(amount: Decimal) -> str:
    """Dutch notation: € 1.234,56 (and € -5,00)."""
    amount = to_money(amount)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"€ {sign}{grouped},{cents}"
