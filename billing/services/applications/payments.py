"""The applicant's money before a contract exists: the prepayment of the first 3 monthly fees, what the
payment provider reports, and the refund when the application ends without one (TERM-1, REG-7, PAY-1)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.services import disclose_to
from billing import rules
from billing.models import (
    Application,
    ApplicationStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from billing.services.applications.signup import locked_draft
from billing.services.subscriptions import email_invoice_on_commit, issue_prepayment_invoice, record_payment
from flex.audit.trail import Actor, history_context
from flex.partners import PartnerTimeout
from flex.refusals import Refusal, Refused

AS = ApplicationStatus


def _payment_provider_unavailable() -> Refusal:
    return Refusal(
        rule="REG-7",
        field="prepayment",
        message=_("The payment provider did not answer in time; nothing has been paid. Try again in a moment."),
    )


def start_prepayment(application_id: int, *, return_url: str, actor: Actor) -> str:
    """The applicant pays the first 3 monthly fees upfront (TERM-1, REG-7): the prepayment invoice is
    issued once and the provider's checkout opened; the disclosure is logged (PRIV-1). A provider that
    does not answer in time is a REG-7 refusal to try again; the invoice is reused then."""
    from billing.adapters.payments import payment_provider

    with transaction.atomic(), history_context(actor, "start_prepayment"):
        application = locked_draft(application_id)
        refusal = rules.identity_verified(application)
        if refusal:
            raise Refused(refusal)
        invoice = application.invoices.filter(kind=InvoiceKind.PREPAYMENT).first()
        if invoice is None:
            invoice = issue_prepayment_invoice(
                plan=application.plan,
                addons=[a.product for a in application.addons.select_related("product")],
                application=application,
            )
            email_invoice_on_commit(invoice)
        if invoice.status == InvoiceStatus.PAID:
            raise Refused(
                Refusal(rule="TERM-1", field="prepayment", message=_("The first 3 monthly fees are already paid."))
            )
    provider = disclose_to(
        payment_provider(),
        subscriber=application.subscriber,
        purpose="collect the prepayment of the first 3 monthly fees (terms art. 1.1.5, 2.3.1)",
        reference=invoice.number,
    )
    try:
        checkout = provider.create_checkout(
            reference=invoice.number,
            amount=invoice.gross_total,
            description=f"Flex {invoice.number}",
            customer_email=application.subscriber.email,
            return_url=return_url,
        )
    except PartnerTimeout:
        # The invoice stays issued: the next attempt opens a checkout for the same one.
        raise Refused(_payment_provider_unavailable()) from None
    Application.objects.filter(pk=application_id).update(prepayment_reference=checkout.payment_id)
    return checkout.checkout_url


def record_provider_payment(payment, *, actor: Actor) -> Payment | None:
    """The payment provider reports a payment (webhook, or our status request on return). Counted once
    by the provider's id; a card payment leaves the reusable card authorisation for the monthly fees."""
    if not payment.is_paid:
        return None
    invoice = Invoice.objects.filter(number=payment.reference).first()
    if invoice is None:
        raise Refused(
            Refusal(
                rule="PAY-1",
                field="reference",
                message=_("No invoice %(number)s.") % {"number": payment.reference},
            )
        )
    method = PaymentMethod.CARD if payment.method == "card" else PaymentMethod.IDEAL
    recorded = record_payment(
        invoice.pk, amount=payment.amount, method=method, provider_reference=payment.payment_id, actor=actor
    )
    if payment.card_token and invoice.application_id:
        Application.objects.filter(pk=invoice.application_id, card_token="").update(card_token=payment.card_token)
    return recorded


def receive_payment_webhook(body: bytes, signature: str) -> Payment | None:
    """A signed call from the payment provider (BadSignature when it is not): apply the event it
    reports, once (`billing.services.cards.record_provider_event`)."""
    from billing.adapters.payments import payment_provider
    from billing.services.cards import record_provider_event

    provider = payment_provider()
    payment = provider.parse_webhook(body, signature)
    return record_provider_event(payment, actor=Actor.partner(provider.cfg.partner_code))


def _payment_status_unavailable() -> Refusal:
    return Refusal(
        rule="REG-7",
        field="prepayment",
        message=_("The payment provider did not tell us the status of your payment in time. Try again in a moment."),
    )


def refresh_prepayment(application_id: int, *, actor: Actor) -> bool:
    """On return from the checkout: ask the provider for the status (the webhook may still be on its way).
    A provider that does not answer in time is a REG-7 refusal to try again (the webhook still counts)."""
    from billing.adapters.payments import payment_provider

    application = Application.objects.get(pk=application_id)
    if not application.prepayment_reference:
        return False
    try:
        payment = payment_provider().status(application.prepayment_reference)
    except PartnerTimeout:
        raise Refused(_payment_status_unavailable()) from None
    record_provider_payment(payment, actor=actor)
    return payment.is_paid


def refund_prepayment(application_id: int, *, actor: Actor) -> Invoice | None:
    """A refused or withdrawn applicant gets the prepayment back (TERM-1): a credit note, once, and a
    refund of each payment on the prepayment through the provider it was made with
    (`billing.services.refunds.refund`: a Refund record each, once by its key). A provider that does
    not answer leaves the refund requested and raises `PartnerTimeout`, so that the job tries again."""
    from billing.services.refunds import refund, refundable
    from billing.services.subscriptions import issue_credit_note

    with transaction.atomic(), history_context(actor, "refund_prepayment"):
        application = Application.objects.select_for_update().get(pk=application_id)
        if application.status not in (AS.REFUSED, AS.WITHDRAWN):
            return None
        prepayment = application.invoices.filter(kind=InvoiceKind.PREPAYMENT).first()
        if prepayment is None or prepayment.status != InvoiceStatus.PAID:
            return None
        credit = application.invoices.filter(kind=InvoiceKind.CREDIT_NOTE).first() or issue_credit_note(prepayment)
    timeout = None
    for payment in Payment.objects.filter(allocations__invoice=prepayment, status=PaymentStatus.RECEIVED).distinct():
        key = f"prepayment-{application_id}-{payment.pk}"
        amount = refundable(payment)
        if amount <= 0 and not Refund.objects.filter(key=key).exists():
            continue
        try:
            refund(
                payment.pk,
                amount,
                reason=f"application {application.reference} ended",
                rule="TERM-1",
                actor=actor,
                key=key,
            )
        except PartnerTimeout as error:
            timeout = error
    if timeout is not None:
        raise timeout
    if not Payment.objects.filter(allocations__invoice=prepayment, status=PaymentStatus.RECEIVED).exists():
        Invoice.objects.filter(pk=credit.pk, status=InvoiceStatus.OPEN).update(status=InvoiceStatus.PAID)
    return credit
