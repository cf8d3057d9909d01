"""Statutory interest (PAY-3, terms art. 8.3.2a): art. 6:119 BW for consumers, art. 6:119a BW for business
subscribers. Pure functions over Decimal and dates: no database, no clock.

Day count: interest runs for each day `d` with `start <= d < end`, at the yearly rate in force on `d`,
each day being 1/365 of that rate, also in a leap year (a 29 February counts one more 1/365).
Capitalisation: on every anniversary of `start` the interest of the year ending there, rounded to cents
(ROUND_HALF_UP), is added to the amount on which interest runs:
- art. 6:119 lid 2 BW: "Telkens na afloop van een jaar wordt het bedrag waarover de wettelijke rente wordt
  berekend, vermeerderd met de over dat jaar verschuldigde wettelijke rente."
- art. 6:119a lid 3 BW has the same sentence for commercial interest ("Telkens na afloop van een jaar wordt
  het bedrag waarover de wettelijke rente wordt berekend, vermeerderd met de over dat jaar verschuldigde
  rente.", text at https://wetboekplus.nl/burgerlijk-wetboek-boek-6-artikel-119a-handelsrente/ and
  https://explore.law/app/library/nl-legislation/bw-6-burgerlijk-wetboek-boek-6/artikel-119a-wettelijke-rente-betalingsvertraging-handelsovereenkomsten),
  so `commercial_interest` capitalises the same way. This closes the research note's "(n/v)".
Rounding happens only when interest is added to the principal and once at the end.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.collections.rates import COMMERCIAL_RATES, CONSUMER_RATES, StatutoryRate, rate_on
from flex.clock import add_months
from flex.money import ZERO, to_money

DAYS_PER_YEAR = Decimal(365)


def first_interest_day(due_date: date) -> date:
    """PAY-2/PAY-3: the first day on which statutory interest runs is the day AFTER the due date.

    - Terms art. 8.3: payment "niet later dan 14 dagen na de factuurdatum"; "Na de hiervoor genoemde periode is
      de Abonnee wettelijk in gebreke" — the due date itself is still inside the payment period, so default
      (verzuim) starts the next day without notice (a fatal term, art. 6:83 sub a BW).
    - Terms art. 8.3.2a: interest "over de periode tussen de vervaldatum en de datum van de uitgevoerde betaling";
      art. 6:119 lid 1 BW: interest "over de tijd dat de schuldenaar met de voldoening daarvan in verzuim is geweest".
    - Art. 6:119a lid 1 BW says it in so many words for commercial interest: "met ingang van de dag volgend op
      de dag die is overeengekomen als de uiterste dag van betaling".
    So an invoice dated 1 March, due 15 March, bears interest from 16 March.
    """
    return due_date + timedelta(days=1)


def interest_end(paid_on: date, *, commercial: bool) -> date:
    """The (exclusive) `end` to pass for a payment made on `paid_on`.

    Art. 6:119a lid 1 BW runs commercial interest "tot en met de dag waarop de schuldenaar de geldsom heeft
    voldaan": the payment day counts. Art. 6:119 BW says only "over de tijd dat de schuldenaar in verzuim is
    geweest"; we do not charge a consumer for the day on which he paid (the reading least favourable to us;
    see docs/collections.md, open questions).
    """
    return paid_on + timedelta(days=1) if commercial else paid_on


def statutory_interest(principal: Decimal, start: date, end: date) -> Decimal:
    """PAY-3: consumer statutory interest (art. 6:119 BW) on `principal` for the days start <= d < end."""
    return _interest(principal, start, end, CONSUMER_RATES)


def commercial_interest(principal: Decimal, start: date, end: date) -> Decimal:
    """Commercial statutory interest (art. 6:119a BW) for business subscribers, same day count and yearly
    capitalisation (art. 6:119a lid 3 BW)."""
    return _interest(principal, start, end, COMMERCIAL_RATES)


def _interest(principal: Decimal, start: date, end: date, table: tuple[StatutoryRate, ...]) -> Decimal:
    if isinstance(principal, float):
        raise TypeError("money is never a float; pass a Decimal")
    principal = Decimal(principal)
    if principal < 0:
        raise ValueError(f"principal must not be negative, got {principal}")
    if end < start:
        raise ValueError(f"interest period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if end == start or principal == 0:
        return ZERO
    base = principal
    total = Decimal(0)
    year = 0
    year_start = start
    while year_start < end:
        year += 1
        anniversary = add_months(start, 12 * year)  # a 29 February start: the anniversary is 28 February
        year_end = min(anniversary, end)
        rate_days = _sum_of_daily_rates(year_start, year_end, table)
        interest = base * rate_days / DAYS_PER_YEAR
        if year_end == anniversary:
            interest = to_money(interest)  # 6:119 lid 2 / 6:119a lid 3: the year's interest joins the principal
            base += interest
        total += interest
        year_start = year_end
    return to_money(total)


def _sum_of_daily_rates(start: date, end: date, table: tuple[StatutoryRate, ...]) -> Decimal:
    """Sum over the days start <= d < end of the yearly rate (as a fraction) in force on d, per rate segment."""
    total = Decimal(0)
    day = start
    while day < end:
        row = rate_on(table, day)
        next_row_start = next((r.valid_from for r in table if r.valid_from > day), None)
        segment_end = min(end, next_row_start) if next_row_start else end
        # the last row is valid only to the end of its half-year: check the segment's last day too
        rate_on(table, segment_end - timedelta(days=1))
        total += row.fraction * (segment_end - day).days
        day = segment_end
    return total
