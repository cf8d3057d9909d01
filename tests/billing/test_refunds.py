"""Refunds (PAY-1, TERM-1, TERM-4, WD-2): back by the route the money came in (the provider's refund for
card and iDEAL, a pain.001 credit transfer for a direct debit or bank transfer), never more than is
refundable, once per key; a failed refund gives its credit back."""

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from billing import services
from billing.credit_transfer import pain001
from billing.models import (
    CardCharge,
    CreditTransferBatch,
    Invoice,
    Payment,
    PaymentStatus,
    Refund,
    RefundRoute,
    RefundStatus,
    TransferBatchStatus,
)
from billing.services.subscriptions import issue_credit_note
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)
FINANCE = Actor.system("finance")


@pytest.fixture
def charged(travel):
    """A card payer's invoice charged to the card (the sandbox provider knows the payment)."""
    invoice = monthly_invoice(subscribe(delivered_on=date(2026, 1, 5), payment_method="card"), date(2026, 3, 5))
    travel("2026-03-05")
    services.charge_due_invoices(actor=Actor.system("card_charges"))
    charge = CardCharge.objects.get(invoice=invoice)
    return Payment.objects.get(provider_reference=charge.provider_payment_id)


def credit_of(subscription, amount="30.00", reference="BANK-77"):
    """A bank transfer no invoice takes: the subscriber's credit balance."""
    return services.receive_payment(
        subscriber_id=subscription.subscriber_id,
        amount=Decimal(amount),
        method="bank_transfer",
        reference=reference,
        actor=FINANCE,
    )


def test_pay_1_refund_over_the_refundable_amount_is_refused_naming_the_field(charged):
    # The invoice it paid still stands: nothing of the payment is refundable.
    with pytest.raises(Refused) as refused:
        services.refund(charged.pk, Decimal("1.00"), reason="goodwill", rule="PAY-1", actor=FINANCE)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("PAY-1", "amount")
    issue_credit_note(Invoice.objects.get(pk=charged.invoice_id))  # TERM-4: the period is credited
    with pytest.raises(Refused) as refused:
        services.refund(charged.pk, charged.amount + Decimal("0.01"), reason="TERM-4", rule="TERM-4", actor=FINANCE)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("PAY-1", "amount")
    assert "45.00" in refused.value.refusal.message and "45.01" in refused.value.refusal.message
    assert not Refund.objects.exists()


def test_term_4_card_payment_is_refunded_through_the_provider_once(charged):
    issue_credit_note(Invoice.objects.get(pk=charged.invoice_id))
    first = services.refund(charged.pk, charged.amount, reason="fees after the end date", rule="TERM-4", actor=FINANCE)
    again = services.refund(charged.pk, charged.amount, reason="fees after the end date", rule="TERM-4", actor=FINANCE)
    assert first.pk == again.pk
    assert (first.route, first.status) == (RefundRoute.PROVIDER, RefundStatus.COMPLETED)
    assert first.external_reference.startswith("re_")
    charged.refresh_from_db()
    assert (charged.status, charged.refund_reference) == (PaymentStatus.REFUNDED, first.external_reference)
    assert AuditEvent.objects.filter(action="refund_requested", rule="TERM-4").count() == 1


def test_pay_1_credit_balance_of_a_sepa_payer_is_refunded_by_a_pain_001_credit_transfer(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 5))
    credit_of(subscription, "30.00")
    travel("2026-03-05")
    [refund] = services.refund_credit_balance(subscription.subscriber_id, reason="overpaid", actor=FINANCE)
    assert services.refund_credit_balance(subscription.subscriber_id, reason="overpaid", actor=FINANCE) == []
    assert (refund.route, refund.status, refund.amount) == (RefundRoute.CREDIT_TRANSFER, "requested", Decimal("30.00"))
    assert refund.creditor_iban == "NL91ABNA0417164300"  # the account of the subscriber's mandate
    assert services.credit_balance(subscription.subscriber_id) == 0  # not also used by the next invoice

    batch = services.pay_out_credit_transfers(actor=FINANCE)
    assert services.pay_out_credit_transfers(actor=FINANCE) is None  # twice: nothing more, nothing twice
    assert CreditTransferBatch.objects.count() == 1
    assert (batch.status, batch.transaction_count, batch.control_sum) == ("submitted", 1, Decimal("30.00"))
    with batch.file.open("rb") as stream:
        content = stream.read()
    path = batch.file.path
    assert pain001.validate(path) == (1, Decimal("30.00"))  # the ISO 20022 XSD of pain.001.001.03
    root = etree.fromstring(content)
    q = f"{{{pain001.NAMESPACE}}}"
    assert root.findtext(f".//{q}CdtTrfTxInf/{q}CdtrAcct/{q}Id/{q}IBAN") == "NL91ABNA0417164300"
    assert root.findtext(f".//{q}DbtrAcct/{q}Id/{q}IBAN") == "NL91ABNA0417164300"  # our account (sandbox)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT

    services.complete_credit_transfer_batch(batch.pk, actor=FINANCE)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert CreditTransferBatch.objects.get().status == TransferBatchStatus.COMPLETED
    assert Payment.objects.get(provider_reference="BANK-77").status == PaymentStatus.REFUNDED


def test_pay_1_a_returned_credit_transfer_gives_the_credit_back(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 5))
    credit_of(subscription, "12.50")
    [refund] = services.refund_credit_balance(subscription.subscriber_id, reason="overpaid", actor=FINANCE)
    services.fail_refund(refund.pk, reason="AC04 account closed", actor=FINANCE)
    assert services.credit_balance(subscription.subscriber_id) == Decimal("12.50")
    assert Refund.objects.get().status == RefundStatus.FAILED


def test_pay_1_a_name_outside_the_sepa_character_set_is_refused_naming_the_field_and_nothing_is_sent(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 5))
    credit_of(subscription, "5.00")
    services.refund(
        Payment.objects.get(provider_reference="BANK-77").pk,
        Decimal("5.00"),
        reason="overpaid",
        rule="PAY-1",
        actor=FINANCE,
        iban="NL91ABNA0417164300",
        account_holder="Jip Виссер",
    )
    with pytest.raises(Refused) as refused:
        services.pay_out_credit_transfers(actor=FINANCE)
    assert refused.value.refusal.field.startswith("Cdtr/Nm")
    assert Refund.objects.get().status == RefundStatus.REQUESTED
    assert not CreditTransferBatch.objects.filter(status="submitted").exists()
