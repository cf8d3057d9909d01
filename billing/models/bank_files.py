"""Files the bank sends us, imported (PAY-1, PAY-2): status reports (pain.002: rejects before
settlement), debit/credit notifications (camt.054: returns and refunds after settlement, incoming
transfers) and day statements (camt.053: the credit of a settled direct-debit batch, transfers,
returns).

A `BankFile` is one imported file, once: its message id is unique per kind, so the same file imported
twice counts once. A `BankFileEntry` is one line of it: what the bank said (end-to-end id, amount,
reason code, booking date, counterparty, remittance information) and what Flex did with it (settled a
collection, reversed a payment, matched a transfer to an invoice, left it in the finance queue, ...).

What each ISO 20022 reason code leads to is data (`ReturnReasonPolicy`), seeded by a migration with
the source of each code's meaning, and shown read-only in the admin.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.direct_debit import DirectDebitBatch, DirectDebitCollection
from billing.models.payments import Payment
from billing.models.subscriptions import Invoice
from flex.money import MoneyField


class BankFileKind(models.TextChoices):
    # Versions of the Dutch Payments Association's implementation guidelines (see billing/bank_files).
    STATUS_REPORT = "pain.002.001.03", _("status report (pain.002)")
    NOTIFICATION = "camt.054.001.02", _("debit/credit notification (camt.054)")
    STATEMENT = "camt.053.001.02", _("day statement (camt.053)")


class BankFileSource(models.TextChoices):
    UPLOAD = "upload", _("uploaded in the admin")
    COMMAND = "command", _("management command")
    BANK = "bank", _("fetched from the bank by the daily job")


class ReturnAction(models.TextChoices):
    """What Flex does with a collection the bank rejected, returned or refunded, per reason code."""

    RECOLLECT_ONCE = "recollect_once", _("collect once more, with a new pre-notification")
    STOP_MANDATE = "stop_mandate", _("stop collecting on the mandate; ask to pay or give a new mandate")
    REFUND_RIGHT = "refund_right", _("re-open the invoice; record that the refund right was used")
    ASK_STAFF = "ask_staff", _("stop and ask staff")


class EntryOutcome(models.TextChoices):
    SETTLED = "settled", _("collection settled, payment booked")
    REJECTED = "rejected", _("collection rejected before settlement")
    BATCH_REJECTED = "batch_rejected", _("whole batch rejected")
    RETURNED = "returned", _("payment reversed, invoice re-opened")
    MATCHED = "matched", _("transfer matched to an invoice, payment booked")
    UNMATCHED = "unmatched", _("transfer not matched: in the finance queue")
    ASSIGNED = "assigned", _("transfer assigned by finance, payment booked")
    TO_REFUND = "to_refund", _("transfer to be refunded (finance's decision)")
    NEEDS_STAFF = "needs_staff", _("needs staff")
    IGNORED = "ignored", _("ignored")


@pghistory.track()
class ReturnReasonPolicy(models.Model):
    """What an ISO 20022 reason code on a rejected, returned or refunded collection leads to (PAY-1).
    Seeded by a migration; a code missing here gets the conservative default (stop and ask staff)."""

    code = models.CharField(_("reason code"), max_length=4, unique=True)
    meaning = models.CharField(_("meaning"), max_length=200)
    action = models.CharField(_("action"), max_length=20, choices=ReturnAction.choices)
    source = models.CharField(_("source of the meaning"), max_length=300)

    class Meta:
        verbose_name = _("reason-code policy")
        verbose_name_plural = _("reason-code policies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.meaning}"


@pghistory.track()
class BankFile(models.Model):
    """One file from the bank, imported once (its message id), in one transaction."""

    kind = models.CharField(_("kind"), max_length=20, choices=BankFileKind.choices)
    message_id = models.CharField(_("message id"), max_length=35)
    created_by_bank_at = models.DateTimeField(_("created by the bank"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="bank-files/", max_length=200)
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size (bytes)"))
    source = models.CharField(_("came in by"), max_length=20, choices=BankFileSource.choices)
    imported_at = models.DateTimeField(_("imported"))
    imported_by = models.CharField(_("imported by"), max_length=200)
    entry_count = models.PositiveIntegerField(_("lines"), default=0)
    settled_count = models.PositiveIntegerField(_("settled"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected or returned"), default=0)
    matched_count = models.PositiveIntegerField(_("transfers matched"), default=0)
    unmatched_count = models.PositiveIntegerField(_("transfers unmatched"), default=0)
    needs_staff_count = models.PositiveIntegerField(_("need staff"), default=0)
    ignored_count = models.PositiveIntegerField(_("ignored"), default=0)

    class Meta:
        verbose_name = _("bank file")
        verbose_name_plural = _("bank files")
        ordering = ["-imported_at", "-id"]
        permissions = [("import_bankfile", "Can import a file from the bank")]
        constraints = [
            # The same file imported twice counts once (its message id is unique per sender and kind).
            models.UniqueConstraint(fields=["kind", "message_id"], name="bank_file_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message_id}"

    @property
    def status(self) -> str:
        if self.needs_staff_count or self.unmatched_count:
            return str(_("imported; lines wait for finance"))
        return str(_("imported"))


@pghistory.track()
class BankFileEntry(models.Model):
    """One line of a bank file: what the bank said and what Flex did with it."""

    bank_file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="entries")
    line = models.PositiveIntegerField(_("line in the file"))
    # What the bank said
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, blank=True)
    bank_reference = models.CharField(
        _("bank's reference"), max_length=100, blank=True, help_text=_("The bank's own reference of the booking.")
    )
    status_or_direction = models.CharField(
        _("status / direction"), max_length=10, blank=True, help_text=_("RJCT, ACCP... or CRDT/DBIT.")
    )
    amount = MoneyField(_("amount"), null=True, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=4, blank=True)
    booking_date = models.DateField(_("booking date"), null=True, blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=140, blank=True)
    counterparty_iban = models.CharField(_("counterparty IBAN"), max_length=34, blank=True)
    remittance_info = models.CharField(_("remittance information"), max_length=300, blank=True)
    # What Flex did
    outcome = models.CharField(_("what it did"), max_length=20, choices=EntryOutcome.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    policy = models.CharField(_("policy applied"), max_length=20, choices=ReturnAction.choices, blank=True)
    batch = models.ForeignKey(
        DirectDebitBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_entries"
    )
    collection = models.ForeignKey(
        DirectDebitCollection, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_entries"
    )
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_entries")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_entries")
    transfer_reference = models.CharField(
        _("transfer reference"),
        max_length=100,
        blank=True,
        help_text=_("An incoming transfer's reference as a payment: the same transfer in two files counts once."),
    )
    resolved_by = models.CharField(_("resolved by"), max_length=200, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank file line")
        verbose_name_plural = _("bank file lines")
        ordering = ["bank_file", "line", "id"]
        permissions = [("resolve_bankfileentry", "Can assign an unmatched bank transfer or mark it to be refunded")]
        constraints = [
            # An incoming transfer reported in a notification and again in the day statement is
            # booked (or queued) once; the second report is a line that says so.
            models.UniqueConstraint(
                fields=["transfer_reference"],
                condition=~Q(transfer_reference="") & ~Q(outcome="ignored"),
                name="bank_transfer_once",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "-id"], name="bank_entry_queue"),
            models.Index(fields=["end_to_end_id"], name="bank_entry_end_to_end"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_file.message_id} #{self.line}"


class UnmatchedTransfer(BankFileEntry):
    """The finance queue: incoming transfers Flex could not match to an invoice."""

    class Meta:
        proxy = True
        verbose_name = _("unmatched transfer")
        verbose_name_plural = _("unmatched transfers (finance queue)")


__all__ = [
    "BankFile",
    "BankFileEntry",
    "BankFileKind",
    "BankFileSource",
    "EntryOutcome",
    "ReturnAction",
    "ReturnReasonPolicy",
    "UnmatchedTransfer",
]
