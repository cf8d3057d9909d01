"""The checks on a submitted application, one job per check (REG-1, REG-4, REG-5, REG-7, REG-9).

Each check gathers its facts here (queries, partner calls with their disclosure logged first, PRIV-1)
and leaves the decision to a pure rule in `billing.rules`; a decided check is never run again.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts.models import Subscriber, SubscriberKind
from accounts.selectors import current_address
from accounts.services import disclose_to
from billing import rules
from billing.models import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    Application,
    ApplicationCheck,
    ApplicationStatus,
    CheckKind,
    CheckOutcome,
    PaymentMethod,
    Subscription,
)
from billing.services.applications.review import advance
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of

AS = ApplicationStatus


def start_checks(application_id: int, *, actor: Actor) -> list[str]:
    """Create one pending row per check and move to checking; safe to run twice (rows are unique).
    Returns the kinds still pending, for the job to run."""
    with transaction.atomic(), history_context(actor, "start_checks"):
        application = Application.objects.select_for_update().get(pk=application_id)
        if application.status == AS.SUBMITTED:
            perform(application, "start_checks", user=staff_of(actor))
            application.status_changed_at = clock.now()
            application.save()
            record(actor, "start_checks", application, rule="REG-7")
        if application.status != AS.CHECKING:
            return []
        ApplicationCheck.objects.bulk_create(
            [ApplicationCheck(application=application, kind=kind) for kind in CheckKind.values],
            ignore_conflicts=True,
        )
        return list(application.checks.filter(outcome=CheckOutcome.PENDING).values_list("kind", flat=True))


def run_check(application_id: int, kind: str, *, actor: Actor) -> ApplicationCheck:
    """Run one check once. A partner timeout propagates (the job retries); a decided check is left alone."""
    check = ApplicationCheck.objects.select_related("application__subscriber").get(
        application_id=application_id, kind=kind
    )
    if check.outcome != CheckOutcome.PENDING or check.application.status != AS.CHECKING:
        return check  # decided already, or the application was refused or withdrawn meanwhile
    ApplicationCheck.objects.filter(pk=check.pk).update(attempts=check.attempts + 1)
    outcome = CHECKS[kind](check.application)
    with transaction.atomic(), history_context(actor, f"check:{kind}"):
        check = ApplicationCheck.objects.select_for_update().get(pk=check.pk)
        if check.outcome == CheckOutcome.PENDING:
            check.outcome = CheckOutcome.PASSED if outcome.passed else CheckOutcome.FAILED
            check.detail, check.refusal_reason = outcome.detail[:300], outcome.refusal_reason
            check.checked_at = clock.now()
            check.save()
            record(actor, f"check:{kind}", check.application, rule=check.rule, reason=outcome.detail)
    advance(application_id, actor=actor)
    return check


def mark_check_unavailable(application_id: int, kind: str, *, detail: str, actor: Actor) -> None:
    """The partner did not answer after every retry: staff see it and can run the check again."""
    with transaction.atomic():
        updated = ApplicationCheck.objects.filter(
            application_id=application_id, kind=kind, outcome=CheckOutcome.PENDING
        ).update(outcome=CheckOutcome.UNAVAILABLE, detail=detail[:300], checked_at=clock.now())
    if updated:
        advance(application_id, actor=actor)


def retry_checks(application_id: int, *, actor: Actor) -> int:
    """Staff run the checks whose partner was unavailable again."""
    from billing.tasks import run_application_check

    with transaction.atomic(), history_context(actor, "retry_checks"):
        application = Application.objects.select_for_update().get(pk=application_id)
        kinds = list(application.checks.filter(outcome=CheckOutcome.UNAVAILABLE).values_list("kind", flat=True))
        if application.status not in (AS.CHECKING, AS.AWAITING_REVIEW) or not kinds:
            return 0
        application.checks.filter(kind__in=kinds).update(outcome=CheckOutcome.PENDING, detail="")
        if application.status == AS.AWAITING_REVIEW:
            # Back to checking: a review decision waits for the new outcomes.
            Application.objects.filter(pk=application.pk).update(status=AS.CHECKING, status_changed_at=clock.now())
        record(actor, "retry_checks", application, rule="REG-6", checks=kinds)
        for kind in kinds:
            transaction.on_commit(lambda kind=kind: run_application_check.delay(application.pk, kind))
    return len(kinds)


# The facts each check needs; the decision is a pure rule in billing.rules. A partner timeout propagates
# for the job to retry.


def _check_age_and_residence(application: Application) -> rules.CheckResult:
    subscriber = application.subscriber
    address = current_address(subscriber)
    return rules.age_and_residence_check(
        is_person=subscriber.kind == SubscriberKind.PERSON,
        date_of_birth=subscriber.date_of_birth,
        application_day=clock.as_moment(application.submitted_at or clock.now()).astimezone(clock.AMSTERDAM).date(),
        address_country=address.country if address else "",
        postcode=address.postcode if address else "",
    )


def _same_person(subscriber: Subscriber) -> Q:
    same = Q(subscriber=subscriber)
    if subscriber.verified_identity:
        same |= Q(subscriber__verified_identity=subscriber.verified_identity)
    return same


def _check_one_subscription(application: Application) -> rules.CheckResult:
    same = _same_person(application.subscriber)
    return rules.one_subscription_check(
        has_live_subscription=Subscription.objects.filter(same, status__in=LIVE_STATUSES).exists(),
        has_other_open_application=Application.objects.filter(same, status__in=OPEN_STATUSES)
        .exclude(pk=application.pk)
        .exists(),
    )


def _check_earlier_termination(application: Application) -> rules.CheckResult:
    # A company termination (TERM-6) always records its ground, and keeps it after the subscription ends.
    terminated = Subscription.objects.filter(_same_person(application.subscriber)).exclude(termination_ground="")
    return rules.earlier_termination_check(was_terminated_by_company=terminated.exists())


def _check_credit(application: Application) -> rules.CheckResult:
    from accounts.adapters.credit_bureau import CreditSubject, credit_bureau

    subscriber = application.subscriber
    address = current_address(subscriber)
    bureau = disclose_to(
        credit_bureau(),
        subscriber=subscriber,
        purpose="credit check before acceptance (terms art. 2.2.2)",
        reference=application.reference,
    )
    result = bureau.check(
        CreditSubject(
            reference=application.reference,
            name=subscriber.display_name,
            date_of_birth=subscriber.date_of_birth,
            kvk_number=subscriber.kvk_number,
            postcode=address.postcode if address else "",
            house_number=address.house_number if address else 0,
        )
    )
    return rules.credit_check(
        is_positive=result.is_positive, detail=result.detail, bureau_reference=result.bureau_reference
    )


def _check_identity(application: Application) -> rules.CheckResult:
    subscriber = application.subscriber
    return rules.identity_check(
        verified_at=subscriber.identity_verified_at, verified_identity=subscriber.verified_identity
    )


def _check_payment_authorisation(application: Application) -> rules.CheckResult:
    from billing.adapters.payments import payment_provider

    if application.payment_method == PaymentMethod.CARD:
        return rules.card_authorisation_check(has_card_token=bool(application.card_token))
    refusal = rules.payment_authorisation_given(application)
    if refusal:
        return rules.CheckResult(False, refusal.message)
    provider = disclose_to(
        payment_provider(),
        subscriber=application.subscriber,
        purpose="verify the SEPA mandate's account holder (terms art. 2.3.2)",
        reference=application.mandate_reference,
    )
    answer = provider.verify_mandate(
        iban=application.iban,
        account_holder=application.account_holder,
        mandate_reference=application.mandate_reference,
    )
    return rules.mandate_check(
        mandate_reference=application.mandate_reference,
        account_holder_matches=answer.is_verified,
        detail=answer.detail,
    )


def _check_prepayment(application: Application) -> rules.CheckResult:
    return rules.prepayment_check(is_paid=rules.prepayment_paid(application) is None)


CHECKS = {
    CheckKind.AGE_AND_RESIDENCE: _check_age_and_residence,
    CheckKind.ONE_SUBSCRIPTION: _check_one_subscription,
    CheckKind.EARLIER_TERMINATION: _check_earlier_termination,
    CheckKind.CREDIT: _check_credit,
    CheckKind.IDENTITY: _check_identity,
    CheckKind.PAYMENT_AUTHORISATION: _check_payment_authorisation,
    CheckKind.PREPAYMENT: _check_prepayment,
}
