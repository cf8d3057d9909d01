"""Use case: the monthly fees are invoiced in advance, period by period (PAY-1, PAY-2, PAY-6, PAY-8,
TERM-1), by a run that is safe to repeat, to race and to crash.

A run for a day finds every billable subscription whose next period starts within the lead time
(`FLEX["INVOICE_LEAD_DAYS"]`), in one query on `Subscription.invoiced_until`, and splits the ids into
chunks. Each chunk is one short transaction: its subscriptions are locked (SKIP LOCKED: a second worker
takes other ones), their due periods computed by `billing.rules.periods_to_invoice`, the lines priced as
on each period's first day, a block of consecutive numbers taken from the year's gapless series, and the
invoices and lines written in bulk. The unique constraint on (subscription, period start) makes a
second invoice for a period impossible whatever happens; a chunk that fails rolls back whole, numbers
included, so no number is lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _
from sequences import get_next_values

from billing import rules
from billing.models import (
    BILLABLE_STATUSES,
    PAYMENT_TERM_DAYS,
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceIssuer,
    InvoiceKind,
    InvoiceLine,
    Subscription,
    SubscriptionAddOn,
)
from devices.models import Plan, PlanItem, ProductPrice
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.money import ZERO, split_gross, to_money, vat_rate_on

logger = logging.getLogger(__name__)


def invoice_number(year: int, sequence: int) -> str:
    """Wet OB 1968 art. 35a lid 1 sub b: a unique number in one or more consecutive series. One series
    per year. 2026's series began with six digits and keeps them; from 2027 eight digits leave room for
    the ~12 million invoices a year of a million subscriptions, and keep numbers sorting as text."""
    return f"F{year}-{sequence:06d}" if year <= 2026 else f"F{year}-{sequence:08d}"


def next_invoice_numbers(day: date, count: int) -> list[str]:
    """`count` consecutive numbers of `day`'s year, taken inside the caller's transaction: a rollback
    gives them back (django-sequences locks the year's counter row until commit), so there is no gap."""
    if count == 0:
        return []
    return [invoice_number(day.year, n) for n in get_next_values(count, f"invoice-{day.year}")]


def issuer_on(day: date) -> InvoiceIssuer:
    """The supplier's details in force on `day` (dated data, Wet OB art. 35a: name, address, VAT number)."""
    issuer = InvoiceIssuer.objects.filter(valid_from__lte=day).order_by("-valid_from").first()
    if issuer is None:
        raise LookupError(f"no invoice issuer is in force on {day}: add one in the admin (billing.InvoiceIssuer)")
    return issuer


def customer_details(subscriber_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Each subscriber's name, physical address and VAT number as they are now, for invoices issued now
    (art. 35a lid 1 sub c/d: the customer's name and address, a business customer's VAT number)."""
    from accounts.models import Address, Subscriber

    addresses: dict[int, str] = {}
    for address in Address.objects.filter(subscriber_id__in=subscriber_ids).order_by(
        "subscriber_id", "moved_in_on", "id"
    ):
        # Ascending, so the last one written is the latest move (the current address, REG-8).
        addresses[address.subscriber_id] = (
            f"{address.street} {address.house_number}{address.house_number_suffix}\n{address.postcode} {address.city}"
        )
    return {
        # No VAT number is asked at sign-up yet, so none is printed (issue 8 leaves this open).
        s.pk: (s.display_name, addresses.get(s.pk, ""), "")
        for s in Subscriber.objects.filter(pk__in=subscriber_ids).only(
            "id", "kind", "first_name", "last_name", "organisation_name"
        )
    }


@dataclass(frozen=True)
class Fee:
    description: str
    monthly_fee: Decimal  # incl. VAT


class Prices:
    """The plans, their contents and the add-on prices, read once per chunk (small tables)."""

    def __init__(self) -> None:
        self.plans = {plan.pk: plan for plan in Plan.objects.all()}
        contents: dict[int, list[str]] = defaultdict(list)
        for item in PlanItem.objects.select_related("product").order_by("plan_id", "id"):
            contents[item.plan_id].append(f"{item.quantity}× {item.product.name}")
        self.contents = contents
        self.addon_prices: dict[int, list[ProductPrice]] = defaultdict(list)
        for price in ProductPrice.objects.select_related("product").order_by("product_id", "valid_from"):
            self.addon_prices[price.product_id].append(price)

    def addon_fee(self, product_id: int, day: date) -> tuple[str, Decimal]:
        """PAY-6: the add-on's monthly fee in force on `day`, the period's first day."""
        in_force = None
        for price in self.addon_prices.get(product_id, ()):
            if price.valid_from <= day:
                in_force = price
        if in_force is None or in_force.addon_monthly_fee is None:
            raise LookupError(f"product {product_id} has no add-on fee on {day}")
        return str(in_force.product), in_force.addon_monthly_fee


def period_fees(plan_id: int, addon_product_ids: list[int], period_start: date, prices: Prices) -> list[Fee]:
    """The lines of a period (PAY-1): the plan, as the one bundle the terms sell at one monthly fee
    (art. 3.1), naming its products; then one line per add-on held on the period's first day, at its fee
    in force that day (PAY-6)."""
    plan = prices.plans[plan_id]
    fees = [
        Fee(
            _("%(plan)s (%(contents)s) – monthly fee")
            % {"plan": plan.name, "contents": ", ".join(prices.contents.get(plan_id, []))},
            plan.monthly_fee,
        )
    ]
    for product_id in addon_product_ids:
        name, fee = prices.addon_fee(product_id, period_start)
        fees.append(Fee(_("Add-on %(product)s – monthly fee") % {"product": name}, fee))
    return fees


def priced_lines(fees: list[Fee], supply_date: date) -> list[InvoiceLine]:
    """VAT per line at the rate in force on the supply date, rounded once per line (flex.money)."""
    rate = vat_rate_on(supply_date)
    lines = []
    for fee in fees:
        gross = to_money(fee.monthly_fee)
        net, vat = split_gross(gross, rate)
        lines.append(
            InvoiceLine(
                description=fee.description,
                quantity=1,
                unit_price=gross,
                vat_rate=rate * 100,
                net=net,
                vat=vat,
                gross=gross,
            )
        )
    return lines


def due_subscription_ids(day: date) -> list[int]:
    """Every billable subscription with a period to invoice by `day` (one index range, PAY-1)."""
    horizon = day + timedelta(days=settings.FLEX["INVOICE_LEAD_DAYS"])
    return list(
        Subscription.objects.filter(status__in=BILLABLE_STATUSES, invoiced_until__lte=horizon)
        .order_by("id")
        .values_list("id", flat=True)
    )


def start_billing_run(day: date, *, actor: Actor) -> tuple[BillingRun, list[list[int]]]:
    """Open a run for `day` and split the due subscriptions into chunks for the workers."""
    ids = due_subscription_ids(day)
    size = settings.FLEX["BILLING_CHUNK_SIZE"]
    chunks = [ids[n : n + size] for n in range(0, len(ids), size)]
    run = BillingRun.objects.create(
        run_on=day,
        started_at=clock.now(),
        status=BillingRunStatus.RUNNING,
        triggered_by=actor.label,
        subscriptions_due=len(ids),
        chunks=len(chunks),
    )
    record(actor, "start_billing_run", run, rule="PAY-1", day=day.isoformat(), due=len(ids), chunks=len(chunks))
    return run, chunks


def bill_chunk(run_id: int, subscription_ids: list[int], *, actor: Actor) -> list[int]:
    """Invoice every due period of these subscriptions in one transaction; the ids of the new invoices.

    Subscriptions another worker holds are skipped (they are that worker's); a subscription no longer
    billable or already invoiced is left alone. Whatever fails rolls the whole chunk back, numbers
    included, and is recorded on the run; a rerun picks the chunk up again.
    """
    run = BillingRun.objects.get(pk=run_id)
    day = run.run_on
    lead = settings.FLEX["INVOICE_LEAD_DAYS"]
    try:
        with transaction.atomic(), history_context(actor, "bill_chunk", f"billing run {run_id}"):
            subscriptions = list(
                Subscription.objects.filter(
                    pk__in=subscription_ids,
                    status__in=BILLABLE_STATUSES,
                    invoiced_until__lte=day + timedelta(days=lead),
                )
                .select_for_update(skip_locked=True, no_key=True)
                .order_by("id")
                .values("id", "subscriber_id", "plan_id", "start_date", "invoiced_until")
            )
            invoices, lines = _invoices_for(subscriptions, day, lead)
            numbers = next_invoice_numbers(day, len(invoices))
            for invoice, number in zip(invoices, numbers, strict=True):
                invoice.number = number
            Invoice.objects.bulk_create(invoices, batch_size=2000)
            for invoice, invoice_lines in zip(invoices, lines, strict=True):
                for line in invoice_lines:
                    line.invoice_id = invoice.pk
            InvoiceLine.objects.bulk_create([line for group in lines for line in group], batch_size=5000)
            _advance(subscriptions, invoices)
            total = sum((invoice.gross_total for invoice in invoices), ZERO)
            BillingRun.objects.filter(pk=run_id).update(
                chunks_done=F("chunks_done") + 1,
                invoices_issued=F("invoices_issued") + len(invoices),
                gross_total=F("gross_total") + total,
            )
            if invoices:
                record(
                    actor,
                    "issue_invoices",
                    run,
                    rule="PAY-1",
                    count=len(invoices),
                    first=invoices[0].number,
                    last=invoices[-1].number,
                    gross_total=str(total),
                )
            ids = [invoice.pk for invoice in invoices]
            if ids:
                transaction.on_commit(lambda: _email_on_commit(ids))
            return ids
    except Exception as error:
        logger.exception("billing run %s: a chunk of %d subscriptions failed", run_id, len(subscription_ids))
        with transaction.atomic():
            locked = BillingRun.objects.select_for_update().get(pk=run_id)
            locked.errors = [
                *locked.errors,
                {
                    "at": clock.now().isoformat(),
                    "subscriptions": [subscription_ids[0], subscription_ids[-1]],
                    "error": f"{type(error).__name__}: {error}",
                },
            ]
            locked.save(update_fields=["errors"])
        raise


def _invoices_for(subscriptions: list[dict], day: date, lead: int) -> tuple[list[Invoice], list[list[InvoiceLine]]]:
    """Unsaved invoices (oldest period first per subscription) and their lines, in the subscriber's language."""
    from accounts.models import Subscriber

    if not subscriptions:
        return [], []
    prices = Prices()
    issuer = issuer_on(day)
    subscriber_ids = [s["subscriber_id"] for s in subscriptions]
    customers = customer_details(subscriber_ids)
    languages = dict(Subscriber.objects.filter(pk__in=subscriber_ids).values_list("id", "language"))
    held: dict[int, list[tuple[int, date, date | None]]] = defaultdict(list)
    for addon in SubscriptionAddOn.objects.filter(subscription_id__in=[s["id"] for s in subscriptions]).order_by("id"):
        held[addon.subscription_id].append((addon.product_id, addon.added_on, addon.removed_on))
    invoices, lines = [], []
    for subscription in subscriptions:
        periods = rules.periods_to_invoice(
            subscription["start_date"], subscription["invoiced_until"], today=day, lead_days=lead
        )
        name, address, vat_number = customers[subscription["subscriber_id"]]
        with translation.override(languages[subscription["subscriber_id"]]):
            for period in periods:
                addons = [
                    product_id
                    for product_id, added_on, removed_on in held[subscription["id"]]
                    if added_on <= period.start and (removed_on is None or removed_on > period.start)
                ]
                invoice_lines = priced_lines(
                    period_fees(subscription["plan_id"], addons, period.start, prices), period.start
                )
                invoices.append(
                    Invoice(
                        subscriber_id=subscription["subscriber_id"],
                        subscription_id=subscription["id"],
                        kind=InvoiceKind.MONTHLY,
                        issue_date=day,
                        # PAY-2: due 14 days after the invoice date; with the lead time, on the period's
                        # first day (the SEPA collection date: the e-mail is the pre-notification).
                        due_date=day + timedelta(days=PAYMENT_TERM_DAYS),
                        period_start=period.start,
                        period_end=period.end,
                        net_total=sum((line.net for line in invoice_lines), ZERO),
                        vat_total=sum((line.vat for line in invoice_lines), ZERO),
                        gross_total=sum((line.gross for line in invoice_lines), ZERO),
                        customer_name=name,
                        customer_address=address,
                        customer_vat_number=vat_number,
                        issuer=issuer,
                    )
                )
                lines.append(invoice_lines)
    return invoices, lines


def _advance(subscriptions: list[dict], invoices: list[Invoice]) -> None:
    """Move each subscription's `invoiced_until` past the last period just invoiced, in one statement."""
    until: dict[int, date] = {}
    for invoice in invoices:
        until[invoice.subscription_id] = invoice.period_end + timedelta(days=1)
    if not until:
        return
    Subscription.objects.bulk_update(
        [Subscription(pk=pk, invoiced_until=day) for pk, day in until.items()], ["invoiced_until"], batch_size=2000
    )


def _email_on_commit(invoice_ids: list[int]) -> None:
    from billing.tasks import send_invoice_emails

    send_invoice_emails.delay(invoice_ids)


def finish_billing_run(run_id: int, *, actor: Actor) -> BillingRun:
    """Close the run with its outcome once every chunk has been tried."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run_id)
        run.finished_at = clock.now()
        run.status = BillingRunStatus.FINISHED_WITH_ERRORS if run.errors else BillingRunStatus.FINISHED
        run.save(update_fields=["finished_at", "status"])
        record(
            actor,
            "finish_billing_run",
            run,
            rule="PAY-1",
            issued=run.invoices_issued,
            gross_total=str(run.gross_total),
            errors=len(run.errors),
        )
    return run


def run_monthly_billing(day: date | None = None, *, actor: Actor) -> BillingRun:
    """The whole run in this process, chunk after chunk (the scheduled job fans the chunks out to the
    workers instead: `billing.tasks.run_monthly_billing`). A failing chunk is recorded and the run
    goes on with the next; the run's status says so."""
    run, chunks = start_billing_run(day or clock.today(), actor=actor)
    for chunk in chunks:
        try:
            bill_chunk(run.pk, chunk, actor=actor)
        except Exception:  # noqa: S112 - logged and recorded on the run by bill_chunk; the next chunk goes on
            continue
    return finish_billing_run(run.pk, actor=actor)
