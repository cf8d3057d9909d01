"""Money in, allocated to invoices (PAY-1, PAY-2): every route a payment arrives by (the provider's
webhook or status, a settled direct-debit collection, a bank transfer matched on its reference) ends
in `receive_payment`; a direct debit returned by the bank or a card chargeback ends in
`reverse_payment`.

Allocation, in this order: the invoice the payment was made for, then the subscriber's other open
invoices, oldest due date first, leaving out those a live direct-debit collection is already
collecting (they would be paid twice). What is left is the subscriber's credit balance
(`Payment.unallocated`), which `use_credit` puts on the next invoices.

Per subscriber, one allocation at a time: each use case locks the subscriber's row first, so two
payments arriving together never allocate the same open amount twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils.translation import gettext as _

from accounts.models import Subscriber
from billing import selectors
from billing.models import (
    CollectionStatus,
    DirectDebitCollection,
    Invoice,
    InvoiceStatus,
    PaidBy,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.money import ZERO, to_money
from flex.refusals import Refusal, Refused

__all__ = ["credit_balance", "receive_payment", "reverse_payment", "use_credit", "use_credit_balances"]


def _lock_account(subscriber_id: int) -> None:
    """The per-subscriber lock every allocation takes first (a row lock on the subscriber)."""
    Subscriber.objects.select_for_update().filter(pk=subscriber_id).values_list("pk", flat=True).get()


def _open_invoices(subscriber_id: int, *, first: int | None = None) -> list[Invoice]:
    """The subscriber's open invoices with what is still open on each, in allocation order: `first`
    (the invoice the payment is for), then by due date; invoices a live collection is taking are left
    out unless they are `first`."""
    being_collected = DirectDebitCollection.objects.filter(
        invoice=OuterRef("pk"), status__in=[CollectionStatus.PENDING, CollectionStatus.SUBMITTED]
    )
    invoices = (
        selectors.with_amount_open(
            Invoice.objects.filter(subscriber_id=subscriber_id, status=InvoiceStatus.OPEN, gross_total__gt=0)
        )
        .annotate(being_collected=Exists(being_collected))
        .filter(amount_open__gt=0)
        .filter(Q(being_collected=False) | Q(pk=first or 0))
        .order_by("due_date", "period_start", "number")
    )
    rows = list(invoices)
    rows.sort(key=lambda invoice: invoice.pk != first)  # stable: `first` leads, the rest by due date
    return rows


def _allocate(payment: Payment, available: Decimal, invoices: list[Invoice], now) -> Decimal:
    """Put up to `available` of `payment` on `invoices` in order; mark those now covered paid. What is
    left over."""
    allocations, paid = [], []
    for invoice in invoices:
        if available <= 0:
            break
        share = min(available, invoice.amount_open)
        allocations.append(PaymentAllocation(payment=payment, invoice=invoice, amount=share, allocated_at=now))
        available -= share
        if share == invoice.amount_open:
            paid.append(invoice.pk)
    PaymentAllocation.objects.bulk_create(allocations)
    if paid:
        Invoice.objects.filter(pk__in=paid, status=InvoiceStatus.OPEN).update(status=InvoiceStatus.PAID, paid_at=now)
    return available


def receive_payment(
    *,
    subscriber_id: int,
    amount: Decimal,
    method: str,
    reference: str,
    actor: Actor,
    invoice_id: int | None = None,
    booked_on: date | None = None,
    rule: str = "PAY-1",
) -> Payment:
    """Money received from the subscriber: recorded once per `reference` (a second report of the same
    payment returns the first), allocated to `invoice_id` first and then to the oldest open invoices;
    what is left becomes credit. Refused for an amount that is not positive."""
    amount = to_money(amount)
    if amount <= 0:
        raise Refused(Refusal(rule="PAY-1", field="amount", message=_("A payment must be a positive amount.")))
    if method not in PaidBy.values:
        raise Refused(Refusal(rule="PAY-1", field="method", message=_("Unknown payment method %s.") % method))
    existing = Payment.objects.filter(provider_reference=reference).first()
    if existing:
        return existing
    now = clock.now()
    try:
        with transaction.atomic(), history_context(actor, "receive_payment"):
            _lock_account(subscriber_id)
            payment = Payment.objects.create(
                subscriber_id=subscriber_id,
                invoice_id=invoice_id,
                amount=amount,
                method=method,
                provider_reference=reference,
                received_at=now,
                booked_on=booked_on or now.date(),
            )
            left = _allocate(payment, amount, _open_invoices(subscriber_id, first=invoice_id), now)
            if left:
                Payment.objects.filter(pk=payment.pk).update(unallocated=left)
                payment.unallocated = left
            record(
                actor,
                "receive_payment",
                payment,
                rule=rule,
                amount=str(amount),
                method=method,
                invoice=invoice_id,
                credit=str(left),
            )
    except IntegrityError:
        # The same payment reported twice at once: the other report won, and it counts once.
        return Payment.objects.get(provider_reference=reference)
    return payment


def reverse_payment(
    reference: str, *, reason_code: str, on: date, actor: Actor, rule: str = "PAY-1", reason: str = ""
) -> list[Invoice]:
    """A payment that no longer stands (a direct debit returned or refunded by the bank, a card
    chargeback): it stops counting, its credit with it, and each invoice it settled is open again for
    what it no longer covers. Once: reversing a reversed payment changes nothing. The invoices that
    re-opened."""
    with transaction.atomic(), history_context(actor, "reverse_payment", reason):
        payment = Payment.objects.filter(provider_reference=reference).first()
        if payment is None:
            raise Refused(
                Refusal(rule=rule, field="reference", message=_("No payment %(reference)s.") % {"reference": reference})
            )
        _lock_account(payment.subscriber_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.RECEIVED:
            return []
        payment.status, payment.reversed_on, payment.reason_code = PaymentStatus.REVERSED, on, reason_code
        payment.save(update_fields=["status", "reversed_on", "reason_code"])
        touched = payment.allocations.values("invoice")
        reopened = list(
            selectors.with_amount_open(Invoice.objects.filter(pk__in=touched, status=InvoiceStatus.PAID)).filter(
                amount_open__gt=0
            )
        )
        Invoice.objects.filter(pk__in=[invoice.pk for invoice in reopened]).update(
            status=InvoiceStatus.OPEN, paid_at=None
        )
        record(
            actor,
            "reverse_payment",
            payment,
            rule=rule,
            reason=reason,
            reason_code=reason_code,
            amount=str(payment.amount),
            reopened=[invoice.number for invoice in reopened],
        )
    for invoice in reopened:
        invoice.status, invoice.paid_at = InvoiceStatus.OPEN, None
    return reopened


def credit_balance(subscriber_id: int) -> Decimal:
    """What the subscriber has paid that no invoice has taken yet."""
    total = Payment.objects.filter(
        subscriber_id=subscriber_id, status=PaymentStatus.RECEIVED, unallocated__gt=0
    ).aggregate(total=Sum("unallocated"))["total"]
    return total or ZERO


def use_credit(subscriber_id: int, *, actor: Actor) -> Decimal:
    """Put the subscriber's credit balance on their open invoices, oldest first (PAY-1: an overpayment
    pays the next invoice). What was used."""
    used = ZERO
    now = clock.now()
    with transaction.atomic(), history_context(actor, "use_credit"):
        _lock_account(subscriber_id)
        credits = list(
            Payment.objects.select_for_update()
            .filter(subscriber_id=subscriber_id, status=PaymentStatus.RECEIVED, unallocated__gt=0)
            .order_by("received_at", "pk")
        )
        for payment in credits:
            invoices = _open_invoices(subscriber_id)
            if not invoices:
                break
            left = _allocate(payment, payment.unallocated, invoices, now)
            if left != payment.unallocated:
                used += payment.unallocated - left
                Payment.objects.filter(pk=payment.pk).update(unallocated=left)
        if used:
            record(actor, "use_credit", Subscriber(pk=subscriber_id), rule="PAY-1", amount=str(used))
    return used


def use_credit_balances(*, actor: Actor) -> int:
    """Daily, and after each billing run: every subscriber with credit and an open invoice gets the
    credit put on it. Cheap at any size: credit is rare and has an index of its own. How many
    subscribers' credit was used."""
    open_invoice = Invoice.objects.filter(
        subscriber=OuterRef("subscriber"), status=InvoiceStatus.OPEN, gross_total__gt=0
    )
    subscribers = (
        Payment.objects.filter(status=PaymentStatus.RECEIVED, unallocated__gt=0)
        .filter(Exists(open_invoice))
        .values_list("subscriber", flat=True)
        .distinct()
    )
    return sum(1 for subscriber_id in list(subscribers) if use_credit(subscriber_id, actor=actor))
