"""Open receivables by age (PAY-2: overdue from the day after the due date) and the finance figures:
invoiced against collected per month, outstanding by age, collection success (PAY-1). Each figure is
one GROUP BY query whatever the number of invoices."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Q, Value
from django.db.models.functions import TruncMonth

from billing import receivables, rules
from billing.choices import AgeingBucket
from billing.models import CollectionStatus, DirectDebitCollection, PaidBy, Payment
from billing.services import direct_debit, payments
from billing.services.subscriptions import issue_credit_note
from flex import clock
from flex.audit.trail import Actor
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db
BANK = Actor.partner("bank")
JOB = Actor.system("direct_debits")
TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-30, AgeingBucket.NOT_DUE),
        (0, AgeingBucket.NOT_DUE),  # due today: not overdue yet
        (1, AgeingBucket.DAYS_1_30),  # the day after the due date: in default (PAY-2)
        (30, AgeingBucket.DAYS_1_30),
        (31, AgeingBucket.DAYS_31_60),
        (60, AgeingBucket.DAYS_31_60),
        (61, AgeingBucket.DAYS_61_90),
        (90, AgeingBucket.DAYS_61_90),
        (91, AgeingBucket.OVER_90),
        (400, AgeingBucket.OVER_90),
    ],
)
def test_ageing_bucket_counts_days_past_the_due_date_pay_2(days, bucket):
    assert rules.ageing_bucket(days) == bucket


def test_an_invoice_due_today_is_not_overdue_and_the_next_day_it_is_pay_2():
    due = date(2026, 6, 15)
    assert rules.days_past_due(due, date(2026, 6, 15)) == 0
    assert rules.ageing_bucket(rules.days_past_due(due, date(2026, 6, 15))) == AgeingBucket.NOT_DUE
    assert rules.ageing_bucket(rules.days_past_due(due, date(2026, 6, 16))) == AgeingBucket.DAYS_1_30


def test_the_due_date_ranges_of_the_buckets_agree_with_the_rule_on_every_day_pay_2():
    for offset in range(-40, 200):
        due = TODAY - timedelta(days=offset)
        bucket = rules.ageing_bucket(rules.days_past_due(due, TODAY))
        earliest, latest = rules.due_dates_in_bucket(bucket, TODAY)
        assert (earliest is None or due >= earliest) and (latest is None or due <= latest), (offset, bucket)
        for other in AgeingBucket:
            if other != bucket:
                first, last = rules.due_dates_in_bucket(other, TODAY)
                assert not ((first is None or due >= first) and (last is None or due <= last)), (offset, other)


def pay(invoice, amount, reference, booked_on):
    return payments.receive_payment(
        subscriber_id=invoice.subscriber_id,
        amount=Decimal(amount),
        method=PaidBy.BANK_TRANSFER,
        reference=reference,
        invoice_id=invoice.pk,
        booked_on=booked_on,
        actor=BANK,
    )


@pytest.fixture
def receivable_book(travel):
    """Open invoices of one subscriber due on each bucket's boundaries on 15 June 2026; one part paid,
    one paid, one paid and then reversed by the bank (open again)."""
    subscription = subscribe(delivered_on=date(2025, 1, 5))  # its prepayment is paid, long ago
    due = {
        "today": (date(2026, 6, 15), "10.00"),
        "1 day": (date(2026, 6, 14), "11.00"),
        "30 days": (date(2026, 5, 16), "12.00"),
        "31 days": (date(2026, 5, 15), "13.00"),
        "60 days": (date(2026, 4, 16), "14.00"),
        "61 days": (date(2026, 4, 15), "15.00"),
        "90 days": (date(2026, 3, 17), "16.00"),
        "91 days": (date(2026, 3, 16), "17.00"),
        "paid": (date(2026, 2, 1), "18.00"),
        "reversed": (date(2026, 1, 20), "19.00"),
    }
    invoices = {name: monthly_invoice(subscription, day, amount) for name, (day, amount) in due.items()}
    pay(invoices["60 days"], "4.00", "TRF-PART", date(2026, 5, 1))  # 10.00 left open
    pay(invoices["paid"], "18.00", "TRF-PAID", date(2026, 2, 1))
    pay(invoices["reversed"], "19.00", "DD-REV", date(2026, 1, 20))
    payments.reverse_payment("DD-REV", reason_code="AM04", on=date(2026, 1, 22), actor=BANK)
    travel(TODAY)
    return invoices


def test_outstanding_by_age_is_what_is_left_open_per_bucket_in_one_query_pay_2(
    receivable_book, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = receivables.ageing(TODAY)
    assert [(row.bucket, row.count, row.amount_open) for row in rows] == [
        (AgeingBucket.NOT_DUE, 1, Decimal("10.00")),  # due today
        (AgeingBucket.DAYS_1_30, 2, Decimal("23.00")),  # 1 and 30 days
        (AgeingBucket.DAYS_31_60, 2, Decimal("23.00")),  # 31 days, and 60 days part paid (14 - 4)
        (AgeingBucket.DAYS_61_90, 2, Decimal("31.00")),  # 61 and 90 days
        (AgeingBucket.OVER_90, 2, Decimal("36.00")),  # 91 days, and the one whose payment was reversed
    ]


def test_a_paid_invoice_is_no_receivable_and_a_reversed_payment_makes_it_one_again_pay_2(receivable_book):
    open_numbers = set(receivables.open_receivables().values_list("number", flat=True))
    assert receivable_book["paid"].number not in open_numbers
    assert receivable_book["reversed"].number in open_numbers
    assert len(open_numbers) == 9


@pytest.fixture
def monthly_book(travel):
    """March 2026: € 45 invoiced and paid. April: € 50 invoiced, paid and the payment reversed by the
    bank (not collected). May: that April invoice credited."""
    subscription = subscribe(delivered_on=date(2025, 1, 5))
    march = monthly_invoice(subscription, date(2026, 3, 20), "45.00")  # issued 6 March
    april = monthly_invoice(subscription, date(2026, 4, 20), "50.00")  # issued 6 April
    pay(march, "45.00", "TRF-MAR", date(2026, 3, 20))
    pay(april, "50.00", "DD-APR", date(2026, 4, 21))
    payments.reverse_payment("DD-APR", reason_code="MD06", on=date(2026, 4, 25), actor=BANK)
    with travel("2026-05-02"):
        issue_credit_note(april)
    travel(TODAY)


def test_invoiced_and_collected_per_month_in_one_query_reversed_payments_left_out_pay_1(
    monthly_book, django_assert_num_queries
):
    with django_assert_num_queries(1):
        months = receivables.invoiced_and_collected(TODAY)
    assert [row.month for row in months] == [clock.add_months(date(2025, 7, 1), n) for n in range(12)]
    shown = {row.month: (row.invoiced, row.credited, row.collected) for row in months}
    zero = Decimal("0.00")
    assert shown[date(2026, 3, 1)] == (Decimal("45.00"), zero, Decimal("45.00"))
    assert shown[date(2026, 4, 1)] == (Decimal("50.00"), zero, zero)  # the April payment was reversed
    assert shown[date(2026, 5, 1)] == (zero, Decimal("50.00"), zero)
    # the prepayment invoice and its payment (January 2025) lie outside the last 12 months
    assert sum(row.invoiced + row.collected for row in months) == Decimal("140.00")


@pytest.fixture
def collections(travel):
    """Four collections on one mandate: two in March (one settled, one rejected by the bank), two in
    April (one settled, one still at the bank), and one in June gathered but not yet sent."""
    subscription = subscribe(delivered_on=date(2025, 1, 5))
    outcome = {}
    for due, status in [
        (date(2026, 3, 5), CollectionStatus.SETTLED),
        (date(2026, 3, 19), CollectionStatus.REJECTED),
        (date(2026, 4, 15), CollectionStatus.SETTLED),
        (date(2026, 4, 22), CollectionStatus.SUBMITTED),
    ]:
        invoice = monthly_invoice(subscription, due)
        with travel(due - timedelta(days=2)):
            assert direct_debit.collect_direct_debits(actor=JOB).collection_date == due
        outcome[invoice.pk] = status
    # The bank's outcome as the bank-file import records it on each collection.
    for invoice_id, status in outcome.items():
        DirectDebitCollection.objects.filter(invoice_id=invoice_id).update(status=status)
    monthly_invoice(subscription, date(2026, 6, 17))
    with travel("2026-06-15"):
        assert direct_debit.gather_due_collections(actor=JOB).collection_date == date(2026, 6, 17)
    travel(TODAY)


def test_collection_success_is_settled_over_submitted_per_month_in_one_query_pay_1(
    collections, django_assert_num_queries
):
    with django_assert_num_queries(1):
        overall, by_source = receivables.collection_success(TODAY)
    shown = {row.month: (row.submitted, row.succeeded, row.awaiting, row.rate) for row in overall}
    assert shown[date(2026, 3, 1)] == (2, 1, 0, Decimal("50.0"))
    assert shown[date(2026, 4, 1)] == (2, 1, 1, Decimal("50.0"))
    assert shown[date(2026, 6, 1)] == (0, 0, 0, None)  # gathered, not yet at the bank
    assert {row.source for row in by_source} == {PaidBy.SEPA_DIRECT_DEBIT}


def card_charges(start, end):
    """A second source as card charges would add one: card payments per month, all succeeded."""
    return (
        Payment.objects.filter(method=PaidBy.CARD, booked_on__gte=start, booked_on__lt=end)
        .annotate(month=TruncMonth("booked_on"), source=Value(PaidBy.CARD.value))
        .order_by()
        .values("month", "source")
        .annotate(
            submitted=Count("pk"),
            succeeded=Count("pk", filter=Q(status="received")),
            awaiting=Count("pk", filter=Q(pk__lt=0)),
        )
    )


def test_a_second_collection_source_joins_the_same_one_query_pay_1(collections, django_assert_num_queries):
    invoice = receivables.open_receivables().order_by("due_date").first()
    payments.receive_payment(
        subscriber_id=invoice.subscriber_id,
        amount=Decimal("5.00"),
        method=PaidBy.CARD,
        reference="CARD-1",
        booked_on=date(2026, 3, 10),
        actor=BANK,
    )
    with django_assert_num_queries(1):
        overall, by_source = receivables.collection_success(
            TODAY, sources=[receivables.direct_debit_outcomes, card_charges]
        )
    march = next(row for row in overall if row.month == date(2026, 3, 1))
    assert (march.submitted, march.succeeded, march.rate) == (3, 2, Decimal("66.7"))
    assert {(row.month, row.source) for row in by_source} >= {(date(2026, 3, 1), PaidBy.CARD)}
