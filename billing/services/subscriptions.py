"""Use cases about subscriptions and their money: the prepayment invoice, payments, notice, withdrawal,
termination and the end. A subscription comes into being when an application is accepted, and starts
when its shipment is delivered (`billing.services.applications`)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _

from billing import selectors
from billing.models import (
    MINIMUM_TERM_MONTHS,
    PAYMENT_TERM_DAYS,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Subscription,
    TerminationGround,
)
from billing.services import invoicing
from devices.models import Plan, Product
from flex import clock
from flex.audit.trail import Actor
from flex.fsm import transition_and_save
from flex.money import split_gross, to_money, vat_rate_on
from flex.refusals import Refusal, Refused


def issue_prepayment_invoice(
    *, plan: Plan, addons: list[Product], subscription: Subscription | None = None, application=None
) -> Invoice:
    """The invoice for the first 3 monthly fees (TERM-1, REG-7), for a subscription or, when the
    applicant pays before acceptance, for the application (linked to the subscription at acceptance)."""
    day = clock.today()
    rate = vat_rate_on(day)
    # An invoice is a document in the subscriber's language (PAY-8): its lines are written in it once.
    subscriber = (subscription or application).subscriber
    with translation.override(subscriber.language):
        fees = [(_("%(plan)s – monthly fee") % {"plan": plan.name}, plan.monthly_fee)]
        for product in addons:
            fees.append(
                (
                    _("Add-on %(product)s – monthly fee") % {"product": product},
                    selectors.price_on(product, day).addon_monthly_fee,
                )
            )
        months = _("%(months)d months (minimum term)") % {"months": MINIMUM_TERM_MONTHS}
    lines = []
    for description, fee in fees:
        gross = to_money(fee * MINIMUM_TERM_MONTHS)
        net, vat = split_gross(gross, rate)
        lines.append(
            InvoiceLine(
                description=f"{description} × {months}",
                quantity=MINIMUM_TERM_MONTHS,
                unit_price=to_money(fee),
                vat_rate=rate * 100,
                net=net,
                vat=vat,
                gross=gross,
            )
        )
    return _issue(subscription, application, InvoiceKind.PREPAYMENT, day, lines)


def _issue(
    subscription,
    application,
    kind: str,
    day: date,
    lines: list[InvoiceLine],
    *,
    corrects: Invoice | None = None,
    period: tuple[date, date] | None = None,
) -> Invoice:
    """Number and write one invoice or credit note with the issuer's and the customer's details of today
    (Wet OB 1968 art. 35a); the number comes from the year's gapless series in this transaction."""
    subscriber_id = (subscription or application).subscriber_id
    name, address, vat_number, _language = invoicing.customer_details(Q(pk=subscriber_id))[subscriber_id]
    invoice = Invoice.objects.create(
        number=invoicing.next_invoice_numbers(day, 1)[0],
        issuer=invoicing.issuer_on(day),
        customer_name=name,
        customer_address=address,
        customer_vat_number=vat_number,
        corrects=corrects,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        subscriber_id=subscriber_id,
        subscription=subscription,
        application=application,
        kind=kind,
        issue_date=day,
        due_date=day + timedelta(days=PAYMENT_TERM_DAYS),
        net_total=sum((line.net for line in lines), Decimal("0")),
        vat_total=sum((line.vat for line in lines), Decimal("0")),
        gross_total=sum((line.gross for line in lines), Decimal("0")),
    )
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    return invoice


def issue_credit_note(invoice: Invoice) -> Invoice:
    """A credit note that cancels `invoice` line by line (Wet OB 1968 art. 35a: a correction is a new,
    numbered document referring to the original), in the customer's language (PAY-8). The original is
    marked credited; what was paid on it goes back to its payments as credit (the allocations are
    released), for the next invoice or a refund."""
    from billing.models import PaymentAllocation, PaymentStatus

    with translation.override(invoice.subscriber.language):
        prefix = _("Credit for %(number)s:") % {"number": invoice.number}
    lines = [
        InvoiceLine(
            description=f"{prefix} {line.description}"[:200],
            quantity=line.quantity,
            unit_price=-line.unit_price,
            vat_rate=line.vat_rate,
            net=-line.net,
            vat=-line.vat,
            gross=-line.gross,
        )
        for line in invoice.lines.all()
    ]
    credit = _issue(
        invoice.subscription, invoice.application, InvoiceKind.CREDIT_NOTE, clock.today(), lines, corrects=invoice
    )
    invoice.status = InvoiceStatus.CREDITED
    invoice.save(update_fields=["status"])
    standing = PaymentAllocation.objects.filter(
        invoice=invoice, released_on__isnull=True, payment__status=PaymentStatus.RECEIVED
    ).select_related("payment")
    for allocation in standing:
        Payment.objects.filter(pk=allocation.payment_id).update(unallocated=F("unallocated") + allocation.amount)
    standing.update(released_on=clock.today())
    return credit


def email_invoice_on_commit(invoice: Invoice) -> None:
    from billing.tasks import send_invoice_email

    transaction.on_commit(lambda: send_invoice_email.delay(invoice.pk))


def record_payment(invoice_id: int, *, amount: Decimal, method: str, provider_reference: str, actor: Actor) -> Payment:
    """The payment provider reports money received for an invoice. Safe to receive twice: the provider
    reference counts once. Allocated to the invoice first, the rest to the subscriber's other open
    invoices or their credit (`billing.services.payments`)."""
    from billing.services.payments import receive_payment

    subscriber_id = Invoice.objects.values_list("subscriber_id", flat=True).get(pk=invoice_id)
    return receive_payment(
        subscriber_id=subscriber_id,
        amount=amount,
        method=method,
        reference=provider_reference,
        invoice_id=invoice_id,
        actor=actor,
    )


def give_notice(subscription_id: int, *, actor: Actor, reason: str = "") -> Subscription:
    """The subscriber cancels (by portal, e-mail or letter) with 30 days' notice; the subscription ends
    on the later of notice + 30 days and the end of the minimum term (TERM-2)."""
    return transition_and_save(Subscription, subscription_id, "give_notice", actor=actor, reason=reason)


def withdraw(subscription_id: int, *, actor: Actor, reason: str = "") -> Subscription:
    """The subscriber withdraws without reason within 14 days after the first day (WD-1)."""
    return transition_and_save(Subscription, subscription_id, "withdraw", actor=actor, reason=reason)


def terminate_with_notice(subscription_id: int, *, actor: Actor, reason: str = "") -> Subscription:
    """The company ends the subscription without reason, with 30 days' notice, after the minimum term (TERM-5)."""
    return transition_and_save(Subscription, subscription_id, "terminate_with_notice", actor=actor, reason=reason)


def terminate_immediately(subscription_id: int, *, ground: str, actor: Actor, reason: str = "") -> Subscription:
    """The company terminates at once on a ground of terms art. 7.3 (TERM-6)."""
    if ground not in TerminationGround.values:
        raise Refused(
            Refusal(
                rule="TERM-6",
                field="ground",
                message=_("Choose one of the grounds of terms art. 7.3 to terminate at once."),
            )
        )
    return transition_and_save(
        Subscription,
        subscription_id,
        "terminate_immediately",
        ground,
        actor=actor,
        reason=reason or str(TerminationGround(ground).label),
    )


def request_return(subscription_id: int, *, actor: Actor, reason: str = "") -> Subscription:
    """The notice period is over: return instructions go out; fees run until all units are back (TERM-3)."""
    return transition_and_save(Subscription, subscription_id, "request_return", actor=actor, reason=reason)


def end_subscription(subscription_id: int, *, actor: Actor, reason: str = "") -> Subscription:
    """Every unit is back in the condition it was delivered in: the subscription ends (TERM-3)."""
    return transition_and_save(Subscription, subscription_id, "end", actor=actor, reason=reason)


def request_due_returns(*, actor: Actor) -> int:
    """Daily: move every subscription whose notice period has run out to awaiting return (TERM-3).

    Safe to run twice or on two workers at once: each row is taken under a skip-locked lock and the
    state machine refuses a second move.
    """
    moved = 0
    due = Subscription.objects.filter(status="notice_given", end_date__lte=clock.today()).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            locked = Subscription.objects.select_for_update(skip_locked=True).filter(pk=pk, status="notice_given")
            if not locked.exists():
                continue
            request_return(pk, actor=actor, reason="notice period ended")
            moved += 1
    return moved
