"""The figures finance looks at: what was invoiced and what came in per month, what is still open by
how late it is (PAY-2), and how many collections succeed (PAY-1).

Each figure is one GROUP BY query, whatever the number of invoices, served by an index that exists
for it: invoices by issue date (`invoice_list_order`), open invoices by due date (`status, due_date`),
payments by booking date (`payment_booked_on`), collections by their batch (`collection_file_order`,
a batch per collection date). The sums are those of the payments core (billing/services/payments.py):
an invoice is open for its total less the allocations of payments that still stand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, CharField, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth

from billing import rules, selectors
from billing.choices import AGEING_BUCKET_DAYS, AgeingBucket
from billing.models import (
    CollectionStatus,
    DirectDebitCollection,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PaidBy,
    Payment,
    PaymentStatus,
)
from flex import clock
from flex.money import ZERO

MONTHS_SHOWN = 12
MONEY = selectors.MONEY


def last_months(today: date, count: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the last `count` calendar months up to and including `today`'s, oldest first."""
    first = today.replace(day=1)
    return [clock.add_months(first, offset) for offset in range(1 - count, 1)]


def _month_after(month: date) -> date:
    return clock.add_months(month, 1)


def _zero() -> Value:
    return Value(ZERO, output_field=MONEY)


@dataclass(frozen=True)
class MonthOfMoney:
    month: date
    invoiced: Decimal  # invoices and charges issued in the month, incl. VAT
    credited: Decimal  # credit notes issued in the month (a positive amount)
    collected: Decimal  # payments booked in the month that were not reversed since


def invoiced_and_collected(today: date, months: int = MONTHS_SHOWN) -> list[MonthOfMoney]:
    """Per month: invoiced by issue date (credit notes apart) and collected by booking date (payments
    reversed since do not count: the money went back). One query: both GROUP BYs in one UNION ALL."""
    shown = last_months(today, months)
    start, end = shown[0], _month_after(shown[-1])
    credit_note = Q(kind=InvoiceKind.CREDIT_NOTE)
    invoiced = (
        Invoice.objects.filter(issue_date__gte=start, issue_date__lt=end)
        .annotate(month=TruncMonth("issue_date"))
        .order_by()
        .values("month")
        .annotate(
            invoiced=Coalesce(Sum("gross_total", filter=~credit_note), _zero()),
            credited=Coalesce(-Sum("gross_total", filter=credit_note), _zero()),
            collected=_zero(),
        )
    )
    collected = (
        Payment.objects.filter(booked_on__gte=start, booked_on__lt=end)
        .exclude(status=PaymentStatus.REVERSED)
        .annotate(month=TruncMonth("booked_on"))
        .order_by()
        .values("month")
        .annotate(invoiced=_zero(), credited=_zero(), collected=Sum("amount"))
    )
    totals = {month: [ZERO, ZERO, ZERO] for month in shown}
    for row in invoiced.union(collected, all=True):
        month = _as_date(row["month"])
        for index, name in enumerate(("invoiced", "credited", "collected")):
            totals[month][index] += row[name] or ZERO
    return [MonthOfMoney(month, *amounts) for month, amounts in totals.items()]


@dataclass(frozen=True)
class AgeingRow:
    bucket: AgeingBucket
    count: int
    amount_open: Decimal


def ageing_case(today: date) -> Case:
    """The ageing bucket of an invoice on `today` in SQL, from the same boundaries as
    `rules.ageing_bucket` (`rules.due_dates_in_bucket`)."""
    whens = []
    for bucket, _first, _last in AGEING_BUCKET_DAYS:
        earliest, latest = rules.due_dates_in_bucket(bucket, today)
        condition = Q()
        if earliest is not None:
            condition &= Q(due_date__gte=earliest)
        if latest is not None:
            condition &= Q(due_date__lte=latest)
        whens.append(When(condition, then=Value(bucket.value)))
    return Case(*whens, output_field=CharField())


def open_receivables(invoices: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices with something left to pay (PAY-2): open, for a positive amount, with `amount_paid` and
    `amount_open` (payments that still stand) in the same query."""
    invoices = Invoice.objects.all() if invoices is None else invoices
    return selectors.with_amount_open(invoices.filter(status=InvoiceStatus.OPEN, gross_total__gt=0)).filter(
        amount_open__gt=0
    )


def ageing(today: date) -> list[AgeingRow]:
    """What is open per ageing bucket on `today`: how many invoices and how much (PAY-2: overdue from
    the day after the due date). One GROUP BY over the open invoices (index on status, due date)."""
    rows = (
        open_receivables()
        .annotate(bucket=ageing_case(today))
        .order_by()
        .values("bucket")
        .annotate(count=Count("pk"), amount=Sum("amount_open"))
    )
    found = {row["bucket"]: row for row in rows}
    return [
        AgeingRow(
            bucket,
            found.get(bucket.value, {}).get("count", 0),
            found.get(bucket.value, {}).get("amount") or ZERO,
        )
        for bucket in AgeingBucket
    ]


@dataclass(frozen=True)
class CollectionMonth:
    month: date
    source: str  # how it was collected: a `PaidBy` value
    submitted: int  # collections that went to the bank or provider
    succeeded: int  # of those, settled and still standing
    awaiting: int  # of those, no outcome yet

    @property
    def rate(self) -> Decimal | None:
        """Settled / submitted, as a percentage (None without any submitted)."""
        if not self.submitted:
            return None
        return (Decimal(self.succeeded) * 100 / self.submitted).quantize(Decimal("0.1"))


def direct_debit_outcomes(start: date, end: date) -> QuerySet:
    """PAY-1: direct-debit collections per month of their collection date: submitted to the bank (every
    one past `pending`), settled (and not returned since), and still awaiting the bank's outcome."""
    return (
        DirectDebitCollection.objects.filter(batch__collection_date__gte=start, batch__collection_date__lt=end)
        .exclude(status=CollectionStatus.PENDING)
        .annotate(month=TruncMonth("batch__collection_date"), source=Value(PaidBy.SEPA_DIRECT_DEBIT.value))
        .order_by()
        .values("month", "source")
        .annotate(
            submitted=Count("pk"),
            succeeded=Count("pk", filter=Q(status=CollectionStatus.SETTLED)),
            awaiting=Count("pk", filter=Q(status=CollectionStatus.SUBMITTED)),
        )
    )


# Every way Flex collects on its own initiative, each a function (start, end) → a GROUP BY with the
# columns month, source, submitted, succeeded, awaiting. Card charges join here as a second source
# when they are recorded per attempt; the dashboard unites them in one query.
COLLECTION_SOURCES: list[Callable[[date, date], QuerySet]] = [direct_debit_outcomes]


def collection_success(
    today: date, months: int = MONTHS_SHOWN, sources: list[Callable[[date, date], QuerySet]] | None = None
) -> tuple[list[CollectionMonth], list[CollectionMonth]]:
    """Collections submitted and settled per month and source, and per month over all sources (PAY-1).
    One query: the sources' GROUP BYs in one UNION ALL."""
    shown = last_months(today, months)
    start, end = shown[0], _month_after(shown[-1])
    queries = [source(start, end) for source in (sources or COLLECTION_SOURCES)]
    union = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
    per_source: dict[tuple[date, str], list[int]] = {}
    for row in union:
        key = (_as_date(row["month"]), row["source"])
        counts = per_source.setdefault(key, [0, 0, 0])
        for index, name in enumerate(("submitted", "succeeded", "awaiting")):
            counts[index] += row[name]
    by_source = [CollectionMonth(month, source, *counts) for (month, source), counts in sorted(per_source.items())]
    overall = []
    for month in shown:
        rows = [row for row in by_source if row.month == month]
        overall.append(
            CollectionMonth(
                month,
                "all",
                sum(row.submitted for row in rows),
                sum(row.succeeded for row in rows),
                sum(row.awaiting for row in rows),
            )
        )
    return overall, by_source


def _as_date(value) -> date:
    """A month as TruncMonth gives it (a date; a datetime on some databases)."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value


__all__ = [
    "AgeingRow",
    "CollectionMonth",
    "MonthOfMoney",
    "ageing",
    "ageing_case",
    "collection_success",
    "invoiced_and_collected",
    "last_months",
    "open_receivables",
]
