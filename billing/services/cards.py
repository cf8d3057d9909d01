"""Card payers' monthly fees (PAY-1, PAY-2, PAY-8; terms art. 8.2): every day the open invoices of card
payers whose due date has come are charged to the card authorised at sign-up (the token the provider
left on the application's first payment), through the payment provider; the outcome arrives by
signed webhook (`record_provider_event`) and moves the charge's state forward only.

Once, whatever runs twice:
- requesting: one charge in flight per invoice (a partial unique index on requested charges) and
  attempt numbers unique per invoice; the requests are inserted ON CONFLICT DO NOTHING, a chunk at a
  time, so a job run twice or two workers at once request each invoice once;
- sending: a worker claims a charge by stamping `sent_at` (a conditional UPDATE: one worker wins) and
  asks the provider with the charge's idempotency key; a worker killed after the provider's answer
  and before our commit leaves the claim behind, and after `FLEX_CARD_CHARGES["claim_minutes"]` the
  next run asks the provider again with the same key, which answers with the same payment: never a
  second charge;
- a charge whose webhook never came is asked for by status after `status_after_minutes`;
- events: each provider event id is stored (unique) in the transaction that applies it.

Retry policy (`FLEX_CARD_CHARGES["retry_days"]`, data): a failed attempt is tried again after 3 days,
then after 7; when the last attempt fails the subscriber is e-mailed in their language to pay online
(the portal's pay button) or to update the card, and no more attempts are made. A chargeback re-opens
the invoice and is not charged again automatically: the subscriber is e-mailed to pay it.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.services import disclose_to
from billing import selectors
from billing.models import (
    CHARGE_STATUS_RANK,
    Application,
    CardCharge,
    ChargeStatus,
    Invoice,
    InvoiceStatus,
    PaidBy,
    Payment,
    PaymentMethod,
    ProviderEvent,
)
from billing.services.payments import receive_payment, reverse_payment
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.partners import PartnerRejected, PartnerTimeout
from flex.refusals import Refusal, Refused

log = logging.getLogger(__name__)

__all__ = [
    "CHARGEBACK_REASON_CODE",
    "charge_due_invoices",
    "record_provider_event",
    "retry_policy",
]

CHUNK = 1_000
# Payment.reason_code holds 4 characters (an ISO 20022 R-code for direct debits). Card chargebacks have
# no ISO code; this marks them, and the network's reason is kept on the charge and in the audit trail.
CHARGEBACK_REASON_CODE = "CHBK"
PROVIDER_STATUS = {
    "paid": ChargeStatus.SUCCEEDED,
    "failed": ChargeStatus.FAILED,
    "cancelled": ChargeStatus.FAILED,
    "expired": ChargeStatus.FAILED,
    "charged_back": ChargeStatus.CHARGED_BACK,
}


def retry_policy() -> tuple[list[int], int]:
    """The days to wait after each failed attempt, and the number of attempts in all (settings)."""
    days = list(settings.FLEX_CARD_CHARGES["retry_days"])
    return days, len(days) + 1


def next_attempt_on(attempt: int, failed_on: date) -> date | None:
    """When to try again after attempt `attempt` failed on `failed_on`; None: it was the last one."""
    days, _attempts = retry_policy()
    return failed_on + timedelta(days=days[attempt - 1]) if attempt <= len(days) else None


def _due_invoices(today: date):
    """Open invoices of card payers due by `today` with something open on them and a card on file,
    not being charged now, not charged back, not given up, and not waiting for their retry day."""
    charges = CardCharge.objects.filter(invoice=OuterRef("pk"))
    waiting = charges.filter(
        Q(status=ChargeStatus.REQUESTED)
        | Q(status=ChargeStatus.CHARGED_BACK)
        | Q(gave_up_at__isnull=False)
        | Q(status=ChargeStatus.FAILED, next_attempt_on__gt=today)
    )
    has_card = Application.objects.filter(subscription=OuterRef("subscription")).exclude(card_token="")
    return (
        selectors.with_amount_open(
            Invoice.objects.filter(
                status=InvoiceStatus.OPEN,
                due_date__lte=today,
                gross_total__gt=0,
                subscription__payment_method=PaymentMethod.CARD,
            )
            .filter(Exists(has_card))
            .exclude(Exists(waiting))
        )
        .filter(amount_open__gt=0)
        .annotate(attempts=Count("card_charges"))
        .order_by("pk")
    )


def _request_charges(today: date, now) -> int:
    """Insert a requested charge for every due invoice, a chunk at a time; the unique indexes make a
    second worker's or a second run's insert of the same invoice a no-op. How many were inserted."""
    requested, last_pk = 0, 0
    while True:
        rows = list(
            _due_invoices(today)
            .filter(pk__gt=last_pk)
            .values_list("pk", "number", "subscriber_id", "amount_open", "attempts")[:CHUNK]
        )
        if not rows:
            return requested
        last_pk = rows[-1][0]
        _days, most = retry_policy()
        charges = [
            CardCharge(
                invoice_id=pk,
                subscriber_id=subscriber_id,
                attempt=attempts + 1,
                amount=amount_open,
                idempotency_key=f"{number}-{attempts + 1}",
                requested_at=now,
            )
            for pk, number, subscriber_id, amount_open, attempts in rows
            if attempts < most
        ]
        with transaction.atomic():
            made = CardCharge.objects.bulk_create(charges, ignore_conflicts=True)
        requested += len(made)


def _token_of(charge: CardCharge) -> str:
    return (
        Application.objects.filter(subscription=charge.invoice.subscription_id)
        .values_list("card_token", flat=True)
        .first()
        or ""
    )


def _send(charge_id: int, *, actor: Actor) -> None:
    """Claim the charge and ask the provider to charge it (or, after a crash, ask again with the same
    idempotency key), then record the answer."""
    from billing.adapters.payments import payment_provider

    now = clock.now()
    stale = now - timedelta(minutes=settings.FLEX_CARD_CHARGES["claim_minutes"])
    charge = (
        CardCharge.objects.select_related("invoice", "subscriber")
        .filter(pk=charge_id, status=ChargeStatus.REQUESTED, provider_payment_id__isnull=True)
        .first()
    )
    if charge is None or (charge.sent_at is not None and charge.sent_at > stale):
        return  # decided already, or another worker is on it
    claim = CardCharge.objects.filter(pk=charge.pk, status=ChargeStatus.REQUESTED, provider_payment_id__isnull=True)
    claim = claim.filter(sent_at=charge.sent_at) if charge.sent_at else claim.filter(sent_at__isnull=True)
    if not claim.update(sent_at=now):
        return  # another worker claimed it a moment ago
    if charge.sent_at is None:
        # Never at the provider yet: if the invoice got paid meanwhile (online, a transfer), nothing to charge.
        open_now = selectors.with_amount_open(Invoice.objects.filter(pk=charge.invoice_id)).get().amount_open
        if open_now <= 0 or charge.invoice.status != InvoiceStatus.OPEN:
            _decide(charge.pk, ChargeStatus.CANCELLED, actor=actor, failure_code="nothing_to_charge")
            return
    provider = disclose_to(
        payment_provider(),
        subscriber=charge.subscriber,
        purpose="charge a monthly invoice to the card authorised at sign-up (terms art. 8.2)",
        reference=charge.invoice.number,
    )
    try:
        answer = provider.charge(
            _token_of(charge),
            charge.amount,
            charge.invoice.number,
            charge.idempotency_key,
            customer_name=charge.subscriber.display_name,
        )
    except PartnerTimeout:
        log.info("card charge %s: provider did not answer; asked again after the claim expires", charge)
        return
    except PartnerRejected as rejected:
        _decide(charge.pk, ChargeStatus.FAILED, actor=actor, failure_code="rejected", detail=str(rejected)[:200])
        return
    _apply(charge.pk, answer, actor=actor)


def _apply(charge_id: int, payment, *, actor: Actor) -> str:
    """Record what the provider says about the charge's payment: its id, and its outcome once known."""
    with transaction.atomic():
        charge = CardCharge.objects.select_for_update().get(pk=charge_id)
        if charge.provider_payment_id is None:
            charge.provider_payment_id = payment.payment_id
            charge.save(update_fields=["provider_payment_id"])
    target = PROVIDER_STATUS.get(payment.status)
    if target is None:
        return "pending"
    return _decide(
        charge_id,
        target,
        actor=actor,
        payment=payment,
        failure_code=payment.failure_code,
        chargeback_reason=payment.chargeback_reason,
    )


def _decide(
    charge_id: int,
    target: str,
    *,
    actor: Actor,
    payment=None,
    failure_code: str = "",
    chargeback_reason: str = "",
    detail: str = "",
) -> str:
    """Move the charge to `target` if that is forward (CHARGE_STATUS_RANK), with what follows: a
    success is a payment received (PAY-1), a failure schedules the retry or gives up (e-mail, PAY-8),
    a chargeback reverses the payment and re-opens the invoice (e-mail). What it did."""
    from billing.tasks import send_card_charge_stopped_email, send_card_chargeback_email

    now = clock.now()
    with transaction.atomic(), history_context(actor, "card_charge", detail):
        charge = CardCharge.objects.select_for_update().select_related("invoice").get(pk=charge_id)
        if CHARGE_STATUS_RANK[target] <= CHARGE_STATUS_RANK[charge.status]:
            return f"ignored: charge is {charge.status}"
        was = charge.status
        charge.status, charge.decided_at = target, now
        if payment is not None and payment.occurred_at:
            charge.provider_event_at = payment.occurred_at
        if target in (ChargeStatus.SUCCEEDED, ChargeStatus.CHARGED_BACK):
            charge.next_attempt_on = None
            if was != ChargeStatus.SUCCEEDED:
                # A chargeback we hear of before the success still received the money first.
                receive_payment(
                    subscriber_id=charge.subscriber_id,
                    amount=payment.amount,
                    method=PaidBy.CARD,
                    reference=charge.provider_payment_id,
                    invoice_id=charge.invoice_id,
                    actor=actor,
                )
        if target == ChargeStatus.CHARGED_BACK:
            charge.chargeback_reason = chargeback_reason[:100]
            reverse_payment(
                charge.provider_payment_id,
                reason_code=CHARGEBACK_REASON_CODE,
                on=now.date(),
                actor=actor,
                reason=f"card chargeback: {chargeback_reason or 'no reason given'}",
            )
            transaction.on_commit(lambda: send_card_chargeback_email.delay(charge.pk))
        if target in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
            charge.failure_code = (failure_code or "failed")[:40]
        if target == ChargeStatus.FAILED:
            charge.next_attempt_on = next_attempt_on(charge.attempt, now.date())
            if charge.next_attempt_on is None:
                charge.gave_up_at = now
                transaction.on_commit(lambda: send_card_charge_stopped_email.delay(charge.pk))
        charge.save()
        record(
            actor,
            f"card_charge_{target}",
            charge,
            rule="PAY-1",
            reason=detail,
            invoice=charge.invoice.number,
            attempt=charge.attempt,
            amount=str(charge.amount),
            failure_code=charge.failure_code,
            next_attempt_on=str(charge.next_attempt_on or ""),
            gave_up=charge.gave_up_at is not None,
        )
    return f"charge {charge.idempotency_key} {was} -> {target}"


def _ask_status_of_silent_charges(now, *, actor: Actor) -> int:
    """Charges at the provider whose webhook never came: ask for their status."""
    from billing.adapters.payments import payment_provider

    silent = now - timedelta(minutes=settings.FLEX_CARD_CHARGES["status_after_minutes"])
    asked = 0
    for charge_id, payment_id in CardCharge.objects.filter(
        status=ChargeStatus.REQUESTED, provider_payment_id__isnull=False, sent_at__lt=silent
    ).values_list("pk", "provider_payment_id"):
        try:
            _apply(charge_id, payment_provider().status(payment_id), actor=actor)
        except (PartnerTimeout, PartnerRejected) as error:
            log.warning("card charge %s: status unavailable (%s)", charge_id, error)
        asked += 1
    return asked


def charge_due_invoices(*, actor: Actor) -> dict[str, int]:
    """The daily job (PAY-1): request a charge for every card payer's open invoice whose due date (or
    retry day) has come, send the requested ones to the provider, and ask after silent ones. Safe to
    run twice, on two workers at once, and after a crash (see the module's docstring)."""
    today, now = clock.today(), clock.now()
    requested = _request_charges(today, now)
    stale = now - timedelta(minutes=settings.FLEX_CARD_CHARGES["claim_minutes"])
    to_send = list(
        CardCharge.objects.filter(status=ChargeStatus.REQUESTED, provider_payment_id__isnull=True)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=stale))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for charge_id in to_send:
        _send(charge_id, actor=actor)
    asked = _ask_status_of_silent_charges(now, actor=actor)
    return {"requested": requested, "sent": len(to_send), "asked": asked}


# --- the provider's webhook events ----------------------------------------------------------------


def _charge_for(payment) -> CardCharge | None:
    """The charge a provider payment belongs to: by the provider's id, or (its id not recorded yet,
    the webhook was quicker than our commit) the invoice's charge in flight."""
    charge = CardCharge.objects.filter(provider_payment_id=payment.payment_id).first()
    if charge is not None:
        return charge
    charge = CardCharge.objects.filter(
        invoice__number=payment.reference, status=ChargeStatus.REQUESTED, provider_payment_id__isnull=True
    ).first()
    if charge is not None:
        CardCharge.objects.filter(pk=charge.pk, provider_payment_id__isnull=True).update(
            provider_payment_id=payment.payment_id
        )
        charge.refresh_from_db()
    return charge


def _apply_checkout_event(payment, *, actor: Actor) -> str:
    """An event about a payment made at a checkout (the prepayment, an invoice paid online)."""
    from billing.services.applications.payments import record_provider_payment
    from billing.tasks import send_payment_chargeback_email

    if not payment.is_paid:
        return f"nothing to record: {payment.status}"
    recorded = record_provider_payment(payment, actor=actor)
    if payment.status != "charged_back":
        return f"payment {recorded.provider_reference} recorded"
    reopened = reverse_payment(
        payment.payment_id,
        reason_code=CHARGEBACK_REASON_CODE,
        on=clock.today(),
        actor=actor,
        reason=f"card chargeback: {payment.chargeback_reason or 'no reason given'}",
    )
    transaction.on_commit(lambda: send_payment_chargeback_email.delay(recorded.pk))
    return f"payment {recorded.provider_reference} charged back; re-opened {[i.number for i in reopened]}"


def record_provider_event(payment, *, actor: Actor) -> Payment | None:
    """A signed event from the payment provider (PAY-1): counted once by its id (stored, unique, in
    the transaction that applies it); out of order safe, since a charge's state only moves forward
    (a "failed" after "succeeded" changes nothing; a chargeback before the success still ends with
    the payment received and reversed). The payment it concerns, if we have one."""
    now = clock.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = ProviderEvent.objects.create(
                    event_id=payment.identity_of_event,
                    event_type=payment.kind_of_event,
                    payment_id=payment.payment_id,
                    occurred_at=payment.occurred_at,
                    received_at=now,
                )
        except IntegrityError:
            return Payment.objects.filter(provider_reference=payment.payment_id).first()  # counted already
        charge = _charge_for(payment)
        if charge is not None:
            if charge.invoice.number != payment.reference:
                raise Refused(
                    Refusal(
                        rule="PAY-1",
                        field="reference",
                        message=_("Payment %(payment)s is not for invoice %(number)s.")
                        % {"payment": payment.payment_id, "number": payment.reference},
                    )
                )
            outcome = _apply(charge.pk, payment, actor=actor)
        else:
            outcome = _apply_checkout_event(payment, actor=actor)
        ProviderEvent.objects.filter(pk=event.pk).update(outcome=outcome[:200])
    return Payment.objects.filter(provider_reference=payment.payment_id).first()
