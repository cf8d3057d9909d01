"""Extrajudicial collection costs (PAY-4, terms art. 8.3.2b; art. 6:96 BW): the BIK scale and the limit on
stacking costs on recurring instalments. Pure functions over Decimal and dates: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flex.clock import add_months
from flex.money import VAT_RATES, to_money, vat_rate_on

# Besluit vergoeding voor buitengerechtelijke incassokosten (BIK), Stb. 2012, 141, art. 2 lid 1 and 2
# (https://zoek.officielebekendmakingen.nl/stb-2012-141.html): a percentage of each slice of the principal
# (interest not included), at least EUR 40, at most EUR 6,775. Figures unchanged since 2012-07-01.
BIK_SCALE: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("2500"), Decimal("0.15")),  # the first 2,500
    (Decimal("2500"), Decimal("0.10")),  # the next 2,500
    (Decimal("5000"), Decimal("0.05")),  # the next 5,000
    (Decimal("190000"), Decimal("0.01")),  # the next 190,000
    (None, Decimal("0.005")),  # the rest
)
BIK_MINIMUM = Decimal("40.00")
BIK_MAXIMUM = Decimal("6775.00")

# The stacking limit for recurring instalments is in force from 1 October 2024 (Wet kwaliteit
# incassodienstverlening, Kamerstukken 35733; Besluit kwaliteit incassodienstverlening, Stb. 2024, 44,
# which amended the Besluit BIK). See `costs_for_instalments` and docs/collections.md.
CUMULATION_RULE_FROM = date(2024, 10, 1)
CUMULATION_LOOKBACK_MONTHS = 6


def collection_costs(principal: Decimal, *, vat_deductible: bool, on: date | None = None) -> Decimal:
    """PAY-4: the BIK fee for a (summed, art. 6:96 lid 7 BW) principal, in cents, ROUND_HALF_UP.

    Art. 2 lid 3 BIK: the fee is increased by the general VAT rate (art. 9 lid 1 Wet OB 1968) only when the
    creditor uses a collection service on which VAT is charged, cannot deduct that VAT, and says so — that is
    `vat_deductible=False`. The rate is the one in force `on` the given day (the day the costs become due);
    without a day, the latest rate in flex.money's table. The fee is rounded to cents first and the VAT is
    added to it, like a net amount and its VAT on an invoice line.
    """
    if isinstance(principal, float):
        raise TypeError("money is never a float; pass a Decimal")
    principal = Decimal(principal)
    if principal <= 0:
        raise ValueError(f"collection costs need a positive principal, got {principal}")
    fee = Decimal(0)
    rest = principal
    for width, rate in BIK_SCALE:
        part = rest if width is None else min(rest, width)
        fee += part * rate
        rest -= part
        if rest <= 0:
            break
    fee = to_money(min(max(fee, BIK_MINIMUM), BIK_MAXIMUM))
    if vat_deductible:
        return fee
    vat_rate = vat_rate_on(on) if on is not None else VAT_RATES[-1][1]
    return fee + to_money(fee * vat_rate)


@dataclass(frozen=True)
class OverdueInstalment:
    """One unpaid instalment (a monthly fee) of a series, with the day its collection costs could first be
    charged: the day after the 14-day period of its veertiendagenbrief ended unpaid (art. 6:96 lid 6 BW).
    `costs_due_on` is None when no valid veertiendagenbrief covered it: then no costs at all."""

    principal: Decimal
    due_date: date
    costs_due_on: date | None


@dataclass(frozen=True)
class InstalmentCosts:
    instalment: OverdueInstalment
    costs: Decimal
    reason: str  # "no_expired_letter" | "bik_scale" | "cumulation_limit"


def costs_for_instalments(instalments: Iterable[OverdueInstalment], *, vat_deductible: bool) -> list[InstalmentCosts]:
    """PAY-4 for a series of recurring instalments (one agreement; pass one debtor's instalments for the
    stricter reading): the collection costs each instalment may carry, in the order given.

    Rule as implemented (BIK as amended by Stb. 2024, 44, in force 2024-10-01; the exact article text could
    not be retrieved, see docs/collections.md): when the costs of an instalment become due on day D, look back
    six months, to D minus six calendar months INCLUSIVE. The costs of all instalments whose costs became due
    in that window, this one included, may together not exceed the highest BIK fee of ONE instalment in the
    window; this instalment carries what is left (never below zero). Secondary sources agree that the creditor
    looks back six months and may not stack EUR 40 per missed month; they differ on the cap (EUR 140 per six
    months for instalments below EUR 266.67 — rijksoverheid press release, Feb 2024; "the highest amount due
    for one unpaid instalment" — kantoorabri.nl). This reading charges no more than either of them allows.
    Costs due before 2024-10-01 follow the plain scale (the limit was not yet in force) but do count in the
    look-back of later ones.
    """
    items = list(instalments)
    for item in items:
        if item.costs_due_on is not None and item.costs_due_on <= item.due_date:
            raise ValueError(
                f"costs of the instalment due {item.due_date.isoformat()} cannot be due on "
                f"{item.costs_due_on.isoformat()}: a veertiendagenbrief comes after default (art. 6:96 lid 6 BW)"
            )
    order = sorted(
        (i for i, item in enumerate(items) if item.costs_due_on is not None),
        key=lambda i: (items[i].costs_due_on, items[i].due_date, i),
    )
    charged: dict[int, Decimal] = {}
    for i in order:
        item = items[i]
        own = collection_costs(item.principal, vat_deductible=vat_deductible, on=item.costs_due_on)
        if item.costs_due_on < CUMULATION_RULE_FROM:
            charged[i] = own
            continue
        window_start = add_months(item.costs_due_on, -CUMULATION_LOOKBACK_MONTHS)
        in_window = [j for j in charged if window_start <= items[j].costs_due_on <= item.costs_due_on]
        cap = max(
            [own]
            + [
                collection_costs(items[j].principal, vat_deductible=vat_deductible, on=items[j].costs_due_on)
                for j in in_window
            ]
        )
        charged[i] = max(Decimal("0.00"), min(own, cap - sum((charged[j] for j in in_window), Decimal(0))))
    results = []
    for i, item in enumerate(items):
        if i not in charged:
            results.append(InstalmentCosts(item, Decimal("0.00"), "no_expired_letter"))
        else:
            own = collection_costs(item.principal, vat_deductible=vat_deductible, on=item.costs_due_on)
            reason = "bik_scale" if charged[i] == own else "cumulation_limit"
            results.append(InstalmentCosts(item, charged[i], reason))
    return results
