"""Use case: finance corrects an invoice (Wet OB 1968 art. 35a). An issued invoice never changes; a
correction is a credit note that cancels it and refers to it. Finance never edits an amount."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import CollectionStatus, Invoice, InvoiceKind, InvoiceStatus
from billing.services.subscriptions import issue_credit_note
from flex.audit.trail import Actor, history_context, record
from flex.refusals import Refusal, Refused

__all__ = ["credit_invoice", "credit_refusal"]

# Wet op de omzetbelasting 1968 art. 35a: an invoice, once issued, is corrected by a new document.
ARTICLE = "Wet OB 1968 art. 35a"


def credit_refusal(invoice: Invoice, *, reason: str, being_collected: bool) -> Refusal | None:
    """Why `invoice` cannot be credited now, or None."""
    if not reason.strip():
        return Refusal(
            rule="PAY-1", field="reason", message=_("Say why the invoice is credited (kept with the credit note).")
        )
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return Refusal(
            rule="PAY-1",
            field="invoice",
            message=_("%(number)s is a credit note; it is not credited again (%(article)s).")
            % {"number": invoice.number, "article": ARTICLE},
        )
    if invoice.status == InvoiceStatus.CREDITED:
        return Refusal(
            rule="PAY-1",
            field="invoice",
            message=_("%(number)s is already credited.") % {"number": invoice.number},
        )
    if being_collected:
        return Refusal(
            rule="PAY-1",
            field="invoice",
            message=_(
                "%(number)s is in a direct-debit collection at the bank; credit it once the bank has reported "
                "the outcome."
            )
            % {"number": invoice.number},
        )
    return None


def credit_invoice(invoice_id: int, *, reason: str, actor: Actor) -> Invoice:
    """Issue a credit note cancelling the invoice (finance, with a reason); what was paid on it becomes
    the subscriber's credit. Refused for a credit note, an invoice already credited, or one a live
    direct-debit collection is taking. The credit note."""
    with transaction.atomic(), history_context(actor, "credit_invoice", reason):
        invoice = Invoice.objects.select_for_update().select_related("subscriber").get(pk=invoice_id)
        being_collected = invoice.direct_debits.filter(
            status__in=[CollectionStatus.PENDING, CollectionStatus.SUBMITTED]
        ).exists()
        if refusal := credit_refusal(invoice, reason=reason, being_collected=being_collected):
            raise Refused(refusal)
        credit = issue_credit_note(invoice)
        record(
            actor,
            "credit_invoice",
            invoice,
            rule="PAY-1",
            reason=reason,
            credit_note=credit.number,
            amount=str(credit.gross_total),
        )
    from billing.services.subscriptions import email_invoice_on_commit

    email_invoice_on_commit(credit)
    return credit
