"""Use case: a subscriber pays an open invoice online, with iDEAL at the payment provider's checkout
(PAY-1, PAY-2). The provider reports the payment through its signed webhook, and we ask it for the
status when the subscriber comes back; either way `record_payment` counts it once per provider
reference and marks the invoice paid when its payments cover it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.services import disclose_to
from billing import rules, selectors
from billing.adapters.payments import Checkout, payment_provider
from billing.models import CollectionStatus, Invoice, InvoiceStatus
from billing.services.applications.payments import record_provider_payment
from flex.audit.trail import Actor, record
from flex.partners import PartnerError
from flex.refusals import Refusal, Refused

__all__ = ["payable_invoice", "refresh_invoice_payment", "start_invoice_payment"]


def _provider_unavailable() -> Refusal:
    return Refusal(
        rule="PAY-1",
        field="invoice",
        message=_(
            "The payment provider could not open a payment just now; nothing has been paid. Try again in a moment."
        ),
    )


def payable_invoice(number: str, *, subscriber) -> Invoice:
    """The subscriber's invoice `number` with what is still open on it, or the refusal that says why it
    cannot be paid online (PAY-1: not theirs or unknown; PAY-2: paid, credited, covered by payments, or
    a credit note, whose amount is negative)."""
    invoice = (
        selectors.with_amount_open(Invoice.objects.filter(number=number, subscriber=subscriber)).first()
        if subscriber is not None
        else None
    )
    refusal = rules.online_payment_refusal(
        number,
        is_own=invoice is not None,
        is_paid=invoice is not None and invoice.status == InvoiceStatus.PAID,
        is_credited=invoice is not None and invoice.status == InvoiceStatus.CREDITED,
        amount_open=invoice.amount_open if invoice is not None else 0,
        is_being_collected=invoice is not None
        and invoice.direct_debits.filter(status__in=[CollectionStatus.PENDING, CollectionStatus.SUBMITTED]).exists(),
    )
    if refusal:
        raise Refused(refusal)
    return invoice


def start_invoice_payment(number: str, *, subscriber, return_url: str, actor: Actor) -> Checkout:
    """The subscriber pays what is still open on their invoice `number` at the provider's checkout
    (iDEAL), which sends them back to `return_url`. Refused, with nothing opened, for another's or an
    unknown invoice (PAY-1) and for one with nothing left to pay (PAY-2). What the provider learns is
    logged (PRIV-1); a provider that does not answer in time is a refusal to try again."""
    invoice = payable_invoice(number, subscriber=subscriber)
    provider = disclose_to(
        payment_provider(),
        subscriber=subscriber,
        purpose="collect an open invoice the subscriber pays online (terms art. 8.1, 8.3)",
        reference=invoice.number,
    )
    try:
        checkout = provider.create_checkout(
            reference=invoice.number,
            amount=invoice.amount_open,
            description=f"Flex {invoice.number}",
            customer_email=subscriber.email,
            return_url=return_url,
        )
    except PartnerError:  # a timeout, or a refusal of a request that is ours to get right
        raise Refused(_provider_unavailable()) from None
    record(
        actor,
        "start_invoice_payment",
        invoice,
        rule="PAY-1",
        amount=str(invoice.amount_open),
        checkout=checkout.payment_id,
    )
    return checkout


def refresh_invoice_payment(number: str, payment_id: str, *, subscriber, actor: Actor) -> Invoice | None:
    """Back from the checkout: ask the provider how the payment `payment_id` stands (its webhook may
    still be on its way) and record it if paid. Only a payment for this subscriber's invoice `number`
    counts here; the invoice as it now stands, or None if it is not theirs."""
    invoice = Invoice.objects.filter(number=number, subscriber=subscriber).first() if subscriber else None
    if invoice is None or not payment_id:
        return invoice
    try:
        payment = payment_provider().status(payment_id)
    except PartnerError:
        raise Refused(
            Refusal(
                rule="PAY-1",
                field="invoice",
                message=_(
                    "The payment provider did not tell us the status of your payment in time. Try again in a moment."
                ),
            )
        ) from None
    if payment.reference == invoice.number:
        record_provider_payment(payment, actor=actor)
        invoice.refresh_from_db()
    return invoice
