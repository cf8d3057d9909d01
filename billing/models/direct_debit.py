"""Direct-debit batches and their collections: one batch (one pain.008 file) per collection date,
one collection per open invoice of a SEPA payer (PAY-1, terms art. 8.1, 8.2).

"Once" is the database's: an invoice is in at most one live collection (a partial unique index), a
collection date has one batch. Collections are written and moved set-based, a chunk at a time, so
they carry no row history of their own: each is written once, and its status moves with its batch.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from billing import rules
from billing.models.mandates import Mandate, SequenceType
from billing.models.subscriptions import Invoice
from flex.fsm import rule_condition
from flex.money import MoneyField


class BatchStatus(models.TextChoices):
    CREATED = "created", _("created")
    SUBMITTED = "submitted", _("submitted to the bank")
    SETTLED = "settled", _("settled")
    PARTLY_SETTLED = "partly_settled", _("partly settled")
    REJECTED = "rejected", _("rejected by the bank")


class CollectionStatus(models.TextChoices):
    PENDING = "pending", _("in a batch, not yet at the bank")
    SUBMITTED = "submitted", _("at the bank")
    SETTLED = "settled", _("settled")
    REJECTED = "rejected", _("rejected before settlement")
    RETURNED = "returned", _("returned or refunded after settlement")


BS = BatchStatus
# An invoice in one of these is being collected (or was): the gathering job leaves it alone.
LIVE_COLLECTION_STATUSES = [CollectionStatus.PENDING, CollectionStatus.SUBMITTED, CollectionStatus.SETTLED]


@pghistory.track()
class DirectDebitBatch(ConcurrentTransitionMixin, models.Model):
    """The collections of one collection date, written as one pain.008 file and handed to the bank."""

    collection_date = models.DateField(_("collection date"), unique=True)
    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    status = FSMField(_("status"), max_length=20, choices=BatchStatus.choices, default=BS.CREATED, protected=True)
    created_at = models.DateTimeField(_("created"))
    file = models.FileField(_("file"), upload_to="direct-debit/", max_length=200, blank=True)
    file_version = models.CharField(_("file version"), max_length=20, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    file_size = models.BigIntegerField(_("file size (bytes)"), null=True, blank=True)
    file_written_at = models.DateTimeField(_("file written"), null=True, blank=True)
    transaction_count = models.PositiveIntegerField(_("collections in the file"), default=0)
    first_count = models.PositiveIntegerField(_("first (FRST)"), default=0)
    recurring_count = models.PositiveIntegerField(_("recurring (RCUR)"), default=0)
    control_sum = MoneyField(_("control sum"), default=0)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    bank_reference = models.CharField(_("bank's reference"), max_length=100, blank=True)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        verbose_name = _("direct-debit batch")
        verbose_name_plural = _("direct-debit batches")
        ordering = ["-collection_date"]
        permissions = [
            ("submit_directdebitbatch", "Can hand a direct-debit file to the bank"),
            ("settle_directdebitbatch", "Can record the bank's outcome of a direct-debit batch"),
        ]

    def __str__(self) -> str:
        return self.message_id

    @property
    def is_open(self) -> bool:
        """Still taking collections: the file has not gone to the bank."""
        return self.status == BS.CREATED

    @transition(
        field=status,
        source=BS.CREATED,
        target=BS.SUBMITTED,
        conditions=[rule_condition(rules.batch_file_ready)],
        permission="billing.submit_directdebitbatch",
        custom={"rule": "PAY-1", "label": _("submit to the bank")},
    )
    def submit(self, bank_reference: str, at) -> None:
        self.bank_reference, self.submitted_at = bank_reference, at

    @transition(
        field=status,
        source=BS.SUBMITTED,
        target=BS.SETTLED,
        permission="billing.settle_directdebitbatch",
        custom={"rule": "PAY-1", "label": _("settled")},
    )
    def settle(self, on) -> None:
        """Every collection was credited (the bank-file import calls this)."""
        self.settled_on = on

    @transition(
        field=status,
        source=BS.SUBMITTED,
        target=BS.PARTLY_SETTLED,
        permission="billing.settle_directdebitbatch",
        custom={"rule": "PAY-1", "label": _("partly settled")},
    )
    def settle_partly(self, on) -> None:
        """Credited except the collections the bank rejected or returned (the bank-file import)."""
        self.settled_on = on

    @transition(
        field=status,
        source=BS.SUBMITTED,
        target=BS.REJECTED,
        permission="billing.settle_directdebitbatch",
        custom={"rule": "PAY-1", "label": _("rejected")},
    )
    def reject(self) -> None:
        """The bank refused the whole file (pain.002 group status RJCT)."""


class DirectDebitCollection(models.Model):
    """One invoice collected on one mandate in one batch: the amount, the sequence type and the
    end-to-end id by which the bank reports it back."""

    batch = models.ForeignKey(DirectDebitBatch, on_delete=models.PROTECT, related_name="collections")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="direct_debits")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="collections")
    amount = MoneyField(_("amount"))
    sequence_type = models.CharField(_("sequence type"), max_length=4, choices=SequenceType.choices)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=CollectionStatus.choices, default=CollectionStatus.PENDING
    )
    reason_code = models.CharField(_("reason code"), max_length=4, blank=True, help_text=_("ISO 20022 R-code."))
    refund_claimed_on = models.DateField(
        _("refund right used on"),
        null=True,
        blank=True,
        help_text=_("The debtor had the collection refunded (MD06, SEPA Core: within 8 weeks, no questions asked)."),
    )

    class Meta:
        verbose_name = _("direct-debit collection")
        verbose_name_plural = _("direct-debit collections")
        ordering = ["batch", "sequence_type", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=LIVE_COLLECTION_STATUSES),
                name="one_live_collection_per_invoice",
            ),
            models.CheckConstraint(name="collection_amount_positive", condition=Q(amount__gt=0)),
        ]
        indexes = [
            # The file is written per sequence type, in this order, straight from the index.
            models.Index(fields=["batch", "sequence_type", "id"], name="collection_file_order"),
            models.Index(fields=["mandate", "-id"], name="collection_mandate"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id
