"""Demo data for SEPA direct debit: Anna's and Café De Hoek's monthly invoices collected the way the
daily job collects them, so that the admin shows batches with first and recurring collections.

The monthly invoices come from the monthly billing run of the day each is due to be issued (14 days
before its period start), as every night.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings

from billing import services
from billing.models import DirectDebitBatch, Invoice, InvoiceKind, Subscription
from flex import clock
from flex.audit.trail import Actor


def issue_monthly(subscription: Subscription, period_start: date) -> Invoice:
    """The monthly run of the day the period is invoiced (14 days ahead) issues its invoice, as every
    night; the demo runs that day's run."""
    day = period_start - timedelta(days=settings.FLEX["INVOICE_LEAD_DAYS"])
    with clock.travel_to(day):
        services.run_monthly_billing(day, actor=Actor.system("billing_run"))
    return Invoice.objects.get(subscription=subscription, kind=InvoiceKind.MONTHLY, period_start=period_start)


def seed_direct_debits(recurring: Subscription, first: Subscription) -> None:
    """Two nights of collections as the daily job leaves them. The 4th month of `recurring`, `first` and
    the other SEPA payers invoiced that day: all first collections (FRST). Then `first` gives a new
    mandate in the portal (a new IBAN), so the next month's batch holds `recurring`'s recurring (RCUR)
    and `first`'s first collection on its new mandate. In between, the bank's files of the first batch
    are imported (its camt.053 credit settles it). Nothing happens when a batch exists (idempotent)."""
    if DirectDebitBatch.objects.exists():
        return
    job = Actor.system("direct_debits")
    earlier = issue_monthly(recurring, clock.add_months(recurring.start_date, 3))
    with clock.travel_to(earlier.due_date - timedelta(days=1)):
        first_batch = services.collect_direct_debits(actor=job)
        services.change_iban(
            first.pk,
            iban="NL44RABO0123456789",
            account_holder=first.subscriber.display_name,
            agreed=True,
            ip_address="192.0.2.44",
            actor=Actor.of_user(first.subscriber.user),
        )
    # The day after the first batch's collection date the daily import reads the bank's files: the
    # camt.053 credit settles the first collections (payments booked on the collection date).
    with clock.travel_to(first_batch.collection_date + timedelta(days=1)):
        services.fetch_bank_files(actor=Actor.system("bank_files"))
    later = issue_monthly(recurring, clock.add_months(recurring.start_date, 4))
    with clock.travel_to(later.due_date - timedelta(days=1)):
        services.collect_direct_debits(actor=job)
