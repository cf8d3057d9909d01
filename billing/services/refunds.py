"""Refunds (PAY-1, TERM-1, TERM-4, WD-2): money goes back by the route it came in (WD-2, terms art.
10.3: "through the original payment method"): the payment provider's refund for a card or iDEAL
payment, a SEPA credit transfer (pain.001 file to our bank) for a direct debit or a bank transfer.

- `refund` returns part or all of one payment: never more than is refundable on it (what no standing
  invoice holds of it, less what is refunded or on its way); the same refund asked twice (same key)
  is one refund. What it takes of the payment's credit is taken at once, under the subscriber's lock
  every allocation takes, so the credit is not also used by an invoice.
- `refund_credit_balance` pays a subscriber's credit balance (`Payment.unallocated`) back, payment by
  payment.
- Provider refunds go out at once with the refund's key as the provider's idempotency key; a provider
  that does not answer leaves the refund requested, and sending again sends it once.
- Credit transfers wait for the daily job (`pay_out_credit_transfers`), which writes the day's
  pain.001.001.03 file, checks it (EPC character set, lengths, XSD) and hands it to the bank; finance
  records the bank's execution (`complete_credit_transfer_batch`) or a returned transfer (`fail_refund`).

A payment whose completed refunds add up to its amount is marked refunded (as the prepayment refund
always did); a failed refund gives back what it took of the credit.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from accounts.models import Subscriber
from accounts.services import disclose_to
from billing.adapters.bank import bank
from billing.credit_transfer import pain001
from billing.direct_debit import epc
from billing.direct_debit.calendar import add_target_days, next_target_day
from billing.models import (
    LIVE_REFUND_STATUSES,
    CreditTransferBatch,
    DirectDebitCollection,
    InvoiceStatus,
    Mandate,
    PaidBy,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Refund,
    RefundRoute,
    RefundStatus,
    TransferBatchStatus,
)
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.money import ZERO, to_money
from flex.partners import PartnerRejected, PartnerTimeout
from flex.refusals import Refusal, Refused

log = logging.getLogger(__name__)

__all__ = [
    "complete_credit_transfer_batch",
    "fail_refund",
    "pay_out_credit_transfers",
    "refund",
    "refund_credit_balance",
    "refundable",
    "send_refund",
    "send_requested_refunds",
]

PROVIDER_METHODS = (PaidBy.CARD, PaidBy.IDEAL)
REMITTANCE = "Flex terugbetaling/refund {reference}"


def _lock_account(subscriber_id: int) -> None:
    """The per-subscriber lock every allocation takes (billing.services.payments)."""
    Subscriber.objects.select_for_update().filter(pk=subscriber_id).values_list("pk", flat=True).get()


def refundable(payment: Payment) -> Decimal:
    """What can still be paid back of `payment`: its amount, less what invoices that still stand hold
    of it (a credited invoice holds nothing: its credit note gave it back), less the refunds that are
    requested, sent or completed. Nothing of a reversed or refunded payment."""
    if payment.status != PaymentStatus.RECEIVED:
        return ZERO
    held = PaymentAllocation.objects.filter(payment=payment).exclude(invoice__status=InvoiceStatus.CREDITED)
    refunded = Refund.objects.filter(payment=payment, status__in=LIVE_REFUND_STATUSES)
    return (
        payment.amount
        - (held.aggregate(total=Sum("amount"))["total"] or ZERO)
        - (refunded.aggregate(total=Sum("amount"))["total"] or ZERO)
    )


def _account_of(payment: Payment) -> tuple[str, str]:
    """The account a direct debit or transfer came from (name, IBAN): the mandate it was collected on,
    else the subscriber's latest mandate."""
    collection = (
        DirectDebitCollection.objects.filter(end_to_end_id=payment.provider_reference).select_related("mandate").first()
    )
    mandate = (
        collection.mandate
        if collection
        else Mandate.objects.filter(subscriber_id=payment.subscriber_id).order_by("-signed_at", "-id").first()
    )
    return (mandate.account_holder, mandate.iban) if mandate else ("", "")


def _refusal(rule: str, field: str, message: str) -> Refused:
    return Refused(Refusal(rule=rule, field=field, message=message))


def refund(
    payment_id: int,
    amount: Decimal,
    *,
    reason: str,
    rule: str,
    actor: Actor,
    key: str = "",
    iban: str = "",
    account_holder: str = "",
) -> Refund:
    """Pay `amount` of payment `payment_id` back to the subscriber by the route it came in, for
    `reason` under `rule` (TERM-1, TERM-4, WD-2, PAY-1). Refused naming the field: an amount that is
    not positive or more than is refundable on the payment (PAY-1: never more than was paid), no
    reason, no account to transfer to. Idempotent: the same `key` (by default: payment, rule, amount
    and reason) returns the refund made the first time. A provider refund is sent at once; a
    `PartnerTimeout` leaves it requested (recorded) for a retry or the daily job to send once."""
    amount = to_money(amount)
    if amount <= 0:
        raise _refusal("PAY-1", "amount", _("A refund must be a positive amount."))
    if not reason.strip():
        raise _refusal(rule or "PAY-1", "reason", _("Say why the money is refunded."))
    if not rule.strip():
        raise _refusal("PAY-1", "rule", _("Name the rule the refund is made under."))
    digest = hashlib.sha256(f"{rule}|{amount}|{reason}".encode()).hexdigest()[:16]
    key = key or f"p{payment_id}-{digest}"
    existing = Refund.objects.filter(key=key).first()
    if existing is None:
        existing = _request(
            payment_id, amount, reason=reason, rule=rule, actor=actor, key=key, iban=iban, holder=account_holder
        )
    if existing.route == RefundRoute.PROVIDER and existing.status == RefundStatus.REQUESTED:
        send_refund(existing.pk, actor=actor)
        existing.refresh_from_db()
    return existing


def _request(payment_id, amount, *, reason, rule, actor, key, iban, holder) -> Refund:
    now = clock.now()
    subscriber_id = Payment.objects.values_list("subscriber_id", flat=True).filter(pk=payment_id).first()
    if subscriber_id is None:
        raise _refusal(rule, "payment", _("No payment %(payment)s.") % {"payment": payment_id})
    with transaction.atomic(), history_context(actor, "refund", reason):
        _lock_account(subscriber_id)
        existing = Refund.objects.filter(key=key).first()  # under the lock: a second caller finds the first's
        if existing is not None:
            return existing
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        available = refundable(payment)
        if amount > available:
            raise _refusal(
                "PAY-1",
                "amount",
                _("At most %(available)s of payment %(reference)s can be refunded; %(amount)s was asked.")
                % {"available": available, "reference": payment.provider_reference, "amount": amount},
            )
        route = RefundRoute.PROVIDER if payment.method in PROVIDER_METHODS else RefundRoute.CREDIT_TRANSFER
        name = account = ""
        if route == RefundRoute.CREDIT_TRANSFER:
            name, account = (holder, iban.replace(" ", "").upper()) if iban else _account_of(payment)
            if not account:
                raise _refusal(
                    rule,
                    "iban",
                    _("No bank account is known to transfer the refund of %(reference)s to; give one.")
                    % {"reference": payment.provider_reference},
                )
            try:
                epc.iban(account, field="iban")
            except epc.FieldInvalid as invalid:
                raise _refusal(rule, "iban", invalid.message) from invalid
            name = name or payment.subscriber.display_name
        from_credit = min(amount, payment.unallocated)
        if from_credit:
            Payment.objects.filter(pk=payment.pk).update(unallocated=F("unallocated") - from_credit)
        created = Refund.objects.create(
            payment=payment,
            subscriber_id=subscriber_id,
            amount=amount,
            from_credit=from_credit,
            reason=reason[:200],
            rule=rule,
            route=route,
            key=key,
            creditor_name=name[:200],
            creditor_iban=account,
            requested_by=actor.label[:200],
            requested_at=now,
        )
        if route == RefundRoute.CREDIT_TRANSFER:
            created.external_reference = f"FLEX-RF-{created.pk}"  # the transfer's end-to-end id
            created.save(update_fields=["external_reference"])
        record(
            actor,
            "refund_requested",
            created,
            rule=rule,
            reason=reason,
            payment=payment.provider_reference,
            amount=str(amount),
            route=route,
            from_credit=str(from_credit),
        )
    return created


def _payment_refunded_if_complete(payment_id: int, reference: str) -> None:
    completed = Refund.objects.filter(payment_id=payment_id, status=RefundStatus.COMPLETED).aggregate(
        total=Sum("amount")
    )["total"]
    Payment.objects.filter(pk=payment_id, status=PaymentStatus.RECEIVED, amount__lte=completed or ZERO).update(
        status=PaymentStatus.REFUNDED, refund_reference=reference
    )


def send_refund(refund_id: int, *, actor: Actor) -> Refund:
    """Send a requested provider refund (its key is the provider's idempotency key: sending twice
    refunds once). The provider accepting it completes it; refusing it fails it (the credit it took
    comes back). `PartnerTimeout` propagates, the refund stays requested."""
    from billing.adapters.payments import payment_provider

    item = Refund.objects.select_related("payment", "subscriber").get(pk=refund_id)
    if item.route != RefundRoute.PROVIDER or item.status != RefundStatus.REQUESTED:
        return item
    provider = disclose_to(
        payment_provider(),
        subscriber=item.subscriber,
        purpose="pay a payment back through the provider it was made with (terms art. 10.3)",
        reference=item.payment.provider_reference,
    )
    try:
        refund_id_at_provider = provider.refund(item.payment.provider_reference, item.amount, idempotency_key=item.key)
    except PartnerRejected as rejected:
        return fail_refund(item.pk, reason=str(rejected)[:200], actor=actor)
    now = clock.now()
    with transaction.atomic(), history_context(actor, "refund_sent"):
        updated = Refund.objects.filter(pk=item.pk, status=RefundStatus.REQUESTED).update(
            status=RefundStatus.COMPLETED, external_reference=refund_id_at_provider, sent_at=now, completed_at=now
        )
        if updated:
            _payment_refunded_if_complete(item.payment_id, refund_id_at_provider)
            record(
                actor,
                "refund_payment",
                item.payment,
                rule=item.rule,
                refund=refund_id_at_provider,
                amount=str(item.amount),
                reason=item.reason,
            )
    item.refresh_from_db()
    return item


def fail_refund(refund_id: int, *, reason: str, actor: Actor) -> Refund:
    """A refund that did not reach the subscriber (the provider refused it, the bank returned the
    transfer): failed, and what it took of the payment's credit is credit again. Once."""
    now = clock.now()
    item = Refund.objects.get(pk=refund_id)
    with transaction.atomic(), history_context(actor, "fail_refund", reason):
        _lock_account(item.subscriber_id)
        item = Refund.objects.select_for_update().get(pk=refund_id)
        if item.status == RefundStatus.FAILED:
            return item
        was = item.status
        item.status, item.failed_at, item.failure_reason = RefundStatus.FAILED, now, reason[:200]
        item.save(update_fields=["status", "failed_at", "failure_reason"])
        if item.from_credit:
            Payment.objects.filter(pk=item.payment_id).update(unallocated=F("unallocated") + item.from_credit)
        if was == RefundStatus.COMPLETED:
            Payment.objects.filter(pk=item.payment_id, status=PaymentStatus.REFUNDED).update(
                status=PaymentStatus.RECEIVED
            )
        record(actor, "refund_failed", item, rule=item.rule, reason=reason, amount=str(item.amount))
    return item


def refund_credit_balance(subscriber_id: int, *, reason: str, rule: str = "PAY-1", actor: Actor) -> list[Refund]:
    """Pay the subscriber's credit balance (what no invoice has taken of their payments) back, each
    payment's part by the route it came in. Nothing when there is no credit (so twice is once)."""
    refunds = []
    payments = Payment.objects.filter(
        subscriber_id=subscriber_id, status=PaymentStatus.RECEIVED, unallocated__gt=0
    ).order_by("received_at", "pk")
    for payment in payments:
        refunds.append(refund(payment.pk, payment.unallocated, reason=reason, rule=rule, actor=actor))
    return refunds


def send_requested_refunds(*, actor: Actor) -> int:
    """Daily: provider refunds left requested (the provider did not answer) are sent again, once."""
    sent = 0
    waiting = Refund.objects.filter(route=RefundRoute.PROVIDER, status=RefundStatus.REQUESTED).values_list(
        "pk", flat=True
    )
    for refund_id in list(waiting):
        try:
            send_refund(refund_id, actor=actor)
            sent += 1
        except PartnerTimeout as timeout:
            log.warning("refund %s: provider did not answer (%s); tried again tomorrow", refund_id, timeout)
    return sent


# --- credit transfers (pain.001) -------------------------------------------------------------------


def _execution_date_open(day):
    closed = set(
        CreditTransferBatch.objects.filter(execution_date__gte=day)
        .exclude(status=TransferBatchStatus.CREATED)
        .values_list("execution_date", flat=True)
    )
    while day in closed:
        day = add_target_days(day, 1)
    return day


def _debtor() -> pain001.Debtor:
    account = settings.FLEX_CREDITOR  # the account the collections come in on pays the refunds back
    return pain001.Debtor(account["name"], account["iban"], account["bic"])


def pay_out_credit_transfers(*, actor: Actor) -> CreditTransferBatch | None:
    """The daily job: the requested credit-transfer refunds go into the batch of the next TARGET2
    business day, whose pain.001.001.03 file is written, checked (EPC132-08 character set and lengths,
    the ISO XSD) and stored, then handed to the bank; the refunds are sent. A value that cannot go
    into a SEPA file is refused naming the field and the refund, and nothing is written. Safe to run
    twice: refunds are taken under row locks (skip locked) and a batch gone to the bank takes no more."""
    now = clock.now()
    execution_date = _execution_date_open(next_target_day(clock.today()))
    with transaction.atomic(), history_context(actor, "pay_out_credit_transfers"):
        waiting = (
            Refund.objects.filter(
                route=RefundRoute.CREDIT_TRANSFER, status=RefundStatus.REQUESTED, batch__isnull=True
            ).exists()
            or CreditTransferBatch.objects.filter(
                execution_date=execution_date, status=TransferBatchStatus.CREATED
            ).exists()
        )
        if not waiting:
            return None
        batch, _created = CreditTransferBatch.objects.get_or_create(
            execution_date=execution_date,
            defaults={"message_id": f"FLEX-CT-{execution_date:%Y%m%d}", "created_at": now},
        )
        batch = CreditTransferBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != TransferBatchStatus.CREATED:
            return batch
        taken = list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(route=RefundRoute.CREDIT_TRANSFER, status=RefundStatus.REQUESTED, batch__isnull=True)
            .values_list("pk", flat=True)
        )
        Refund.objects.filter(pk__in=taken).update(batch=batch)
        refunds = batch.refunds.filter(status=RefundStatus.REQUESTED)
        count, control_sum = refunds.count(), refunds.aggregate(total=Sum("amount"))["total"] or ZERO
        if not count:
            return None
        transfers = (
            pain001.Transfer(e2e, amount, name, iban, REMITTANCE.format(reference=reference))
            for e2e, amount, name, iban, reference in refunds.order_by("pk")
            .values_list(
                "external_reference", "amount", "creditor_name", "creditor_iban", "payment__provider_reference"
            )
            .iterator(chunk_size=2000)
        )
        with tempfile.TemporaryDirectory(prefix="flex-ct-") as folder:
            path = Path(folder) / f"{batch.message_id}.xml"
            try:
                written = pain001.write(
                    path,
                    message_id=batch.message_id,
                    created_at=now,
                    execution_date=execution_date,
                    debtor=_debtor(),
                    count=count,
                    control_sum=control_sum,
                    transfers=transfers,
                )
                pain001.validate(path)
            except epc.FieldInvalid as invalid:
                raise Refused(
                    Refusal(rule="PAY-1", field=invalid.field, message=f"{invalid.message} ({invalid.rule})")
                ) from invalid
            except (pain001.FileInvalid, pain001.CountMismatchError) as invalid:
                raise Refused(Refusal(rule="PAY-1", field="file", message=str(invalid))) from invalid
            finally:
                transfers.close()
            with open(path, "rb") as stream:
                stored = default_storage.save(f"credit-transfer/{batch.message_id}.xml", File(stream))
        old_name = batch.file.name
        if old_name and old_name != stored:
            transaction.on_commit(lambda: default_storage.delete(old_name))
        batch.file.name, batch.file_sha256, batch.file_size = stored, written.sha256, written.size
        batch.transaction_count, batch.control_sum = written.count, written.control_sum
        the_bank = disclose_to(
            bank(),
            subscriber=None,
            purpose="pay refunds back to subscribers' accounts (terms art. 10.3)",
            reference=batch.message_id,
        )
        with batch.file.open("rb") as stream:
            submission = the_bank.submit(
                message_id=batch.message_id, stream=stream, sha256=batch.file_sha256, collection_date=execution_date
            )
        batch.status, batch.submitted_at, batch.bank_reference = (
            TransferBatchStatus.SUBMITTED,
            now,
            submission.reference,
        )
        batch.save()
        refunds.update(status=RefundStatus.SENT, sent_at=now)
        record(
            actor,
            "pay_out_credit_transfers",
            batch,
            rule="PAY-1",
            version=pain001.VERSION,
            count=written.count,
            control_sum=str(written.control_sum),
            sha256=written.sha256,
            bank_reference=submission.reference,
        )
    return batch


def complete_credit_transfer_batch(batch_id: int, *, actor: Actor, reason: str = "") -> CreditTransferBatch:
    """The bank executed the batch (its statement shows the debit): its sent refunds are completed,
    and a payment paid back in full is marked refunded. Once."""
    now = clock.now()
    with transaction.atomic(), history_context(actor, "complete_credit_transfer_batch", reason):
        batch = CreditTransferBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != TransferBatchStatus.SUBMITTED:
            raise Refused(
                Refusal(
                    rule="PAY-1",
                    field="status",
                    message=_("Only a batch at the bank can be recorded as executed; %(batch)s is %(status)s.")
                    % {"batch": batch.message_id, "status": batch.get_status_display()},
                )
            )
        sent = list(
            batch.refunds.filter(status=RefundStatus.SENT).values_list("pk", "payment_id", "external_reference")
        )
        batch.refunds.filter(status=RefundStatus.SENT).update(status=RefundStatus.COMPLETED, completed_at=now)
        for _pk, payment_id, reference in sent:
            _payment_refunded_if_complete(payment_id, reference)
        batch.status = TransferBatchStatus.COMPLETED
        batch.save(update_fields=["status"])
        record(actor, "complete_credit_transfer_batch", batch, rule="PAY-1", reason=reason, count=len(sent))
    return batch
