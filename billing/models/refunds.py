"""Money paid back to a subscriber (PAY-1, TERM-1, TERM-4, WD-2): each refund returns part or all of one
payment by the route the money came in: the provider's refund for a card or iDEAL payment, a SEPA
credit transfer (a pain.001 file to our bank) for a direct debit or a bank transfer.

A refund is requested (and what it takes out of the payment's credit is taken at once, so the credit
is not also used by an invoice), sent (the provider accepted it, or its credit transfer went to the
bank in a file) and completed, or failed (the provider refused it, the bank returned the transfer),
which gives the money back to the payment's credit. The refundable amount of a payment is what no
standing invoice holds of it, less what is refunded or on its way (`billing.services.refunds`).
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.payments import Payment
from flex.money import MoneyField


class RefundRoute(models.TextChoices):
    PROVIDER = "provider", _("payment provider's refund")
    CREDIT_TRANSFER = "credit_transfer", _("SEPA credit transfer")


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    SENT = "sent", _("sent")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


# The refunds that hold money of their payment: a failed one gave it back.
LIVE_REFUND_STATUSES = [RefundStatus.REQUESTED, RefundStatus.SENT, RefundStatus.COMPLETED]


class TransferBatchStatus(models.TextChoices):
    CREATED = "created", _("created")
    SUBMITTED = "submitted", _("submitted to the bank")
    COMPLETED = "completed", _("executed by the bank")


@pghistory.track()
class CreditTransferBatch(models.Model):
    """The credit transfers of one execution date, written as one pain.001.001.03 file for our bank."""

    execution_date = models.DateField(_("execution date"), unique=True)
    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TransferBatchStatus.choices, default=TransferBatchStatus.CREATED
    )
    created_at = models.DateTimeField(_("created"))
    file = models.FileField(_("file"), upload_to="credit-transfer/", max_length=200, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    file_size = models.BigIntegerField(_("file size (bytes)"), null=True, blank=True)
    transaction_count = models.PositiveIntegerField(_("transfers in the file"), default=0)
    control_sum = MoneyField(_("control sum"), default=0)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    bank_reference = models.CharField(_("bank's reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("credit-transfer batch")
        verbose_name_plural = _("credit-transfer batches")
        ordering = ["-execution_date"]
        permissions = [("settle_credittransferbatch", "Can record that the bank executed a credit-transfer batch")]

    def __str__(self) -> str:
        return self.message_id


@pghistory.track()
class Refund(models.Model):
    """Part or all of one payment paid back, by its route, for a reason and under a rule."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    subscriber = models.ForeignKey(
        "accounts.Subscriber", on_delete=models.PROTECT, related_name="refunds", db_index=False
    )
    amount = MoneyField(_("amount"))
    from_credit = MoneyField(
        _("taken from credit"), default=0, help_text=_("What the refund took of the payment's unallocated credit.")
    )
    reason = models.CharField(_("reason"), max_length=200)
    rule = models.CharField(_("rule"), max_length=20)
    route = models.CharField(_("route"), max_length=20, choices=RefundRoute.choices)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    key = models.CharField(
        _("idempotency key"), max_length=100, unique=True, help_text=_("The same refund asked twice is one refund.")
    )
    # Provider refunds: the provider's refund id. Credit transfers: the end-to-end id in the pain.001 file.
    external_reference = models.CharField(_("refund reference"), max_length=100, null=True, blank=True, unique=True)
    creditor_name = models.CharField(_("paid to (name)"), max_length=200, blank=True)
    creditor_iban = models.CharField(_("paid to (IBAN)"), max_length=34, blank=True)
    batch = models.ForeignKey(
        CreditTransferBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    failure_reason = models.CharField(_("failure"), max_length=200, blank=True)
    requested_by = models.CharField(_("requested by"), max_length=200)
    requested_at = models.DateTimeField(_("requested"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-id"]
        permissions = [("refund_payment", "Can refund a payment or a credit balance")]
        constraints = [
            models.CheckConstraint(name="refund_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="refund_from_credit_within_amount",
                condition=Q(from_credit__gte=0, from_credit__lte=models.F("amount")),
            ),
        ]
        indexes = [
            models.Index(fields=["payment"], name="refund_payment"),
            models.Index(fields=["subscriber", "-requested_at"], name="refund_subscriber"),
            # The daily credit-transfer job's find: requested transfers not yet in a file.
            models.Index(
                fields=["requested_at"],
                condition=Q(status="requested", route="credit_transfer"),
                name="refund_transfer_to_send",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.amount}"


__all__ = [
    "LIVE_REFUND_STATUSES",
    "CreditTransferBatch",
    "Refund",
    "RefundRoute",
    "RefundStatus",
    "TransferBatchStatus",
]
