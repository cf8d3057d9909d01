"""PAY-1: the provider's signed events about card charges (succeeded, failed, chargeback) count once by
their id and are out of order safe: a charge's state only moves forward."""

import json
from datetime import date

import pytest
from django.conf import settings
from django.core import mail
from rest_framework.test import APIClient

from billing import services
from billing.adapters.payments import payment_provider
from billing.models import CardCharge, ChargeStatus, InvoiceStatus, Payment, PaymentStatus, ProviderEvent
from flex.audit.trail import Actor
from flex.celery import held_tasks
from flex.partners import sign
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)
JOB = Actor.system("card_charges")


def post(event: dict, secret: str | None = None):
    raw = json.dumps(event).encode()
    return APIClient().post(
        "/api/v1/webhooks/payments/",
        raw,
        content_type="application/json",
        HTTP_FLEX_SIGNATURE=sign(raw, secret or settings.FLEX_PARTNERS["payments"].secret),
    )


@pytest.fixture
def pending(travel):
    """A card payer's invoice charged on its due date; the provider's webhook has not come yet."""
    invoice = monthly_invoice(subscribe(delivered_on=date(2026, 1, 5), payment_method="card"), date(2026, 3, 5))
    travel("2026-03-05")
    with held_tasks():
        services.charge_due_invoices(actor=JOB)
    charge = CardCharge.objects.get(invoice=invoice)
    assert charge.status == ChargeStatus.REQUESTED and charge.provider_payment_id
    return charge


def event(charge, event_id, event_type, status, **extra):
    return {
        "event_id": event_id,
        "event_type": event_type,
        "payment_id": charge.provider_payment_id,
        "reference": charge.invoice.number,
        "status": status,
        "amount": str(charge.amount),
        "method": "card",
        "occurred_at": "2026-03-05T08:00:00+00:00",
        **extra,
    }


def test_pay_1_an_event_delivered_twice_counts_once(pending):
    succeeded = event(pending, "evt_1", "payment.succeeded", "paid")
    assert post(succeeded).status_code == 200
    assert post(succeeded).status_code == 200
    assert Payment.objects.filter(provider_reference=pending.provider_payment_id).count() == 1
    assert ProviderEvent.objects.filter(event_id="evt_1").count() == 1
    pending.refresh_from_db()
    assert pending.status == ChargeStatus.SUCCEEDED


def test_pay_1_a_failed_event_after_succeeded_does_not_undo_the_payment(pending):
    assert post(event(pending, "evt_ok", "payment.succeeded", "paid")).status_code == 200
    late = event(pending, "evt_late", "payment.failed", "failed", failure_code="card_declined")
    assert post(late).status_code == 200
    pending.refresh_from_db()
    pending.invoice.refresh_from_db()
    assert pending.status == ChargeStatus.SUCCEEDED and pending.failure_code == ""
    assert pending.invoice.status == InvoiceStatus.PAID
    assert ProviderEvent.objects.get(event_id="evt_late").outcome.startswith("ignored")


def test_pay_1_a_chargeback_before_the_success_still_ends_with_the_payment_reversed(pending):
    mail.outbox.clear()
    chargeback = event(pending, "evt_cb", "payment.chargeback", "charged_back", chargeback_reason="fraudulent")
    assert post(chargeback).status_code == 200
    assert post(event(pending, "evt_ok", "payment.succeeded", "paid")).status_code == 200  # arrives late
    pending.refresh_from_db()
    pending.invoice.refresh_from_db()
    payment = Payment.objects.get(provider_reference=pending.provider_payment_id)
    assert pending.status == ChargeStatus.CHARGED_BACK
    assert (payment.status, payment.reason_code) == (PaymentStatus.REVERSED, "CHBK")
    assert pending.invoice.status == InvoiceStatus.OPEN
    assert any(pending.invoice.number in m.body for m in mail.outbox)


def test_pay_1_a_chargeback_reopens_the_paid_invoice_e_mails_the_subscriber_and_is_not_charged_again(pending):
    payment_provider().settle_charge(pending.provider_payment_id)  # paid, webhook delivered
    pending.invoice.refresh_from_db()
    assert pending.invoice.status == InvoiceStatus.PAID
    mail.outbox.clear()
    payment_provider().charge_back(pending.provider_payment_id, reason="product not received")
    pending.refresh_from_db()
    pending.invoice.refresh_from_db()
    assert (pending.status, pending.chargeback_reason) == (ChargeStatus.CHARGED_BACK, "product not received")
    assert pending.invoice.status == InvoiceStatus.OPEN
    [notice] = [m for m in mail.outbox if "/pay/" in m.body]
    assert pending.invoice.number in notice.body
    services.charge_due_invoices(actor=JOB)
    assert CardCharge.objects.filter(invoice=pending.invoice).count() == 1


def test_pay_1_an_event_with_a_bad_signature_changes_nothing(pending):
    response = post(event(pending, "evt_1", "payment.succeeded", "paid"), secret="guessed")
    assert response.status_code == 401
    assert not ProviderEvent.objects.filter(event_id="evt_1").exists()
    pending.refresh_from_db()
    assert pending.status == ChargeStatus.REQUESTED


def test_pay_1_a_failed_event_fails_the_charge_and_schedules_the_retry(pending):
    assert post(event(pending, "evt_f", "payment.failed", "failed", failure_code="expired_card")).status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.failure_code, pending.next_attempt_on) == (
        ChargeStatus.FAILED,
        "expired_card",
        date(2026, 3, 8),
    )
