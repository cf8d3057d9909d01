"""PAY-1, PAY-8: card payers' open invoices are charged to the card from sign-up on their due date, once
whatever runs twice, races or crashes; a failed charge is retried after 3 and 7 days, then the
subscriber is e-mailed (in their language) to pay online. Real commits: the provider's webhook (a job)
runs after our commit, as in production."""

import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection

from accounts.models import SandboxState, Subscriber
from billing import emails, pdf, selectors, services
from billing.adapters.payments import payment_provider
from billing.models import CardCharge, ChargeStatus, Invoice, InvoiceStatus, Payment
from billing.services import cards
from flex.audit.trail import Actor
from flex.celery import held_tasks
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)
JOB = Actor.system("card_charges")
DUE = date(2026, 3, 5)


def card_payer(last_name=None, language="nl"):
    subscription = subscribe(delivered_on=date(2026, 1, 5), payment_method="card")
    changes = {"language": language}
    if last_name:
        changes["last_name"] = last_name
    Subscriber.objects.filter(pk=subscription.subscriber_id).update(**changes)
    return subscription


def provider_charges(invoice) -> list[dict]:
    """The sandbox provider's own records of card charges for the invoice."""
    rows = SandboxState.objects.filter(partner="payments", data__reference=invoice.number, data__method="card")
    return [row.data for row in rows if "idempotency_key" in row.data]


def test_pay_1_due_invoice_of_a_card_payer_is_charged_once_when_the_job_runs_twice(travel):
    invoice = monthly_invoice(card_payer(), DUE)
    travel("2026-03-04")
    assert services.charge_due_invoices(actor=JOB)["requested"] == 0  # not due yet
    travel("2026-03-05")
    services.charge_due_invoices(actor=JOB)
    services.charge_due_invoices(actor=JOB)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    charge = CardCharge.objects.get(invoice=invoice)
    assert (charge.status, charge.attempt, charge.amount) == (ChargeStatus.SUCCEEDED, 1, invoice.gross_total)
    assert len(provider_charges(invoice)) == 1
    payment = Payment.objects.get(provider_reference=charge.provider_payment_id)
    assert (payment.method, payment.amount) == ("card", invoice.gross_total)


def test_pay_1_two_workers_at_once_charge_an_invoice_once(travel, monkeypatch):
    invoices = [monthly_invoice(card_payer(), DUE) for _ in range(2)]
    travel("2026-03-05")
    inserted, may_commit = threading.Event(), threading.Event()
    manager = type(CardCharge.objects)
    real_bulk_create = manager.bulk_create

    def bulk_create_then_wait(self, objs, *args, **kwargs):
        made = real_bulk_create(self, objs, *args, **kwargs)
        if threading.current_thread().name == "worker-1" and objs:
            inserted.set()  # worker 1's charges exist, uncommitted
            assert may_commit.wait(10)
        return made

    monkeypatch.setattr(manager, "bulk_create", bulk_create_then_wait)
    errors = []

    def work(name):
        try:
            services.charge_due_invoices(actor=Actor.system(name))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=work, args=("worker-1",), name="worker-1")
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(target=work, args=("worker-2",), name="worker-2")
    second.start()
    second.join(1)  # worker 2 waits on worker 1's uncommitted charges (the partial unique index)
    may_commit.set()
    first.join(20)
    second.join(20)

    assert errors == []
    for invoice in invoices:
        assert CardCharge.objects.filter(invoice=invoice).count() == 1
        assert len(provider_charges(invoice)) == 1
        assert Payment.objects.filter(invoice=invoice, method="card").count() == 1
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID


def test_pay_1_a_crash_after_the_provider_charged_is_recovered_without_a_second_charge(travel, monkeypatch):
    invoice = monthly_invoice(card_payer(), DUE)
    travel("2026-03-05T07:00:00+01:00")
    real_apply = cards._apply

    def crash(*args, **kwargs):
        raise SystemExit("worker killed after the provider's answer, before our commit")

    monkeypatch.setattr(cards, "_apply", crash)
    with held_tasks() as held, pytest.raises(SystemExit):  # the provider's webhook is late
        services.charge_due_invoices(actor=JOB)
    monkeypatch.setattr(cards, "_apply", real_apply)
    charge = CardCharge.objects.get(invoice=invoice)
    assert (charge.status, charge.provider_payment_id) == (ChargeStatus.REQUESTED, None)
    assert len(provider_charges(invoice)) == 1

    with held_tasks():
        assert services.charge_due_invoices(actor=JOB)["sent"] == 0  # the claim is fresh: someone may be on it
    travel("2026-03-05T07:11:00+01:00")  # the claim expired: ask the provider again, same idempotency key
    with held_tasks():
        services.charge_due_invoices(actor=JOB)
    charge.refresh_from_db()
    assert charge.provider_payment_id is not None and charge.status == ChargeStatus.REQUESTED  # pending
    assert len(provider_charges(invoice)) == 1  # no second charge at the provider
    (_name, args, _kwargs) = next(task for task in held if task[0] == "billing.tasks.settle_sandbox_charge")
    payment_provider().settle_charge(*args)  # the card network answers; the webhook arrives
    charge.refresh_from_db()
    invoice.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_pay_1_failed_charge_is_retried_after_3_and_7_days_then_pay_8_email_asks_to_pay_online(travel):
    invoice = monthly_invoice(card_payer(last_name="Wanbetaler", language="en"), DUE)
    mail.outbox.clear()
    for day in ("2026-03-05", "2026-03-07", "2026-03-08", "2026-03-14", "2026-03-15", "2026-04-30"):
        travel(day)
        services.charge_due_invoices(actor=JOB)
    charges = list(CardCharge.objects.filter(invoice=invoice).order_by("attempt"))
    assert [(c.attempt, c.requested_at.date(), c.status, c.failure_code) for c in charges] == [
        (1, date(2026, 3, 5), ChargeStatus.FAILED, "insufficient_funds"),
        (2, date(2026, 3, 8), ChargeStatus.FAILED, "insufficient_funds"),
        (3, date(2026, 3, 15), ChargeStatus.FAILED, "insufficient_funds"),
    ]
    assert charges[-1].gave_up_at is not None and charges[-1].next_attempt_on is None
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    [stopped] = [m for m in mail.outbox if "could not charge" in m.subject]
    assert f"/portal/invoices/{invoice.number}/pay/" in stopped.body
    assert "update your card" in stopped.body  # PAY-8: in English, the subscriber's language


def test_pay_8_the_stop_email_is_in_dutch_for_a_dutch_subscriber(travel, settings):
    settings.FLEX_CARD_CHARGES = {**settings.FLEX_CARD_CHARGES, "retry_days": []}  # one attempt only
    invoice = monthly_invoice(card_payer(last_name="Weigeraar", language="nl"), DUE)
    mail.outbox.clear()
    travel("2026-03-05")
    services.charge_due_invoices(actor=JOB)
    charge = CardCharge.objects.get(invoice=invoice)
    assert (charge.status, charge.failure_code) == (ChargeStatus.FAILED, "card_declined")
    [stopped] = [m for m in mail.outbox if invoice.number in m.subject]
    assert "kaart" in stopped.body and "/pay/" in stopped.body


def test_pay_1_an_invoice_paid_meanwhile_is_not_charged(travel, monkeypatch):
    subscription = card_payer()
    invoice = monthly_invoice(subscription, DUE)
    travel("2026-03-05")

    def killed(*args, **kwargs):
        raise SystemExit("worker killed after requesting the charge, before sending it")

    real_send = cards._send
    monkeypatch.setattr(cards, "_send", killed)
    with pytest.raises(SystemExit):
        services.charge_due_invoices(actor=JOB)
    monkeypatch.setattr(cards, "_send", real_send)
    assert CardCharge.objects.get(invoice=invoice).status == ChargeStatus.REQUESTED
    services.receive_payment(  # meanwhile the subscriber pays by bank transfer
        subscriber_id=subscription.subscriber_id,
        amount=invoice.gross_total,
        method="bank_transfer",
        reference="BANK-1",
        invoice_id=invoice.pk,
        actor=JOB,
    )
    services.charge_due_invoices(actor=JOB)
    charge = CardCharge.objects.get(invoice=invoice)
    assert (charge.status, charge.failure_code) == (ChargeStatus.CANCELLED, "nothing_to_charge")
    assert provider_charges(invoice) == []


def test_pay_1_card_payer_invoice_email_and_pdf_speak_of_the_card_not_sepa_or_transfer():
    invoice = monthly_invoice(card_payer(language="en"), DUE)
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=None)
    mail.outbox.clear()
    emails.send_invoice(invoice.pk)
    body = mail.outbox[-1].body
    assert "charge" in body and "card" in body
    assert "SEPA" not in body and "advance notice" not in body
    document = selectors.invoice_document(Invoice.objects.filter(pk=invoice.pk))
    assert pdf.payment_instruction(document) == "card"
    html = pdf.render_invoice_html(document)
    assert "charged to your card" in html
    assert "to account (IBAN)" not in html


def test_retry_policy_is_data_from_the_settings():
    assert cards.retry_policy() == ([3, 7], 3)
    assert cards.next_attempt_on(1, DUE) == DUE + timedelta(days=3)
    assert cards.next_attempt_on(2, DUE) == DUE + timedelta(days=7)
    assert cards.next_attempt_on(3, DUE) is None
