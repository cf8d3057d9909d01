"""Payments allocated to invoices (PAY-1, PAY-2): one payment can settle several invoices, an invoice can
be paid in parts, an overpayment is credit the next invoice uses, and a reversed payment re-opens what
it paid."""

from datetime import date
from decimal import Decimal

import pytest

from billing import selectors, services
from billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentAllocation
from billing.services import payments
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import PlanFactory, subscribe

pytestmark = pytest.mark.django_db
BANK = Actor.partner("bank")
JOB = Actor.system("billing_run")


@pytest.fixture
def two_open_invoices(travel):
    """A subscriber with two open monthly invoices of EUR 45.00 (periods 4 and 5)."""
    subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), delivered_on=date(2026, 1, 31))
    with travel("2026-05-20"):
        services.run_monthly_billing(actor=JOB)
    invoices = list(subscription.invoices.filter(kind=InvoiceKind.MONTHLY).order_by("period_start"))
    assert [i.gross_total for i in invoices] == [Decimal("45.00"), Decimal("45.00")]
    return subscription.subscriber, invoices


def open_amounts(invoices) -> list[tuple[str, Decimal]]:
    rows = selectors.with_amount_open(Invoice.objects.filter(pk__in=[i.pk for i in invoices])).order_by("period_start")
    return [(row.status, row.amount_open) for row in rows]


def receive(subscriber, amount, reference, invoice=None):
    return payments.receive_payment(
        subscriber_id=subscriber.pk,
        amount=Decimal(amount),
        method="bank_transfer",
        reference=reference,
        invoice_id=invoice.pk if invoice else None,
        actor=BANK,
    )


def test_a_part_payment_leaves_the_rest_open_pay_2(two_open_invoices):
    subscriber, (first, second) = two_open_invoices
    receive(subscriber, "20.00", "TRF-1", first)
    assert open_amounts([first, second]) == [("open", Decimal("25.00")), ("open", Decimal("45.00"))]
    receive(subscriber, "25.00", "TRF-2", first)
    assert open_amounts([first, second]) == [("paid", Decimal("0.00")), ("open", Decimal("45.00"))]


def test_one_payment_settles_several_invoices_oldest_first_pay_1(two_open_invoices):
    subscriber, (first, second) = two_open_invoices
    payment = receive(subscriber, "90.00", "TRF-3")
    assert open_amounts([first, second]) == [("paid", Decimal("0.00")), ("paid", Decimal("0.00"))]
    assert sorted(payment.allocations.values_list("invoice__number", "amount")) == sorted(
        [(first.number, Decimal("45.00")), (second.number, Decimal("45.00"))]
    )
    assert payment.unallocated == Decimal("0.00")


def test_the_invoice_a_payment_names_comes_first_even_if_it_is_the_newer_pay_1(two_open_invoices):
    subscriber, (first, second) = two_open_invoices
    receive(subscriber, "45.00", "TRF-4", second)
    assert open_amounts([first, second]) == [("open", Decimal("45.00")), ("paid", Decimal("0.00"))]


def test_an_overpayment_is_credit_the_next_invoice_uses_pay_1(two_open_invoices, travel):
    subscriber, _invoices = two_open_invoices
    payment = receive(subscriber, "100.00", "TRF-5")
    assert payment.unallocated == Decimal("10.00")
    assert payments.credit_balance(subscriber.pk) == Decimal("10.00")
    with travel("2026-06-16"):  # period 6 is invoiced; the run ends by using the credit
        services.run_monthly_billing(actor=JOB)
    third = subscriber.invoices.filter(kind=InvoiceKind.MONTHLY).order_by("-period_start").first()
    assert open_amounts([third]) == [("open", Decimal("35.00"))]
    assert payments.credit_balance(subscriber.pk) == Decimal("0.00")
    assert AuditEvent.objects.filter(action="use_credit", rule="PAY-1").count() == 1


def test_a_payment_reported_twice_counts_once_pay_1(two_open_invoices):
    subscriber, (first, _second) = two_open_invoices
    assert receive(subscriber, "45.00", "TRF-6", first) == receive(subscriber, "45.00", "TRF-6", first)
    assert Payment.objects.filter(provider_reference="TRF-6").count() == 1
    assert PaymentAllocation.objects.filter(payment__provider_reference="TRF-6").count() == 1


def test_a_reversed_payment_reopens_the_invoices_it_paid_once_pay_1(two_open_invoices):
    subscriber, (first, second) = two_open_invoices
    receive(subscriber, "90.00", "DD-1")
    reopened = payments.reverse_payment("DD-1", reason_code="AM04", on=date(2026, 5, 31), actor=BANK)
    assert sorted(i.number for i in reopened) == sorted([first.number, second.number])
    assert open_amounts([first, second]) == [("open", Decimal("45.00")), ("open", Decimal("45.00"))]
    assert payments.reverse_payment("DD-1", reason_code="AM04", on=date(2026, 5, 31), actor=BANK) == []
    payment = Payment.objects.get(provider_reference="DD-1")
    assert (payment.status, payment.reason_code, payment.reversed_on) == ("reversed", "AM04", date(2026, 5, 31))


def test_a_reversed_overpayment_takes_its_credit_with_it_pay_1(two_open_invoices):
    subscriber, _invoices = two_open_invoices
    receive(subscriber, "100.00", "DD-2")
    payments.reverse_payment("DD-2", reason_code="MD06", on=date(2026, 6, 1), actor=BANK)
    assert payments.credit_balance(subscriber.pk) == Decimal("0.00")


def test_a_payment_must_be_positive_and_names_the_field_pay_1(two_open_invoices):
    subscriber, (first, _second) = two_open_invoices
    with pytest.raises(Refused) as refused:
        receive(subscriber, "0.00", "TRF-7", first)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("PAY-1", "amount")
    assert not Payment.objects.filter(provider_reference="TRF-7").exists()


def test_reversing_an_unknown_payment_is_refused_naming_the_reference(two_open_invoices):
    with pytest.raises(Refused) as refused:
        payments.reverse_payment("NOPE", reason_code="AM04", on=date(2026, 6, 1), actor=BANK)
    assert refused.value.refusal.field == "reference"
    assert Invoice.objects.get(pk=two_open_invoices[1][0].pk).status == InvoiceStatus.OPEN


def test_a_payment_without_a_reference_skips_an_invoice_the_bank_is_collecting_pay_1(travel):
    from billing.services import direct_debit
    from tests.billing.sepa import monthly_invoice

    subscription = subscribe(delivered_on=date(2026, 1, 5))
    collected = monthly_invoice(subscription, date(2026, 3, 5))
    travel("2026-03-03")
    direct_debit.gather_due_collections(actor=JOB)
    assert collected.direct_debits.exists()
    later = monthly_invoice(subscription, date(2026, 4, 6))
    receive(subscription.subscriber, "45.00", "TRF-8")  # paid twice otherwise: by the debit and by this
    assert open_amounts([collected, later]) == [("open", Decimal("45.00")), ("paid", Decimal("0.00"))]
