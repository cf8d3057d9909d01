"""Money in and where it went (PAY-1, PAY-2): a payment is money received from a subscriber, by any
route (iDEAL, card, a direct-debit collection, a bank transfer); allocations say which invoices it
settles. A payment can settle several invoices and an invoice can be paid in parts; what a payment
leaves unallocated is the subscriber's credit balance, which the next invoice uses.

An invoice is paid when the allocations of its payments that still stand (received, not reversed)
cover its total. A reversed payment (a direct debit returned by the bank, a card chargeback) keeps its
allocations as the record of what it once paid; they stop counting, and the invoices re-open.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.models.subscriptions import Invoice
from flex.money import MoneyField


class PaidBy(models.TextChoices):
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    CARD = "card", _("card")
    IDEAL = "ideal", _("iDEAL")
    BANK_TRANSFER = "bank_transfer", _("bank transfer")


class PaymentStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    REVERSED = "reversed", _("reversed")
    REFUNDED = "refunded", _("refunded")


@pghistory.track()
class Payment(models.Model):
    """Money received from a subscriber; its reference (the provider's payment id, the collection's
    end-to-end id, the bank entry's reference) makes each payment count once."""

    subscriber = models.ForeignKey(
        "accounts.Subscriber",
        on_delete=models.PROTECT,
        db_index=False,  # payment_subscriber_order starts with it
        related_name="payments",
        verbose_name=_("paid by"),
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("paid for"),
        help_text=_("The invoice the payment was made for (its checkout, collection or reference), if any."),
    )
    amount = MoneyField(_("amount"))
    method = models.CharField(_("method"), max_length=20, choices=PaidBy.choices)
    provider_reference = models.CharField(_("reference"), max_length=100, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.RECEIVED)
    refund_reference = models.CharField(_("refund reference"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"))
    booked_on = models.DateField(
        _("booked on"), null=True, blank=True, help_text=_("The settlement date the bank or provider credited it.")
    )
    unallocated = MoneyField(
        _("unallocated (credit)"),
        default=0,
        help_text=_("What no invoice has taken yet: the subscriber's credit balance, used by the next invoice."),
    )
    reversed_on = models.DateField(_("reversed on"), null=True, blank=True)
    reason_code = models.CharField(
        _("reason code"), max_length=4, blank=True, help_text=_("Why it was reversed (ISO 20022 R-code, chargeback).")
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(name="payment_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="payment_unallocated_within_amount", condition=Q(unallocated__gte=0, unallocated__lte=F("amount"))
            ),
        ]
        indexes = [
            models.Index(fields=["subscriber", "-received_at", "-id"], name="payment_subscriber_order"),
            # Credit balances to use: few rows, found without reading the rest (finish of a billing run).
            models.Index(
                fields=["subscriber"], condition=Q(status="received", unallocated__gt=0), name="payment_with_credit"
            ),
            # The finance dashboard's "collected per month" (billing/receivables.py): a range of booking
            # dates, not a scan of every payment ever received. One more index written per payment.
            models.Index(fields=["booked_on"], name="payment_booked_on"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_reference} {self.amount}"


class PaymentAllocation(models.Model):
    """Part of a payment settling part of an invoice. Written once; it counts while its payment stands
    and its invoice is not credited (a credit note releases it: the amount is credit again)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField(_("amount"))
    allocated_at = models.DateTimeField(_("allocated"))
    released_on = models.DateField(
        _("released on"),
        null=True,
        blank=True,
        help_text=_("The invoice was credited: this part went back to the payment, as credit."),
    )

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["allocated_at", "id"]
        constraints = [models.CheckConstraint(name="allocation_amount_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


__all__ = ["PaidBy", "Payment", "PaymentAllocation", "PaymentStatus"]
