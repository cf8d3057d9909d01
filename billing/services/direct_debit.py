"""SEPA direct debit, the collecting side (PAY-1, terms art. 8.1, 8.2): every day the open invoices of
SEPA payers whose collection date has come go into the batch of that date, the batch's pain.008 file
is written and checked, and the file goes to the bank.

- The collection date is the invoice's due date (the invoice, e-mailed 14 days ahead, is the SEPA
  pre-notification, PAY-8), moved to a TARGET2 business day, and never earlier than the bank can
  still take the file (`FLEX_DIRECT_DEBIT_LEAD_DAYS` business days after today). An invoice whose due
  date has passed (issued late, or not collectable before) goes into the earliest batch.
- One batch per collection date (a unique column); once its file went to the bank, later finds go to
  the next business day's batch.
- An invoice is in one live collection at most: a partial unique index, and the gathering inserts
  with ON CONFLICT DO NOTHING, so a job run twice or two workers at once collect each invoice once.
- Set-based: due invoices are read in chunks of `CHUNK` by primary key, each chunk's collections
  written with one INSERT and the mandates' sequence facts with two UPDATEs, in one short
  transaction; never one save per row.
- FRST for a mandate's first collection, RCUR after (SEPA Core rulebook; EPC130-08).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Exists, FilteredRelation, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.services import disclose_to
from billing import rules
from billing.adapters.bank import BankReport, bank
from billing.direct_debit import epc, pain008
from billing.direct_debit.calendar import add_target_days, next_target_day
from billing.models import (
    LIVE_COLLECTION_STATUSES,
    BatchStatus,
    CollectionStatus,
    DirectDebitBatch,
    DirectDebitCollection,
    Invoice,
    InvoiceStatus,
    Mandate,
    MandateStatus,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    SequenceType,
)
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of
from flex.money import ZERO
from flex.refusals import Refusal, Refused

log = logging.getLogger(__name__)

CHUNK = 10_000
STREAM_CHUNK = 5_000
REMITTANCE = "Flex factuur/invoice {number}"


def earliest_collection_date(today: date) -> date:
    """The first collection date a file handed to the bank today can ask for (SEPA Core: D-1 at the
    bank, plus a day's room; TARGET2 business days)."""
    return add_target_days(today, settings.FLEX_DIRECT_DEBIT_LEAD_DAYS)


def collection_date_for(due_date: date, today: date) -> date:
    """An invoice's collection date: its due date on a TARGET2 business day, not before the bank can
    take it. Never before the due date: the pre-notification announced that date (PAY-8)."""
    return next_target_day(max(due_date, earliest_collection_date(today)))


def _collection_date_open(collection_date: date) -> date:
    """`collection_date`, or the next business day after it whose batch has not gone to the bank yet."""
    closed = set(
        DirectDebitBatch.objects.filter(collection_date__gte=collection_date)
        .exclude(status=BatchStatus.CREATED)
        .values_list("collection_date", flat=True)
    )
    while collection_date in closed:
        collection_date = add_target_days(collection_date, 1)
    return collection_date


def _locked_batch(collection_date: date, now) -> DirectDebitBatch:
    """The batch of `collection_date` under a row lock, made when it is first needed (a unique date:
    two workers making it at once end up with the same row)."""
    batch, _created = DirectDebitBatch.objects.get_or_create(
        collection_date=collection_date,
        defaults={"message_id": f"FLEX-DD-{collection_date:%Y%m%d}", "created_at": now},
    )
    return DirectDebitBatch.objects.select_for_update().get(pk=batch.pk)


def _due_invoices(collection_date: date):
    """Open invoices of SEPA payers with an active mandate, due by `collection_date`, not in a live
    collection; with what is still to pay and the mandate's sequence facts."""
    received = (
        PaymentAllocation.objects.filter(
            invoice=OuterRef("pk"), payment__status=PaymentStatus.RECEIVED, released_on__isnull=True
        )
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    in_collection = DirectDebitCollection.objects.filter(invoice=OuterRef("pk"), status__in=LIVE_COLLECTION_STATUSES)
    # A collection the bank rejected or returned is not simply tried again on the same mandate: its
    # reason code's policy decides (billing/services/bank_files.py: AM04 once more with a new
    # pre-notification, others stop). A whole file the bank refused is a technical matter: those
    # invoices go into a later batch. A new mandate (a new account) collects them again.
    failed_here = DirectDebitCollection.objects.filter(
        invoice=OuterRef("pk"),
        mandate=OuterRef("mandate__id"),
        status__in=[CollectionStatus.REJECTED, CollectionStatus.RETURNED],
    ).exclude(batch__status=BatchStatus.REJECTED)
    return (
        Invoice.objects.annotate(
            mandate=FilteredRelation(
                "subscription__mandates", condition=Q(subscription__mandates__status=MandateStatus.ACTIVE)
            )
        )
        .filter(
            status=InvoiceStatus.OPEN,
            due_date__lte=collection_date,
            gross_total__gt=0,
            subscription__payment_method=PaymentMethod.SEPA_DIRECT_DEBIT,
            mandate__isnull=False,
        )
        .exclude(Exists(in_collection))
        .exclude(Exists(failed_here))
        .annotate(received=Coalesce(Subquery(received), ZERO))
        .order_by("pk")
        .values_list(
            "pk",
            "number",
            "gross_total",
            "received",
            "mandate__id",
            "mandate__first_collected_on",
            "mandate__last_collected_on",
            "mandate__signed_on",
        )
    )


def gather_due_collections(*, actor: Actor) -> DirectDebitBatch | None:
    """Put every open invoice of a SEPA payer whose collection date has come into the batch of that
    date (PAY-1), FRST on a mandate's first collection and RCUR after; returns the batch, or None when
    nothing was due. Safe to run twice and on two workers at once (see the module's docstring)."""
    today, now = clock.today(), clock.now()
    collection_date = _collection_date_open(earliest_collection_date(today))
    batch, last_pk = None, 0
    while True:
        with transaction.atomic(), history_context(actor, "gather_due_collections"):
            rows = list(_due_invoices(collection_date).filter(pk__gt=last_pk)[:CHUNK])
            if not rows:
                break
            last_pk = rows[-1][0]
            collections, mandates = [], set()
            for invoice_id, number, gross, received, mandate_id, first_on, last_on, signed_on in rows:
                # Two invoices on a new mandate in one batch: the first is FRST, the next RCUR (the SEPA
                # Core rulebook has let a first collection be RCUR since November 2016, EPC016-06 v1.0
                # 2016; two FRST on one mandate would be refused as a second first collection).
                first_on = first_on or (collection_date if mandate_id in mandates else None)
                amount = gross - received
                if amount <= 0 or rules.mandate_collectable_refusal(
                    status=MandateStatus.ACTIVE, last_used_on=last_on or signed_on, collection_date=collection_date
                ):
                    continue  # paid already, or the mandate lapsed: the lapse job and finance take it from here
                collections.append(
                    DirectDebitCollection(
                        invoice_id=invoice_id,
                        mandate_id=mandate_id,
                        amount=amount,
                        sequence_type=SequenceType.RECURRING if first_on else SequenceType.FIRST,
                        # unique: an invoice is collected once per collection date, in that date's batch
                        end_to_end_id=f"{number}-{collection_date:%y%m%d}",
                    )
                )
                mandates.add(mandate_id)
            if not collections:
                continue
            # The batch's row lock orders workers; the unique index is what guarantees "once": a worker
            # that read the same invoices before another committed them inserts nothing for them.
            batch = _locked_batch(collection_date, now)
            if not batch.is_open:
                log.info("batch %s went to the bank while gathering; the rest waits for the next run", batch)
                break
            for collection in collections:
                collection.batch = batch
            DirectDebitCollection.objects.bulk_create(collections, ignore_conflicts=True)
            # The sequence facts: the next collection on these mandates is recurring; their 36 months restart.
            Mandate.objects.filter(pk__in=mandates, first_collected_on__isnull=True).update(
                first_collected_on=collection_date
            )
            Mandate.objects.filter(pk__in=mandates).filter(
                Q(last_collected_on__isnull=True) | Q(last_collected_on__lt=collection_date)
            ).update(last_collected_on=collection_date)
    if batch is None:
        # Nothing newly due, but collections put into this date's batch earlier (a re-collection after
        # AM04, announced by its own pre-notification) still go to the bank.
        batch = (
            DirectDebitBatch.objects.filter(collection_date=collection_date, status=BatchStatus.CREATED)
            .filter(Exists(DirectDebitCollection.objects.filter(batch=OuterRef("pk"))))
            .first()
        )
        if batch is None:
            return None
    count = batch.collections.count()
    record(actor, "gather_due_collections", batch, rule="PAY-1", collection_date=str(collection_date), count=count)
    return batch


def _transactions(batch: DirectDebitBatch, sequence_type: str):
    rows = (
        batch.collections.filter(sequence_type=sequence_type)
        .order_by("id")
        .values_list(
            "end_to_end_id",
            "amount",
            "mandate__reference",
            "mandate__signed_on",
            "mandate__account_holder",
            "mandate__iban",
            "mandate__bic",
            "invoice__number",
        )
        .iterator(chunk_size=STREAM_CHUNK)
    )
    for end_to_end_id, amount, reference, signed_on, holder, iban, bic, number in rows:
        yield pain008.Transaction(
            end_to_end_id, amount, reference, signed_on, holder, iban, bic, REMITTANCE.format(number=number)
        )


def _creditor() -> pain008.Creditor:
    creditor = settings.FLEX_CREDITOR
    return pain008.Creditor(creditor["name"], creditor["identifier"], creditor["iban"], creditor["bic"])


def write_batch_file(batch_id: int, *, actor: Actor) -> DirectDebitBatch:
    """Write the batch's pain.008.001.02 file (PAY-1): every value through the EPC checks (character set,
    lengths, creditor identifier, IBAN, BIC), then the whole file through the official XSD, streaming;
    stored with its SHA-256, message id, count and control sum. A value that cannot be made valid is
    refused naming the field, the collection and the rule, and nothing is stored."""
    with transaction.atomic(), history_context(actor, "write_batch_file"):
        batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
        if not batch.is_open:
            return batch
        totals = {
            row["sequence_type"]: (row["count"], row["total"])
            for row in batch.collections.values("sequence_type").annotate(count=Count("id"), total=Sum("amount"))
        }
        groups = [
            pain008.PaymentGroup(
                payment_information_id=f"{batch.message_id}-{sequence_type}",
                sequence_type=sequence_type,
                collection_date=batch.collection_date,
                count=totals[sequence_type][0],
                control_sum=totals[sequence_type][1],
                transactions=_transactions(batch, sequence_type),
            )
            for sequence_type in pain008.SEQUENCE_TYPES
            if sequence_type in totals
        ]
        with tempfile.TemporaryDirectory(prefix="flex-dd-") as folder:
            path = Path(folder) / f"{batch.message_id}.xml"
            try:
                written = pain008.write(
                    path, message_id=batch.message_id, created_at=clock.now(), creditor=_creditor(), groups=groups
                )
                pain008.validate(path)
            except epc.FieldInvalid as invalid:
                raise Refused(
                    Refusal(rule="PAY-1", field=invalid.field, message=f"{invalid.message} ({invalid.rule})")
                ) from invalid
            except (pain008.FileInvalid, pain008.CountMismatchError) as invalid:
                raise Refused(Refusal(rule="PAY-1", field="file", message=str(invalid))) from invalid
            finally:
                # A refused file leaves its row streams half read: close their server-side cursors here,
                # not whenever the garbage collector happens to (in the middle of another query).
                for group in groups:
                    group.transactions.close()
            old_name = batch.file.name
            with open(path, "rb") as stream:
                stored = default_storage.save(f"direct-debit/{batch.message_id}.xml", File(stream))
            if old_name and old_name != stored:
                transaction.on_commit(lambda: default_storage.delete(old_name))
        batch.file.name = stored
        batch.file_version = pain008.VERSION
        batch.file_sha256, batch.file_size, batch.file_written_at = written.sha256, written.size, clock.now()
        batch.transaction_count, batch.control_sum = written.count, written.control_sum
        batch.first_count = totals.get(SequenceType.FIRST, (0, 0))[0]
        batch.recurring_count = totals.get(SequenceType.RECURRING, (0, 0))[0]
        batch.save()
        record(
            actor,
            "write_direct_debit_file",
            batch,
            rule="PAY-1",
            version=pain008.VERSION,
            count=written.count,
            control_sum=str(written.control_sum),
            sha256=written.sha256,
        )
    return batch


def submit_batch(batch_id: int, *, actor: Actor, reason: str = "") -> DirectDebitBatch:
    """Hand the batch's file to the bank (PAY-1); staff need the submit permission. The file names the
    debtors and their accounts: the disclosure is logged (PRIV-1). Submitting twice submits once."""
    with transaction.atomic(), history_context(actor, "submit_batch", reason):
        batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.CREATED:
            return batch
        if refusal := rules.batch_file_ready(batch):
            raise Refused(refusal)
        the_bank = disclose_to(
            bank(),
            subscriber=None,
            purpose="collect the monthly fees by SEPA direct debit (terms art. 8.2)",
            reference=batch.message_id,
        )
        with batch.file.open("rb") as stream:
            submission = the_bank.submit(
                message_id=batch.message_id,
                stream=stream,
                sha256=batch.file_sha256,
                collection_date=batch.collection_date,
            )
        perform(batch, "submit", submission.reference, clock.now(), user=staff_of(actor))
        batch.save(update_fields=["status", "bank_reference", "submitted_at"])
        batch.collections.filter(status=CollectionStatus.PENDING).update(status=CollectionStatus.SUBMITTED)
        record(actor, "submit", batch, rule="PAY-1", reason=reason, bank_reference=submission.reference)
    return batch


def collect_direct_debits(*, actor: Actor) -> DirectDebitBatch | None:
    """The daily job: gather what is due, write the batch's file and hand it to the bank (PAY-1)."""
    batch = gather_due_collections(actor=actor)
    if batch is None or not batch.is_open:
        return batch
    write_batch_file(batch.pk, actor=actor)
    return submit_batch(batch.pk, actor=actor)


def bank_reports(batch_id: int) -> list[BankReport]:
    """What the bank reported so far on the batch's collections (rejects, returns, refunds with their
    ISO reason codes), for the bank-file import to book."""
    batch = DirectDebitBatch.objects.get(pk=batch_id)
    if batch.status == BatchStatus.CREATED:
        return []
    return bank().reports(batch.message_id)


class NoBatchFileError(LookupError):
    pass


def export_batch_file(output: Path, *, batch: DirectDebitBatch | None = None) -> DirectDebitBatch:
    """Copy a batch's stored file (the latest written, unless `batch` is given) to `output`."""
    if batch is None:
        batch = DirectDebitBatch.objects.exclude(file="").order_by("-collection_date").first()
    if batch is None or not batch.file:
        raise NoBatchFileError("there is no direct-debit batch with a file yet")
    with batch.file.open("rb") as source, open(output, "wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return batch


__all__ = [
    "CHUNK",
    "NoBatchFileError",
    "bank_reports",
    "collect_direct_debits",
    "collection_date_for",
    "earliest_collection_date",
    "export_batch_file",
    "gather_due_collections",
    "submit_batch",
    "write_batch_file",
]
