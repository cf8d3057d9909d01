"""What follows the checks: the review queue, staff acceptance and refusal (REG-3, REG-6, with the
failing check's rule: REG-1, 4, 5, 7, 9), automatic acceptance, and the applicant's withdrawal."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from billing import rules
from billing.models import (
    REFUSING_CHECKS,
    Application,
    ApplicationCheck,
    ApplicationStatus,
    CheckOutcome,
    InvoiceKind,
    PaymentMethod,
    RefusalReason,
    Subscription,
    SubscriptionAddOn,
)
from billing.services.mandates import take_over_signup_mandate
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of
from flex.refusals import Refusal, Refused

AS = ApplicationStatus


def advance(application_id: int, *, actor: Actor) -> Application:
    """After a check: refuse on a failed refusing check (REG-1, 4, 5, 9), else send to review once all
    are done, and accept at once when every check passed and automatic acceptance is on (REG-6)."""
    with transaction.atomic(), history_context(actor, "advance_application"):
        application = Application.objects.select_for_update().get(pk=application_id)
        if application.status != AS.CHECKING:
            return application
        checks = list(application.checks.all())
        for check in checks:
            if check.outcome == CheckOutcome.FAILED and check.kind in REFUSING_CHECKS:
                reason = check.refusal_reason or REFUSING_CHECKS[check.kind]
                refuse_under_lock(application, reason, check.detail, actor)
                return application
        if rules.checks_complete(application) is None:
            perform(application, "send_to_review", user=staff_of(actor))
            application.status_changed_at = clock.now()
            application.save()
            record(actor, "send_to_review", application, rule="REG-6")
    if settings.FLEX["AUTO_ACCEPT"] and rules.checks_passed(application) is None:
        return accept_application(application_id, actor=Actor.system("auto_accept"), reason="every check passed")
    return application


def accept_application(application_id: int, *, actor: Actor, reason: str = "") -> Application:
    """The company accepts (REG-3): the subscription exists from now, pending delivery, with the paid
    prepayment invoice; Radio HD is switched on (RADIO-1), units are allocated (PLAN-2) and an e-mail
    confirms the order (PAY-8). Staff need the review permission; every check must have passed."""
    from billing.tasks import activate_radio_hd, allocate_application, send_application_decision

    with transaction.atomic(), history_context(actor, "accept_application", reason):
        application = (
            Application.objects.select_for_update()
            # The accept condition reads the checks twice (perform() names the failing rule, django-fsm
            # checks again): prefetched, that is one query.
            .prefetch_related(Prefetch("checks", queryset=ApplicationCheck.objects.order_by("id")))
            .get(pk=application_id)
        )
        perform(application, "accept", clock.now(), actor.label, user=staff_of(actor))
        try:
            # No savepoint around it: a conflict refuses the whole acceptance, which then rolls back.
            subscription = Subscription.objects.create(
                subscriber_id=application.subscriber_id,
                plan_id=application.plan_id,
                payment_method=application.payment_method,
                accepted_at=clock.now(),
            )
        except IntegrityError:
            raise Refused(
                Refusal(rule="REG-9", message=_("This subscriber already has a subscription; there can be only one."))
            ) from None
        SubscriptionAddOn.objects.bulk_create(
            [
                SubscriptionAddOn(subscription=subscription, product_id=product_id, added_on=clock.today())
                for product_id in application.addons.order_by("id").values_list("product_id", flat=True)
            ]
        )
        application.invoices.filter(kind=InvoiceKind.PREPAYMENT).update(subscription=subscription)
        if application.payment_method == PaymentMethod.SEPA_DIRECT_DEBIT:
            take_over_signup_mandate(application, subscription)  # PAY-1: the mandate is its own record now
        application.subscription = subscription
        application.status_changed_at = clock.now()
        application.save(update_fields=["status", "status_changed_at", "decided_at", "decided_by", "subscription"])
        record(actor, "accept", application, rule="REG-3", reason=reason, subscription=subscription.pk)
        transaction.on_commit(lambda: activate_radio_hd.delay(subscription.pk))
        transaction.on_commit(lambda: allocate_application.delay(application.pk))
        transaction.on_commit(lambda: send_application_decision.delay(application.pk))
    return application


def refuse_application(application_id: int, *, refusal_reason: str, actor: Actor, reason: str = "") -> Application:
    """Refuse with a reason code and a note (REG-6; the code names its rule, e.g. REG-5). A paid
    prepayment is credited and refunded through the provider; the applicant is told by e-mail."""
    if refusal_reason not in RefusalReason.values:
        raise Refused(Refusal(rule="REG-6", field="refusal_reason", message=_("Choose a reason code for the refusal.")))
    if not reason.strip():
        raise Refused(Refusal(rule="REG-6", field="reason", message=_("Write a note that explains the refusal.")))
    with transaction.atomic(), history_context(actor, "refuse_application", reason):
        application = Application.objects.select_for_update().get(pk=application_id)
        refuse_under_lock(application, refusal_reason, reason, actor)
    return application


def refuse_under_lock(application: Application, refusal_reason: str, note: str, actor: Actor) -> None:
    """Refuse under the caller's lock; a staff actor needs the review permission (checked by `perform`)."""
    from billing.tasks import refund_prepayment, send_application_decision

    perform(application, "refuse", refusal_reason, note, clock.now(), actor.label, user=staff_of(actor))
    application.status_changed_at = clock.now()
    application.save()
    record(actor, "refuse", application, rule=application.refusal_rule, reason=note, code=refusal_reason)
    transaction.on_commit(lambda: refund_prepayment.delay(application.pk))
    transaction.on_commit(lambda: send_application_decision.delay(application.pk))


def withdraw_application(application_id: int, *, actor: Actor, reason: str = "") -> Application:
    """The applicant stops before acceptance; no contract exists yet (REG-3), a paid prepayment is refunded."""
    from billing.tasks import refund_prepayment

    with transaction.atomic(), history_context(actor, "withdraw_application", reason):
        application = Application.objects.select_for_update().get(pk=application_id)
        perform(application, "withdraw", user=staff_of(actor))
        application.status_changed_at = clock.now()
        application.save()
        record(actor, "withdraw", application, rule="REG-3", reason=reason)
        transaction.on_commit(lambda: refund_prepayment.delay(application.pk))
    return application
