"""Demo data for SEPA direct debit: Anna's and Café De Hoek's monthly invoices collected the way the
daily job collects them, so that the admin shows batches with first and recurring collections.

The monthly invoices themselves stand in for the monthly billing run (issue 8, built alongside): each is
issued 14 days before its period start and due on it, with the helper the prepayment invoice uses.
When the billing run lands, `issue_monthly` becomes a call to it.
"""

from __future__ import annotations

from datetime import date, timedelta

from billing import selectors, services
from billing.models import DirectDebitBatch, InvoiceKind, InvoiceLine, Subscription
from billing.services.subscriptions import _issue
from flex import clock
from flex.audit.trail import Actor
from flex.money import split_gross, to_money, vat_rate_on


def issue_monthly(subscription: Subscription, period_start: date):
    issue_date = period_start - timedelta(days=14)
    with clock.travel_to(issue_date):
        gross = to_money(selectors.monthly_fee(subscription))
        rate = vat_rate_on(issue_date)
        net, vat = split_gross(gross, rate)
        line = InvoiceLine(
            description=f"{subscription.plan.name} – {period_start:%Y-%m-%d}",
            quantity=1,
            unit_price=gross,
            vat_rate=rate * 100,
            net=net,
            vat=vat,
            gross=gross,
        )
        return _issue(subscription, None, InvoiceKind.MONTHLY, issue_date, [line])


def seed_direct_debits(recurring: Subscription, first: Subscription) -> None:
    """`recurring` is collected for its 4th month (FRST), then its 5th month goes into one batch with
    `first`'s 4th month (RCUR and FRST). Nothing happens when a batch exists already (idempotent)."""
    if DirectDebitBatch.objects.exists():
        return
    job = Actor.system("direct_debits")
    earlier = issue_monthly(recurring, clock.add_months(recurring.start_date, 3))
    with clock.travel_to(earlier.due_date - timedelta(days=1)):
        services.collect_direct_debits(actor=job)
    later = issue_monthly(recurring, clock.add_months(recurring.start_date, 4))
    other = issue_monthly(first, clock.add_months(first.start_date, 3))
    with clock.travel_to(max(later.due_date, other.due_date) - timedelta(days=1)):
        services.collect_direct_debits(actor=job)
