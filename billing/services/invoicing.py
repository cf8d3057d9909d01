"""Use case: the monthly fees are invoiced in advance, period by period (PAY-1, PAY-2, PAY-6, PAY-8,
TERM-1), by a run that is safe to repeat, to race and to crash.

A run for a day finds every billable subscription whose next period starts within the lead time
(`FLEX["INVOICE_LEAD_DAYS"]`), in one query on `BillingSchedule.invoiced_until`, and splits them into
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
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from sequences import get_next_values

from billing import rules
from billing.models import (
    BILLABLE_STATUSES,
    PAYMENT_TERM_DAYS,
    BillingRun,
    BillingRunStatus,
    BillingSchedule,
    Invoice,
    InvoiceIssuer,
    InvoiceKind,
    InvoiceLine,
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


def customer_details(subscribers: Q) -> dict[int, tuple[str, str, str, str]]:
    """Each subscriber's name, physical address, VAT number and language as they are now, for invoices
    issued now (art. 35a lid 1: the customer's name and address, a business customer's VAT number)."""
    from accounts.models import Address, Subscriber, SubscriberKind

    addresses: dict[int, str] = {}
    subscriber_ids = Subscriber.objects.filter(subscribers).values("id")
    for subscriber_id, street, number, suffix, postcode, city in (
        Address.objects.filter(subscriber_id__in=subscriber_ids)
        .order_by("subscriber_id", "moved_in_on", "id")
        .values_list("subscriber_id", "street", "house_number", "house_number_suffix", "postcode", "city")
    ):
        # Ascending, so the last one written is the latest move (the current address, REG-8).
        addresses[subscriber_id] = f"{street} {number}{suffix}\n{postcode} {city}"
    details = {}
    for pk, kind, first_name, last_name, organisation, vat_number, language in Subscriber.objects.filter(
        subscribers
    ).values_list("id", "kind", "first_name", "last_name", "organisation_name", "vat_number", "language"):
        name = organisation if kind == SubscriberKind.ORGANISATION else f"{first_name} {last_name}".strip()
        # The VAT number given at sign-up (a business customer's, art. 35a lid 1 sub d), as it is at issue.
        details[pk] = (name, addresses.get(pk, ""), vat_number, language)
    return details


@dataclass(frozen=True)
class Line:
    """An invoice line's values (VAT split and rounded once, per line)."""

    description: str
    quantity: int
    unit_price: Decimal
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


# COPY's text format: a backslash, tab, newline or carriage return in a value is escaped (PostgreSQL
# manual, COPY, "Text Format").
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """A value as a field of COPY's text format (None is \\N)."""
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


class LineSet:
    """The lines of one kind of period (plan × add-ons × prices × language), priced once per chunk and
    shared by every invoice like it: the totals, and each line as COPY text after its invoice id."""

    __slots__ = ("copy_rows", "gross_total", "lines", "net_total", "vat_total")

    def __init__(self, lines: tuple[Line, ...]) -> None:
        self.lines = lines
        self.net_total = sum((line.net for line in lines), ZERO)
        self.vat_total = sum((line.vat for line in lines), ZERO)
        self.gross_total = sum((line.gross for line in lines), ZERO)
        self.copy_rows = tuple("\t".join(copy_text(value) for value in astuple_line(line)) for line in lines)

    def __iter__(self):
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)


@dataclass
class Draft:
    """An invoice about to be issued: everything but its number and id."""

    subscription_id: int
    subscriber_id: int
    period_start: date
    period_end: date
    lines: LineSet
    customer_name: str
    customer_address: str
    customer_vat_number: str
    number: str = ""
    pk: int | None = None

    @property
    def net_total(self) -> Decimal:
        return self.lines.net_total

    @property
    def vat_total(self) -> Decimal:
        return self.lines.vat_total

    @property
    def gross_total(self) -> Decimal:
        return self.lines.gross_total


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

    def version_on(self, product_ids: tuple[int, ...], day: date) -> tuple[date | None, ...]:
        """Which price rows of these products are in force on `day` (a key for lines priced alike)."""
        return tuple(
            max((p.valid_from for p in self.addon_prices.get(pk, ()) if p.valid_from <= day), default=None)
            for pk in product_ids
        )

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


def priced_lines(fees: list[Fee], supply_date: date) -> list[Line]:
    """VAT per line at the rate in force on the supply date, rounded once per line (flex.money)."""
    rate = vat_rate_on(supply_date)
    lines = []
    for fee in fees:
        gross = to_money(fee.monthly_fee)
        net, vat = split_gross(gross, rate)
        lines.append(Line(fee.description, 1, gross, rate * 100, net, vat, gross))
    return lines


def due_subscription_ids(day: date) -> list[int]:
    """Every billable subscription with a period to invoice by `day` (one index range, PAY-1)."""
    horizon = day + timedelta(days=settings.FLEX["INVOICE_LEAD_DAYS"])
    return list(
        BillingSchedule.objects.filter(invoiced_until__lte=horizon, subscription__status__in=BILLABLE_STATUSES)
        .order_by("subscription_id")
        .values_list("subscription_id", flat=True)
    )


def start_billing_run(day: date, *, actor: Actor) -> tuple[BillingRun, list[tuple[int, int]]]:
    """Open a run for `day` and split the due subscriptions into chunks for the workers: ranges of
    subscription ids with about `BILLING_CHUNK_SIZE` due ones each (a range is a small task message and
    an index range; each chunk checks again what is due under its lock)."""
    ids = due_subscription_ids(day)
    size = settings.FLEX["BILLING_CHUNK_SIZE"]
    chunks = [(ids[n], ids[min(n + size, len(ids)) - 1]) for n in range(0, len(ids), size)]
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


def bill_chunk(run_id: int, first_id: int, last_id: int, *, actor: Actor) -> list[int]:
    """Invoice every due period of the subscriptions with ids from `first_id` to `last_id` in one
    transaction; the ids of the new invoices.

    Subscriptions another worker holds are skipped (they are that worker's); a subscription no longer
    billable or already invoiced is left alone. Whatever fails rolls the whole chunk back, numbers
    included, and is recorded on the run; a rerun picks the chunk up again.
    """
    run = BillingRun.objects.get(pk=run_id)
    day = run.run_on
    lead = settings.FLEX["INVOICE_LEAD_DAYS"]
    try:
        with transaction.atomic(), history_context(actor, "bill_chunk", f"billing run {run_id}"):
            # The schedule rows are the claim: locked, a second worker skips them (they are being billed).
            subscriptions = list(
                BillingSchedule.objects.filter(
                    subscription__id__range=(first_id, last_id),
                    invoiced_until__lte=day + timedelta(days=lead),
                    subscription__status__in=BILLABLE_STATUSES,
                )
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("subscription_id")
                .values_list(
                    "subscription_id",
                    "subscription__subscriber_id",
                    "subscription__plan_id",
                    "subscription__start_date",
                    "invoiced_until",
                )
            )
            drafts = _drafts_for(subscriptions, day, lead, (first_id, last_id))
            for draft, number in zip(drafts, next_invoice_numbers(day, len(drafts)), strict=True):
                draft.number = number
            _write(drafts, day=day, issuer_id=issuer_on(day).pk if drafts else None)
            _advance(drafts)
            total = sum((draft.gross_total for draft in drafts), ZERO)
            BillingRun.objects.filter(pk=run_id).update(
                chunks_done=F("chunks_done") + 1,
                invoices_issued=F("invoices_issued") + len(drafts),
                gross_total=F("gross_total") + total,
            )
            if drafts:
                record(
                    actor,
                    "issue_invoices",
                    run,
                    rule="PAY-1",
                    count=len(drafts),
                    first=drafts[0].number,
                    last=drafts[-1].number,
                    gross_total=str(total),
                )
            ids = [draft.pk for draft in drafts]
            if ids:
                transaction.on_commit(lambda: _email_on_commit(ids))
            return ids
    except Exception as error:
        logger.exception("billing run %s: the chunk of subscriptions %s-%s failed", run_id, first_id, last_id)
        with transaction.atomic():
            locked = BillingRun.objects.select_for_update().get(pk=run_id)
            locked.errors = [
                *locked.errors,
                {
                    "at": clock.now().isoformat(),
                    "subscriptions": [first_id, last_id],
                    "error": f"{type(error).__name__}: {error}",
                },
            ]
            locked.save(update_fields=["errors"])
        raise


def _drafts_for(subscriptions: list[tuple], day: date, lead: int, id_range: tuple[int, int]) -> list[Draft]:
    """The invoices due (oldest period first per subscription), lines in the subscriber's language.
    A chunk holds a handful of distinct lines (plans × add-ons × prices × languages): each is priced
    once and shared."""
    if not subscriptions:
        return []
    prices = Prices()
    customers = customer_details(Q(subscriptions__id__range=id_range))
    held: dict[int, list[tuple[int, date, date | None]]] = defaultdict(list)
    for subscription_id, product_id, added_on, removed_on in (
        SubscriptionAddOn.objects.filter(subscription__id__range=id_range)
        .order_by("id")
        .values_list("subscription_id", "product_id", "added_on", "removed_on")
    ):
        held[subscription_id].append((product_id, added_on, removed_on))
    priced: dict[tuple, LineSet] = {}
    periods: dict[tuple[date, date], list[rules.Period]] = {}  # many subscriptions share a start day
    drafts = []
    for subscription_id, subscriber_id, plan_id, start_date, invoiced_until in subscriptions:
        name, address, vat_number, language = customers[subscriber_id]
        if (due := periods.get((start_date, invoiced_until))) is None:
            due = periods[start_date, invoiced_until] = rules.periods_to_invoice(
                start_date, invoiced_until, today=day, lead_days=lead
            )
        for period in due:
            addons = tuple(
                product_id
                for product_id, added_on, removed_on in held.get(subscription_id, ())
                if added_on <= period.start and (removed_on is None or removed_on > period.start)
            )
            key = (language, plan_id, addons, prices.version_on(addons, period.start), vat_rate_on(period.start))
            if (lines := priced.get(key)) is None:
                with translation.override(language):
                    lines = priced[key] = LineSet(
                        tuple(priced_lines(period_fees(plan_id, list(addons), period.start, prices), period.start))
                    )
            drafts.append(
                Draft(subscription_id, subscriber_id, period.start, period.end, lines, name, address, vat_number)
            )
    return drafts


INVOICE_COLUMNS = (
    "id",
    "number",
    "kind",
    "status",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "net_total",
    "vat_total",
    "gross_total",
    "customer_name",
    "customer_address",
    "customer_vat_number",
    "issuer_id",
    "subscription_id",
    "subscriber_id",
)
LINE_COLUMNS = ("invoice_id", "description", "quantity", "unit_price", "vat_rate", "net", "vat", "gross")


def _write(drafts: list[Draft], *, day: date, issuer_id: int | None) -> None:
    """Write the invoices and their lines in the caller's transaction and set each draft's id. On
    PostgreSQL through COPY with ids drawn from the table's sequence (a million rows a month); elsewhere
    (the SQLite demo) through the ORM."""
    if not drafts:
        return
    # PAY-2: due 14 days after the invoice date; with the lead time, on the period's first day (the SEPA
    # collection date: the invoice e-mail is the pre-notification).
    due = day + timedelta(days=PAYMENT_TERM_DAYS)
    if connection.vendor != "postgresql":
        invoices = Invoice.objects.bulk_create(
            [
                Invoice(
                    number=d.number,
                    kind=InvoiceKind.MONTHLY,
                    issue_date=day,
                    due_date=due,
                    period_start=d.period_start,
                    period_end=d.period_end,
                    net_total=d.net_total,
                    vat_total=d.vat_total,
                    gross_total=d.gross_total,
                    customer_name=d.customer_name,
                    customer_address=d.customer_address,
                    customer_vat_number=d.customer_vat_number,
                    issuer_id=issuer_id,
                    subscription_id=d.subscription_id,
                    subscriber_id=d.subscriber_id,
                )
                for d in drafts
            ]
        )
        for draft, invoice in zip(drafts, invoices, strict=True):
            draft.pk = invoice.pk
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(invoice_id=d.pk, **line.__dict__) for d in drafts for line in d.lines]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('billing_invoice', 'id')) FROM generate_series(1, %s)",
            [len(drafts)],
        )
        for draft, (pk,) in zip(drafts, cursor.fetchall(), strict=True):
            draft.pk = pk
        raw = cursor.cursor
        # Formatted here rather than by psycopg's write_row (2.2 s of a 50,000-invoice run's 22 s): the
        # lines are shared per LineSet, their text made once; the rest is a join per invoice.
        fixed = "\t".join(copy_text(v) for v in (InvoiceKind.MONTHLY.value, "open", day, due))
        issuer = copy_text(issuer_id)
        invoices = "".join(
            "\t".join(
                (
                    str(d.pk),
                    d.number,
                    fixed,
                    str(d.period_start),
                    str(d.period_end),
                    str(d.lines.net_total),
                    str(d.lines.vat_total),
                    str(d.lines.gross_total),
                    copy_text(d.customer_name),
                    copy_text(d.customer_address),
                    copy_text(d.customer_vat_number),
                    issuer,
                    str(d.subscription_id),
                    str(d.subscriber_id),
                )
            )
            + "\n"
            for d in drafts
        )
        lines = "".join(f"{d.pk}\t{row}\n" for d in drafts for row in d.lines.copy_rows)
        # COPY runs on psycopg's own cursor: Django's error classes (IntegrityError for the one invoice per
        # period, PAY-1) come through its wrapper, as for any other statement.
        with connection.wrap_database_errors:
            with raw.copy(f"COPY billing_invoice ({', '.join(INVOICE_COLUMNS)}) FROM STDIN") as copy:
                copy.write(invoices)
            with raw.copy(f"COPY billing_invoiceline ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy:
                copy.write(lines)


def astuple_line(line: Line) -> tuple:
    return (line.description, line.quantity, line.unit_price, line.vat_rate, line.net, line.vat, line.gross)


def _advance(drafts: list[Draft]) -> None:
    """Move each schedule past the last period just invoiced, in one statement."""
    until: dict[int, date] = {}
    for draft in drafts:
        until[draft.subscription_id] = draft.period_end + timedelta(days=1)
    if not until:
        return
    if connection.vendor != "postgresql":
        BillingSchedule.objects.bulk_update(
            [BillingSchedule(subscription_id=pk, invoiced_until=day) for pk, day in until.items()], ["invoiced_until"]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE billing_billingschedule s SET invoiced_until = v.until
               FROM unnest(%s::bigint[], %s::date[]) AS v(id, until) WHERE s.subscription_id = v.id""",
            # Array literals as text: psycopg's list adapter costs more than the statement here.
            ["{" + ",".join(map(str, until)) + "}", "{" + ",".join(map(str, until.values())) + "}"],
        )


def _email_on_commit(invoice_ids: list[int]) -> None:
    from billing.tasks import send_invoice_emails

    send_invoice_emails.delay(invoice_ids)


def finish_billing_run(run_id: int, *, actor: Actor) -> BillingRun:
    """Close the run with its outcome once every chunk has been tried, then put subscribers' credit
    balances on the invoices just issued (PAY-1: an overpayment pays the next invoice)."""
    from billing.services.payments import use_credit_balances

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
    use_credit_balances(actor=actor)
    return run


def run_monthly_billing(day: date | None = None, *, actor: Actor) -> BillingRun:
    """The whole run in this process, chunk after chunk (the scheduled job fans the chunks out to the
    workers instead: `billing.tasks.run_monthly_billing`). A failing chunk is recorded and the run
    goes on with the next; the run's status says so."""
    run, chunks = start_billing_run(day or clock.today(), actor=actor)
    for first_id, last_id in chunks:
        try:
            bill_chunk(run.pk, first_id, last_id, actor=actor)
        except Exception:  # noqa: S112 - logged and recorded on the run by bill_chunk; the next chunk goes on
            continue
    return finish_billing_run(run.pk, actor=actor)
