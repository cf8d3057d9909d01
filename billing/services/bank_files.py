"""Booking what the bank's files say (PAY-1, PAY-2, PAY-8, PRIV-1): pain.002 status reports, camt.054
notifications and camt.053 day statements, uploaded by finance, given to `manage.py import_bank_file`,
or fetched from the bank by the daily job.

- A file is read and checked whole first (`billing.bank_files.iso20022`: the official XSD, or the strict
  structural reader for pain.002); a file that fails is refused naming the line and the element, and
  nothing is booked. A file is imported once: its message id is unique per kind; the same file again is
  a no-op that says so, another file with the same message id is refused.
- One transaction per file, one import at a time (an advisory lock on PostgreSQL).
- A settled collection is a payment through `receive_payment` (method SEPA direct debit, reference its
  end-to-end id, booked on the booking date); a rejected one is rejected with its reason code; a
  return or refund after settlement goes through `reverse_payment`, which re-opens the invoice. What
  follows is the reason code's policy (`ReturnReasonPolicy`, data): AM04 collect once more with a new
  pre-notification (PAY-8), stop codes revoke the mandate and ask the subscriber to pay or give a new
  mandate, MD06 records the refund right used, an unknown code stops and asks staff.
- An incoming transfer is matched on the invoice number in its remittance information and booked with
  `receive_payment` (method bank transfer); one that is not matched waits in the finance queue, where
  finance assigns it (`assign_transfer`) or marks it to be refunded (`mark_transfer_to_refund`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from billing import rules, selectors
from billing.adapters.bank import bank
from billing.bank_files import iso20022
from billing.bank_files.matching import invoice_numbers_in
from billing.direct_debit.calendar import next_target_day
from billing.models import (
    BankFile,
    BankFileEntry,
    BankFileSource,
    BatchStatus,
    CollectionStatus,
    DirectDebitBatch,
    DirectDebitCollection,
    EntryOutcome,
    Invoice,
    InvoiceStatus,
    MandateStatus,
    PaidBy,
    Payment,
    ReturnAction,
    ReturnReasonPolicy,
    SequenceType,
)
from billing.services.direct_debit import _collection_date_open, _locked_batch, earliest_collection_date
from billing.services.payments import receive_payment, reverse_payment
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform
from flex.refusals import Refusal, Refused

log = logging.getLogger(__name__)

__all__ = [
    "ImportResult",
    "assign_transfer",
    "fetch_bank_files",
    "import_bank_file",
    "mark_transfer_to_refund",
]

# A reason code with no policy: stop and ask staff (the conservative default), the code recorded.
DEFAULT_ACTION = ReturnAction.ASK_STAFF
_LOCK_KEY = 0x464C4558_42414E4B & 0x7FFFFFFFFFFFFFFF  # "FLEXBANK": one import at a time
_FAILED = [CollectionStatus.REJECTED, CollectionStatus.RETURNED]
Outcome = EntryOutcome


@dataclass(frozen=True)
class ImportResult:
    bank_file: BankFile
    created: bool

    @property
    def message(self) -> str:
        f = self.bank_file
        if not self.created:
            return _("%(file)s was imported already on %(when)s; nothing was booked again.") % {
                "file": f,
                "when": f.imported_at.astimezone(clock.AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
            }
        return _(
            "%(file)s imported: %(lines)d lines, %(settled)d settled, %(rejected)d rejected or returned, "
            "%(matched)d transfers matched, %(unmatched)d unmatched, %(staff)d for staff, %(ignored)d ignored."
        ) % {
            "file": f,
            "lines": f.entry_count,
            "settled": f.settled_count,
            "rejected": f.rejected_count,
            "matched": f.matched_count,
            "unmatched": f.unmatched_count,
            "staff": f.needs_staff_count,
            "ignored": f.ignored_count,
        }


def _refused(message: str, field: str = "file") -> Refused:
    return Refused(Refusal(rule="PAY-1", field=field, message=message))


def import_bank_file(content: bytes, *, file_name: str, actor: Actor, source: str = BankFileSource.UPLOAD):
    """Import one file from the bank and book what it says (PAY-1, PAY-2); see the module's docstring.
    Refused (nothing booked) when the file does not read or validate, or when another file with its
    message id was imported; the same file again changes nothing (`ImportResult.created` False)."""
    user = getattr(actor, "user", None)
    if user is not None and not user.has_perm("billing.import_bankfile"):
        raise PermissionDenied(f"{actor} may not import bank files")
    try:
        kind, document = iso20022.read(content)
    except iso20022.FileInvalidError as invalid:
        raise _refused(
            _("%(name)s is refused and nothing was booked: %(error)s") % {"name": file_name, "error": invalid}
        ) from None
    sha256 = hashlib.sha256(content).hexdigest()
    stored = ""
    try:
        with transaction.atomic(), history_context(actor, "import_bank_file"):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            existing = BankFile.objects.filter(kind=kind, message_id=document.message_id).first()
            if existing is not None:
                if existing.sha256 == sha256:
                    return ImportResult(existing, created=False)
                raise _refused(
                    _(
                        "Another file with message id %(id)s was imported on %(when)s; %(name)s is refused and "
                        "nothing was booked."
                    )
                    % {
                        "id": document.message_id,
                        "when": existing.imported_at.astimezone(clock.AMSTERDAM).strftime("%d-%m-%Y"),
                        "name": file_name,
                    },
                    field="message_id",
                )
            stored = default_storage.save(f"bank-files/{kind}-{document.message_id}.xml", ContentFile(content))
            bank_file = BankFile.objects.create(
                kind=kind,
                message_id=document.message_id,
                created_by_bank_at=document.created_at if document.created_at.tzinfo else None,
                file=stored,
                file_name=file_name[:200],
                sha256=sha256,
                size=len(content),
                source=source,
                imported_at=clock.now(),
                imported_by=actor.label[:200],
            )
            booker = _Booker(bank_file, actor)
            if kind == iso20022.PAIN002:
                booker.status_report(document)
            else:
                booker.statement(document)
            booker.finish()
            record(
                actor,
                "import_bank_file",
                bank_file,
                rule="PAY-1",
                kind=kind,
                message_id=document.message_id,
                sha256=sha256,
                lines=bank_file.entry_count,
            )
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return ImportResult(bank_file, created=True)


def _after_commit(task, *args) -> None:
    transaction.on_commit(lambda: task.delay(*args))


class _Booker:
    """Books the lines of one file inside its transaction and keeps what each line did."""

    def __init__(self, bank_file: BankFile, actor: Actor) -> None:
        self.file, self.actor = bank_file, actor
        self.entries: list[BankFileEntry] = []
        self.batches: dict[int, date] = {}
        self.policies = dict(ReturnReasonPolicy.objects.values_list("code", "action"))
        self.today = clock.today()

    # --- what each line did ----------------------------------------------------------------------

    def line(self, outcome: str, detail: str, **facts) -> BankFileEntry:
        entry = BankFileEntry.objects.create(bank_file=self.file, outcome=outcome, detail=detail[:300], **facts)
        self.entries.append(entry)
        return entry

    def finish(self) -> None:
        for batch_id, on in self.batches.items():
            self._close_batch(batch_id, on)
        counts = {outcome: 0 for outcome in EntryOutcome.values}
        for entry in self.entries:
            counts[entry.outcome] += 1
        f = self.file
        f.entry_count = len(self.entries)
        f.settled_count = counts[Outcome.SETTLED]
        f.rejected_count = counts[Outcome.REJECTED] + counts[Outcome.RETURNED] + counts[Outcome.BATCH_REJECTED]
        f.matched_count = counts[Outcome.MATCHED]
        f.unmatched_count = counts[Outcome.UNMATCHED]
        f.needs_staff_count = counts[Outcome.NEEDS_STAFF]
        f.ignored_count = counts[Outcome.IGNORED]
        f.save()

    def _collection(self, end_to_end_id: str) -> DirectDebitCollection | None:
        if not end_to_end_id:
            return None
        return (
            DirectDebitCollection.objects.select_for_update(of=("self",))
            .select_related("batch", "invoice", "mandate")
            .filter(end_to_end_id=end_to_end_id)
            .first()
        )

    # --- pain.002 --------------------------------------------------------------------------------

    def status_report(self, report: iso20022.StatusReport) -> None:
        on = report.created_at.date()
        if report.group_status == "RJCT":
            self._reject_batch(report, on)
            return
        for tx in report.transactions:
            facts = {
                "line": tx.line,
                "end_to_end_id": tx.end_to_end_id,
                "status_or_direction": tx.status,
                "amount": tx.amount,
                "reason_code": tx.reason_code,
                "booking_date": on,
            }
            if tx.status != "RJCT":
                self.line(Outcome.IGNORED, _("Status %(status)s: nothing to book.") % {"status": tx.status}, **facts)
                continue
            self._failed(self._collection(tx.end_to_end_id), tx.reason_code, on, facts)

    def _reject_batch(self, report: iso20022.StatusReport, on: date) -> None:
        facts = {
            "line": report.group_line,
            "status_or_direction": "RJCT",
            "reason_code": report.group_reason_code,
            "booking_date": on,
        }
        batch = DirectDebitBatch.objects.select_for_update().filter(message_id=report.original_message_id).first()
        if batch is None:
            self.line(
                Outcome.NEEDS_STAFF,
                _("The bank rejected file %(id)s, which is not one of our batches.")
                % {"id": report.original_message_id},
                **facts,
            )
            return
        if batch.status != BatchStatus.SUBMITTED:
            self.line(
                Outcome.IGNORED,
                _("Batch %(batch)s is %(status)s already.") % {"batch": batch, "status": batch.get_status_display()},
                batch=batch,
                **facts,
            )
            return
        perform(batch, "reject")
        batch.save(update_fields=["status"])
        count = batch.collections.filter(status=CollectionStatus.SUBMITTED).update(
            status=CollectionStatus.REJECTED, reason_code=report.group_reason_code[:4]
        )
        record(self.actor, "reject", batch, rule="PAY-1", reason_code=report.group_reason_code, collections=count)
        self.line(
            Outcome.BATCH_REJECTED,
            _(
                "The bank rejected the whole file of batch %(batch)s (%(code)s): its %(count)d collections are "
                "rejected; the invoices go into a later batch."
            )
            % {"batch": batch, "code": report.group_reason_code or "—", "count": count},
            batch=batch,
            **facts,
        )

    # --- camt.053 / camt.054 ---------------------------------------------------------------------

    def statement(self, statement: iso20022.Statement) -> None:
        for entry in statement.entries:
            base = {"line": entry.line, "status_or_direction": entry.direction, "booking_date": entry.booking_date}
            if entry.status != "BOOK":
                self.line(
                    Outcome.IGNORED,
                    _("Not booked yet (%(status)s): the booked entry counts.") % {"status": entry.status},
                    amount=entry.amount,
                    bank_reference=entry.bank_reference,
                    **base,
                )
                continue
            if entry.reversal:
                self.line(
                    Outcome.NEEDS_STAFF,
                    _("A reversal of an earlier booking: finance checks it."),
                    amount=entry.amount,
                    bank_reference=entry.bank_reference,
                    **base,
                )
                continue
            if entry.direction == "CRDT":
                if self._is_collection_credit(entry):
                    self._settle(entry, base)
                else:
                    self._transfers(entry, base)
            else:
                self._returns(entry, base)

    def _is_collection_credit(self, entry: iso20022.Entry) -> bool:
        if entry.family[1] == "IDDT" or entry.batch_payment_information_id or entry.batch_message_id:
            return True
        ids = [tx.end_to_end_id for tx in entry.transactions if tx.end_to_end_id]
        return bool(ids) and DirectDebitCollection.objects.filter(end_to_end_id__in=ids).exists()

    def _settle(self, entry: iso20022.Entry, base: dict) -> None:
        on = entry.booking_date or self.today
        detailed = [tx for tx in entry.transactions if tx.end_to_end_id and tx.end_to_end_id != "NOTPROVIDED"]
        if detailed:
            for tx in detailed:
                amount = tx.amount if tx.amount is not None else (entry.amount if len(detailed) == 1 else None)
                facts = {
                    **base,
                    "line": tx.line,
                    "end_to_end_id": tx.end_to_end_id,
                    "amount": amount,
                    "bank_reference": tx.bank_reference or entry.bank_reference,
                    "counterparty_name": tx.counterparty_name[:140],
                    "counterparty_iban": tx.counterparty_iban[:34],
                }
                self._settle_collection(self._collection(tx.end_to_end_id), amount, on, facts)
            return
        # A batch booking without its transactions: the collections of the payment information block
        # still at the bank, when their total is what was credited.
        batch_id = entry.batch_payment_information_id or entry.batch_message_id
        batch = (
            DirectDebitBatch.objects.filter(
                Q(message_id=entry.batch_message_id) | Q(message_id=batch_id.rsplit("-", 1)[0]) | Q(message_id=batch_id)
            )
            .exclude(message_id="")
            .first()
        )
        facts = {**base, "amount": entry.amount, "bank_reference": entry.bank_reference}
        if batch is None:
            self.line(
                Outcome.NEEDS_STAFF,
                _("A direct-debit credit for no batch of ours (%(id)s).") % {"id": batch_id},
                **facts,
            )
            return
        collections = batch.collections.select_for_update().filter(status=CollectionStatus.SUBMITTED)
        sequence = batch_id.rsplit("-", 1)[-1]
        if sequence in SequenceType.values:
            collections = collections.filter(sequence_type=sequence)
        collections = list(collections.select_related("batch", "invoice", "mandate"))
        total = sum((c.amount for c in collections), Decimal("0"))
        if not collections or total != entry.amount:
            self.line(
                Outcome.NEEDS_STAFF,
                _("Credit of %(amount)s for %(id)s does not match the %(count)d collections still open (%(total)s).")
                % {"amount": entry.amount, "id": batch_id, "count": len(collections), "total": total},
                batch=batch,
                **facts,
            )
            return
        for collection in collections:
            self._settle_collection(
                collection, collection.amount, on, {**facts, "end_to_end_id": collection.end_to_end_id}
            )

    def _settle_collection(self, collection, amount, on: date, facts: dict) -> None:
        if collection is None:
            self.line(Outcome.NEEDS_STAFF, _("A credit for a collection we do not know."), **facts)
            return
        links = {"collection": collection, "batch": collection.batch, "invoice": collection.invoice}
        if collection.status == CollectionStatus.SETTLED:
            self.line(Outcome.IGNORED, _("Settled already (an earlier file)."), **links, **facts)
            return
        if collection.status != CollectionStatus.SUBMITTED:
            self.line(
                Outcome.NEEDS_STAFF,
                _("A credit for collection %(id)s, which is %(status)s.")
                % {"id": collection.end_to_end_id, "status": collection.get_status_display()},
                **links,
                **facts,
            )
            return
        if amount is not None and amount != collection.amount:
            self.line(
                Outcome.NEEDS_STAFF,
                _("Credited %(amount)s for a collection of %(expected)s.")
                % {"amount": amount, "expected": collection.amount},
                **links,
                **facts,
            )
            return
        collection.status = CollectionStatus.SETTLED
        collection.save(update_fields=["status"])
        payment = receive_payment(
            subscriber_id=collection.invoice.subscriber_id,
            amount=collection.amount,
            method=PaidBy.SEPA_DIRECT_DEBIT,
            reference=collection.end_to_end_id,
            invoice_id=collection.invoice_id,
            booked_on=on,
            actor=self.actor,
        )
        self.batches[collection.batch_id] = max(on, self.batches.get(collection.batch_id, on))
        self.line(
            Outcome.SETTLED,
            _("Collection %(id)s settled: payment booked on %(day)s for invoice %(invoice)s.")
            % {"id": collection.end_to_end_id, "day": on.strftime("%d-%m-%Y"), "invoice": collection.invoice.number},
            payment=payment,
            **links,
            **facts,
        )

    def _returns(self, entry: iso20022.Entry, base: dict) -> None:
        on = entry.booking_date or self.today
        transactions = [tx for tx in entry.transactions if tx.end_to_end_id or tx.return_reason_code]
        if not transactions and entry.family[1] != "IDDT":
            self.line(
                Outcome.IGNORED,
                _("A debit that is not a returned collection (bank charges, a payment of ours)."),
                amount=entry.amount,
                bank_reference=entry.bank_reference,
                **base,
            )
            return
        if not transactions:
            self.line(
                Outcome.NEEDS_STAFF,
                _("A returned collection without its details: finance checks it."),
                amount=entry.amount,
                bank_reference=entry.bank_reference,
                **base,
            )
            return
        for tx in transactions:
            facts = {
                **base,
                "line": tx.line,
                "end_to_end_id": tx.end_to_end_id,
                "amount": tx.amount if tx.amount is not None else entry.amount,
                "reason_code": tx.return_reason_code,
                "bank_reference": tx.bank_reference or entry.bank_reference,
                "counterparty_name": tx.counterparty_name[:140],
                "counterparty_iban": tx.counterparty_iban[:34],
            }
            self._failed(self._collection(tx.end_to_end_id), tx.return_reason_code, on, facts)

    # --- a rejected, returned or refunded collection, and its policy -----------------------------

    def _failed(self, collection, code: str, on: date, facts: dict) -> None:
        if collection is None:
            self.line(Outcome.NEEDS_STAFF, _("A reject or return for a collection we do not know."), **facts)
            return
        links = {"collection": collection, "batch": collection.batch, "invoice": collection.invoice}
        if collection.status in _FAILED:
            self.line(
                Outcome.IGNORED,
                _("Collection %(id)s is %(status)s already (an earlier file).")
                % {"id": collection.end_to_end_id, "status": collection.get_status_display()},
                **links,
                **facts,
            )
            return
        payment = None
        if collection.status == CollectionStatus.SETTLED:
            # An R-transaction after settlement: the payment no longer stands and the invoice re-opens.
            collection.status = CollectionStatus.RETURNED
            payment = Payment.objects.filter(provider_reference=collection.end_to_end_id).first()
            if payment is not None:
                reverse_payment(
                    collection.end_to_end_id,
                    reason_code=code[:4],
                    on=on,
                    actor=self.actor,
                    reason=_("returned by the bank (%(code)s)") % {"code": code},
                )
            outcome, what = (
                Outcome.RETURNED,
                _("Returned (%(code)s): payment reversed, invoice %(invoice)s open again."),
            )
        else:
            collection.status = CollectionStatus.REJECTED
            outcome, what = (
                Outcome.REJECTED,
                _("Rejected before settlement (%(code)s): invoice %(invoice)s stays open."),
            )
            self.batches.setdefault(collection.batch_id, on)
        collection.reason_code = code[:4]
        collection.save(update_fields=["status", "reason_code"])
        detail = what % {"code": code or "—", "invoice": collection.invoice.number}
        action = rules.return_action(code, self.policies, DEFAULT_ACTION)
        if not code:
            action = ReturnAction.ASK_STAFF
        followed, needs_staff = self._follow_policy(action, collection, code, on)
        self.line(
            Outcome.NEEDS_STAFF if needs_staff else outcome,
            f"{detail} {followed}",
            policy=action,
            payment=payment,
            **links,
            **facts,
        )

    def _follow_policy(self, action: str, collection: DirectDebitCollection, code: str, on: date) -> tuple[str, bool]:
        """Apply the reason code's policy; what was done, and whether staff must look."""
        from billing import tasks

        if action == ReturnAction.RECOLLECT_ONCE:
            earlier = (
                DirectDebitCollection.objects.filter(
                    invoice=collection.invoice_id, reason_code=code, status__in=_FAILED
                )
                .exclude(pk=collection.pk)
                .count()
            )
            if refusal := rules.recollection_refusal(earlier_insufficient_funds=earlier):
                _after_commit(tasks.send_collection_stopped_email, collection.pk, False)
                record(self.actor, "stop_collecting", collection.invoice, rule=refusal.rule, reason_code=code)
                return _("Not collected again (%(rule)s): the subscriber is asked to pay.") % {
                    "rule": refusal.rule
                }, False
            again = self._recollect(collection)
            if again is None:
                _after_commit(tasks.send_collection_stopped_email, collection.pk, False)
                return _("Could not be collected again (paid meanwhile, or no active mandate)."), False
            _after_commit(tasks.send_recollection_email, again.pk)
            return _("Collected once more on %(day)s as %(id)s; new pre-notification sent.") % {
                "day": again.batch.collection_date.strftime("%d-%m-%Y"),
                "id": again.end_to_end_id,
            }, False
        if action == ReturnAction.STOP_MANDATE:
            mandate = collection.mandate
            mandate.refresh_from_db()
            if mandate.status == MandateStatus.ACTIVE:
                perform(mandate, "revoke")
                mandate.save(update_fields=["status", "ended_on"])
                record(
                    self.actor,
                    "revoke",
                    mandate,
                    rule="PAY-1",
                    reason=_("the bank returned a collection with %(code)s") % {"code": code},
                    reason_code=code,
                )
            _after_commit(tasks.send_collection_stopped_email, collection.pk, True)
            return _("Mandate %(mandate)s revoked; the subscriber is asked to pay or give a new mandate.") % {
                "mandate": mandate.reference
            }, False
        if action == ReturnAction.REFUND_RIGHT:
            collection.refund_claimed_on = on
            collection.save(update_fields=["refund_claimed_on"])
            record(self.actor, "refund_right_used", collection.invoice, rule="PAY-1", reason_code=code, on=str(on))
            return _("The debtor used the refund right (8 weeks); recorded on the collection."), False
        record(self.actor, "ask_staff", collection.invoice, rule="PAY-1", reason_code=code)
        return _("Reason code %(code)s has no policy: not collected again, staff decide.") % {"code": code or "—"}, True

    def _recollect(self, failed: DirectDebitCollection) -> DirectDebitCollection | None:
        """One new collection of what is still open on the invoice, on a date the new pre-notification
        can announce in time (PAY-8: at least the pre-notification period ahead; a TARGET2 business day)."""
        invoice = selectors.with_amount_open(Invoice.objects.filter(pk=failed.invoice_id)).get()
        mandate = failed.mandate
        mandate.refresh_from_db()
        if invoice.status != InvoiceStatus.OPEN or invoice.amount_open <= 0 or mandate.status != MandateStatus.ACTIVE:
            return None
        notice = timedelta(days=settings.FLEX["INVOICE_LEAD_DAYS"])
        day = next_target_day(max(self.today + notice, earliest_collection_date(self.today)))
        day = _collection_date_open(day)
        batch = _locked_batch(day, clock.now())
        # A FRST that never settled is tried as a FRST again; after a settled one, RCUR (EPC130-08).
        sequence = (
            SequenceType.FIRST
            if failed.sequence_type == SequenceType.FIRST and failed.status == CollectionStatus.REJECTED
            else SequenceType.RECURRING
        )
        try:
            with transaction.atomic():
                again = DirectDebitCollection.objects.create(
                    batch=batch,
                    invoice=invoice,
                    mandate=mandate,
                    amount=invoice.amount_open,
                    sequence_type=sequence,
                    end_to_end_id=f"{invoice.number}-{day:%y%m%d}",
                )
        except IntegrityError:
            return None  # the invoice is in a live collection already
        record(self.actor, "recollect", invoice, rule="PAY-1", collection_date=str(day), amount=str(again.amount))
        return again

    def _close_batch(self, batch_id: int, on: date) -> None:
        """A submitted batch whose collections all have their outcome is settled (every one credited),
        partly settled (some rejected or returned) or rejected (none credited)."""
        batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.SUBMITTED:
            return
        statuses = set(batch.collections.values_list("status", flat=True).distinct())
        if statuses & {CollectionStatus.PENDING, CollectionStatus.SUBMITTED}:
            return
        if statuses == {CollectionStatus.SETTLED}:
            name = "settle"
        elif CollectionStatus.SETTLED in statuses or CollectionStatus.RETURNED in statuses:
            name = "settle_partly"
        else:
            name = "reject"
        perform(batch, name, *([on] if name != "reject" else []))
        batch.save(update_fields=["status", "settled_on"])
        record(self.actor, name, batch, rule="PAY-1", on=str(on))

    # --- incoming transfers ----------------------------------------------------------------------

    def _transfers(self, entry: iso20022.Entry, base: dict) -> None:
        transactions = entry.transactions or [
            iso20022.EntryTransaction(entry.line, "", entry.amount, entry.bank_reference, "", "", "", "", "")
        ]
        for index, tx in enumerate(transactions):
            amount = tx.amount if tx.amount is not None else (entry.amount if len(transactions) == 1 else None)
            reference = tx.bank_reference or (
                entry.bank_reference if len(transactions) == 1 else f"{entry.bank_reference}-{index + 1}"
            )
            if not reference.strip("-"):
                # No reference from the bank: the booking's own facts make one (the same report twice is the same).
                reference = hashlib.sha256(
                    f"{entry.booking_date}|{amount}|{tx.counterparty_iban}|{tx.remittance}".encode()
                ).hexdigest()[:24]
            facts = {
                **base,
                "line": tx.line,
                "amount": amount,
                "bank_reference": reference[:100],
                "counterparty_name": tx.counterparty_name[:140],
                "counterparty_iban": tx.counterparty_iban[:34],
                "remittance_info": " / ".join(part for part in (tx.structured_reference, tx.remittance) if part)[:300],
                "end_to_end_id": "" if tx.end_to_end_id == "NOTPROVIDED" else tx.end_to_end_id,
            }
            self._transfer(f"bank:{reference}"[:100], amount, entry.booking_date or self.today, tx, facts)

    def _transfer(self, reference: str, amount, on: date, tx: iso20022.EntryTransaction, facts: dict) -> None:
        earlier = (
            BankFileEntry.objects.filter(transfer_reference=reference)
            .exclude(outcome=Outcome.IGNORED)
            .select_related("bank_file")
            .first()
        )
        if earlier is not None:
            self.line(
                Outcome.IGNORED,
                _("This transfer was in %(file)s already (line %(line)d).")
                % {"file": earlier.bank_file, "line": earlier.line},
                **facts,
            )
            return
        if amount is None or amount <= 0:
            self.line(Outcome.NEEDS_STAFF, _("A credit without an amount per transaction."), **facts)
            return
        numbers = invoice_numbers_in(tx.structured_reference, tx.remittance)
        invoices = list(Invoice.objects.filter(number__in=numbers).only("pk", "number", "subscriber_id", "status"))
        subscribers = {invoice.subscriber_id for invoice in invoices}
        if len(subscribers) != 1:
            why = (
                _("No invoice number of ours in the remittance information.")
                if not invoices
                else _("Invoice numbers of different subscribers: %(numbers)s.") % {"numbers": ", ".join(numbers)}
            )
            self.line(Outcome.UNMATCHED, why, transfer_reference=reference, **facts)
            return
        invoices.sort(key=lambda invoice: (invoice.status != InvoiceStatus.OPEN, numbers.index(invoice.number)))
        invoice = invoices[0]
        payment = receive_payment(
            subscriber_id=invoice.subscriber_id,
            amount=amount,
            method=PaidBy.BANK_TRANSFER,
            reference=reference,
            invoice_id=invoice.pk,
            booked_on=on,
            actor=self.actor,
        )
        self.line(
            Outcome.MATCHED,
            _("Matched to invoice %(number)s on its number; payment booked.") % {"number": invoice.number},
            transfer_reference=reference,
            payment=payment,
            invoice=invoice,
            **facts,
        )


# --- the finance queue -------------------------------------------------------------------------------


def _queued(entry_id: int, actor: Actor) -> BankFileEntry:
    user = getattr(actor, "user", None)
    if user is None or not user.has_perm("billing.resolve_bankfileentry"):
        raise PermissionDenied(f"{actor} may not resolve unmatched transfers")
    entry = BankFileEntry.objects.select_for_update().get(pk=entry_id)
    if entry.outcome != Outcome.UNMATCHED:
        raise _refused(
            _("Line %(line)s is not waiting in the queue (%(outcome)s).")
            % {"line": entry, "outcome": entry.get_outcome_display()},
            field="outcome",
        )
    return entry


def assign_transfer(
    entry_id: int, *, actor: Actor, invoice_number: str = "", subscriber_id: int | None = None, reason: str = ""
) -> BankFileEntry:
    """Finance assigns an unmatched incoming transfer to an invoice (or to a subscriber, whose oldest
    open invoices it then pays): booked with `receive_payment` (PAY-1, PAY-2), audited."""
    with transaction.atomic(), history_context(actor, "assign_transfer", reason):
        entry = _queued(entry_id, actor)
        invoice = None
        if invoice_number:
            numbers = invoice_numbers_in(invoice_number)
            invoice = Invoice.objects.filter(number__in=numbers[:1] or [invoice_number.strip().upper()]).first()
            if invoice is None:
                raise _refused(_("No invoice %(number)s.") % {"number": invoice_number}, field="invoice_number")
            subscriber_id = invoice.subscriber_id
        if subscriber_id is None:
            raise _refused(
                _("Name the invoice number or the subscriber number to assign it to."), field="invoice_number"
            )
        from accounts.models import Subscriber

        if not Subscriber.objects.filter(pk=subscriber_id).exists():
            raise _refused(_("No subscriber %(id)s.") % {"id": subscriber_id}, field="subscriber")
        payment = receive_payment(
            subscriber_id=subscriber_id,
            amount=entry.amount,
            method=PaidBy.BANK_TRANSFER,
            reference=entry.transfer_reference,
            invoice_id=invoice.pk if invoice else None,
            booked_on=entry.booking_date,
            actor=actor,
        )
        entry.outcome, entry.payment, entry.invoice = Outcome.ASSIGNED, payment, invoice
        entry.resolved_by, entry.resolved_at = actor.label[:200], clock.now()
        entry.detail = (
            _("Assigned by finance to invoice %(number)s.") % {"number": invoice.number}
            if invoice
            else _("Assigned by finance to subscriber %(id)s.") % {"id": subscriber_id}
        )
        entry.save()
        record(actor, "assign_transfer", entry, rule="PAY-1", reason=reason, payment=payment.provider_reference)
    return entry


def mark_transfer_to_refund(entry_id: int, *, actor: Actor, reason: str = "") -> BankFileEntry:
    """Finance decides an unmatched transfer goes back to the payer (PAY-1): the decision is recorded
    and audited; the refund itself is paid out by the refunds' own flow."""
    with transaction.atomic(), history_context(actor, "mark_transfer_to_refund", reason):
        entry = _queued(entry_id, actor)
        entry.outcome, entry.resolved_by, entry.resolved_at = Outcome.TO_REFUND, actor.label[:200], clock.now()
        entry.detail = _("Finance decided: refund to the payer.") + (f" {reason}" if reason else "")
        entry.save()
        record(actor, "mark_transfer_to_refund", entry, rule="PAY-1", reason=reason)
    return entry


# --- the daily job -----------------------------------------------------------------------------------

# Status reports first, then notifications, then the day statement: a reject is known before the credit.
_ORDER = {iso20022.PAIN002: 0, iso20022.CAMT054: 1, iso20022.CAMT053: 2}


def fetch_bank_files(*, actor: Actor) -> list[ImportResult]:
    """Daily: the bank's new report files, fetched through the bank adapter and imported (PAY-1). A file
    imported before is a no-op; a refused file is logged and the others still go in."""
    the_bank = bank()
    files = the_bank.report_files()
    files.sort(key=lambda f: (f.day, _ORDER.get(f.kind, 9), f.name))
    results = []
    for report_file in files:
        try:
            result = import_bank_file(
                report_file.content, file_name=report_file.name, actor=actor, source=BankFileSource.BANK
            )
        except Refused as refused:
            log.error("bank file %s refused: %s", report_file.name, refused.refusal)
            continue
        results.append(result)
        the_bank.acknowledge(report_file)
    return results
