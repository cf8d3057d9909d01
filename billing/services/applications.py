"""Use cases of an application: sign-up, payment authorisation, identity, prepayment, checks,
review, acceptance, allocation and what follows until the units are delivered.

Rules: REG-1..9, PLAN-2, PLAN-4, PLAN-6, RADIO-1, TERM-1, PAY-1, PAY-8, PRIV-1, PRIV-5.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from sequences import get_next_value

from accounts import rules as account_rules
from accounts.models import Address, Subscriber, SubscriberKind, User
from accounts.services import log_disclosure
from billing import rules
from billing.models import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    REFUSING_CHECKS,
    Application,
    ApplicationAddOn,
    ApplicationCheck,
    ApplicationStatus,
    CheckKind,
    CheckOutcome,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RefusalReason,
    RefusalRecord,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
    TermsVersion,
)
from billing.services.subscriptions import email_invoice_on_commit, issue_prepayment_invoice, record_payment
from devices import services as device_services
from devices.models import Plan, Product
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform
from flex.partners import PartnerRejected
from flex.refusals import Refusal, Refused

AS = ApplicationStatus


@dataclass(frozen=True)
class Applicant:
    """What the applicant tells about themselves in the wizard."""

    kind: str
    email: str
    phone: str
    street: str
    house_number: int
    house_number_suffix: str
    postcode: str
    city: str
    first_name: str = ""
    last_name: str = ""
    date_of_birth: date | None = None
    organisation_name: str = ""
    kvk_number: str = ""


def current_terms() -> TermsVersion:
    """REG-2: the terms version in force today."""
    terms = TermsVersion.objects.filter(in_force_from__lte=clock.today()).order_by("-in_force_from").first()
    if terms is None:
        raise LookupError("no terms version is in force; publish one in the admin")
    return terms


def validate_choice(plan: Plan, addons: list[Product]) -> None:
    """PLAN-2 and PLAN-4 (terms art. 3.1, 3.5): one available plan, at most 4 eligible add-ons."""
    if not plan.is_available:
        raise Refused(Refusal(rule="PLAN-2", field="plan", message=_("This plan is no longer open for sign-up.")))
    refusal = rules.addons_allowed(addons, settings.FLEX["MAX_ADDONS_HELD"])
    if refusal:
        raise Refused(refusal)


def refuse_child_or_minor(born: date, *, stage: str) -> None:
    """REG-1 and PRIV-5: under 18 is refused; under 16 nothing is kept but the minimal refusal record.

    Nothing about a minor who is refused at sign-up is stored at all: the details never reach the
    database; only the record that a refusal on REG-1 happened, on which day, at which stage.
    """
    refusal = account_rules.adult_applicant(born, clock.today())
    if refusal is None:
        return
    RefusalRecord.objects.create(refused_on=clock.today(), rule="REG-1", reason=RefusalReason.UNDER_AGE, stage=stage)
    raise Refused(refusal)


def start_application(
    applicant: Applicant, *, plan: Plan, addons: list[Product], password: str | None, user: User | None, actor: Actor
) -> Application:
    """An applicant starts the sign-up (REG-1, REG-9, PLAN-2, PLAN-4): a draft application with their
    details, physical address and choice. A logged-in subscriber applies with the details on file."""
    validate_choice(plan, addons)
    subscriber = getattr(user, "subscriber", None) if user is not None else None
    if subscriber is None:
        _validate_applicant(applicant)
    try:
        with transaction.atomic(), history_context(actor, "start_application"):
            if subscriber is None:
                subscriber = _register_applicant(applicant, password=password, user=user)
            _refuse_second_subscription(subscriber)
            application = Application.objects.create(
                reference=f"APP{get_next_value('application'):07d}", subscriber=subscriber, plan=plan
            )
            ApplicationAddOn.objects.bulk_create([ApplicationAddOn(application=application, product=p) for p in addons])
            record(actor, "start_application", application, rule="REG-2", plan=plan.code)
    except IntegrityError as error:
        if "one_open_application_per_subscriber" in str(error):
            raise Refused(_second_application_refusal()) from None
        if "email" in str(error).lower():
            raise Refused(
                Refusal(
                    rule="REG-9",
                    field="email",
                    message=_("There is already an account with this e-mail address; log in to apply."),
                )
            ) from None
        raise
    return application


def _validate_applicant(applicant: Applicant) -> None:
    if applicant.kind == SubscriberKind.PERSON:
        if applicant.date_of_birth is None:
            raise Refused(Refusal(rule="REG-1", field="date_of_birth", message=_("Enter your date of birth.")))
        refuse_child_or_minor(applicant.date_of_birth, stage="sign-up")
    elif not account_rules.KVK_NUMBER.match(applicant.kvk_number or ""):
        raise Refused(Refusal(rule="REG-1", field="kvk_number", message=_("A KvK number has 8 digits.")))
    refusal = account_rules.dutch_postcode(account_rules.normalise_postcode(applicant.postcode))
    if refusal:
        raise Refused(refusal)
    if User.objects.filter(email__iexact=applicant.email).exists():
        raise Refused(
            Refusal(
                rule="REG-9",
                field="email",
                message=_("There is already an account with this e-mail address; log in to apply."),
            )
        )


def _register_applicant(applicant: Applicant, *, password: str | None, user: User | None) -> Subscriber:
    is_person = applicant.kind == SubscriberKind.PERSON
    if user is None:
        full_name = (
            f"{applicant.first_name} {applicant.last_name}".strip() if is_person else applicant.organisation_name
        )
        user = User.objects.create_user(applicant.email, password, full_name=full_name)
    subscriber = Subscriber.objects.create(
        user=user,
        kind=applicant.kind,
        first_name=applicant.first_name.strip() if is_person else "",
        last_name=applicant.last_name.strip() if is_person else "",
        date_of_birth=applicant.date_of_birth if is_person else None,
        organisation_name="" if is_person else applicant.organisation_name.strip(),
        kvk_number="" if is_person else applicant.kvk_number.strip(),
        email=applicant.email.lower(),
        phone=applicant.phone.strip(),
    )
    today = clock.today()
    Address.objects.create(
        subscriber=subscriber,
        street=applicant.street.strip(),
        house_number=applicant.house_number,
        house_number_suffix=applicant.house_number_suffix.strip(),
        postcode=account_rules.normalise_postcode(applicant.postcode),
        city=applicant.city.strip(),
        moved_in_on=today,
        reported_on=today,
    )
    return subscriber


def _second_application_refusal() -> Refusal:
    return Refusal(
        rule="REG-9",
        field="subscriber",
        message=_("You already have an application in progress; there can be only one subscription at a time."),
    )


def _refuse_second_subscription(subscriber: Subscriber) -> None:
    """REG-9 (terms art. 3.4.1): no new application next to a pending or live subscription or application."""
    if Subscription.objects.filter(subscriber=subscriber, status__in=LIVE_STATUSES).exists():
        raise Refused(
            Refusal(
                rule="REG-9",
                field="subscriber",
                message=_("You already have a subscription; there can be only one at a time."),
            )
        )
    if Application.objects.filter(subscriber=subscriber, status__in=OPEN_STATUSES).exists():
        raise Refused(_second_application_refusal())


def choose_payment(
    application_id: int,
    *,
    method: str,
    iban: str = "",
    account_holder: str = "",
    accepts_terms: bool,
    ip_address: str | None,
    actor: Actor,
) -> Application:
    """The applicant accepts the current terms (REG-2: version, time and IP recorded) and chooses how
    to pay the monthly fees (PAY-1): a SEPA direct-debit mandate (IBAN checked, REG-7) or a card."""
    if not accepts_terms:
        raise Refused(Refusal(rule="REG-2", field="accept_terms", message=_("Accept the general terms to apply.")))
    if method not in (PaymentMethod.SEPA_DIRECT_DEBIT, PaymentMethod.CARD):
        raise Refused(Refusal(rule="PAY-1", field="payment_method", message=_("Choose SEPA direct debit or card.")))
    compact_iban = iban.replace(" ", "").upper()
    if method == PaymentMethod.SEPA_DIRECT_DEBIT:
        refusal = rules.valid_iban(compact_iban)
        if refusal:
            raise Refused(refusal)
        if not account_holder.strip():
            raise Refused(
                Refusal(rule="REG-7", field="account_holder", message=_("Enter the name of the account holder."))
            )
    with transaction.atomic(), history_context(actor, "choose_payment"):
        application = _locked_draft(application_id)
        now = clock.now()
        application.terms_version = current_terms()
        application.terms_accepted_at, application.terms_accepted_ip = now, ip_address
        application.payment_method = method
        if method == PaymentMethod.SEPA_DIRECT_DEBIT:
            # The mandate reference is unique per creditor and never reused (SEPA Core rulebook, AT-01).
            application.iban, application.account_holder = compact_iban, account_holder.strip()
            application.mandate_reference = f"FLEX-{application.reference}"
            application.mandate_signed_at = now
        else:
            application.iban = application.account_holder = application.mandate_reference = ""
            application.mandate_signed_at = None
        application.save()
        record(
            actor,
            "choose_payment",
            application,
            rule="REG-2",
            terms=application.terms_version.version,
            method=method,
            ip=ip_address,
        )
    return application


def _locked_draft(application_id: int) -> Application:
    application = Application.objects.select_for_update().select_related("subscriber").get(pk=application_id)
    if application.status != AS.DRAFT:
        raise Refused(
            Refusal(
                rule="REG-2",
                field="application",
                message=_("This application has been submitted and can no longer be changed."),
            )
        )
    return application


def start_identity_check(application_id: int, *, return_url: str, actor: Actor) -> str:
    """Send the applicant to the identity provider (iDIN, REG-7); the disclosure is logged (PRIV-1)."""
    from accounts.adapters.identity import DISCLOSED_CATEGORIES, ClaimedIdentity, identity_provider

    application = Application.objects.select_related("subscriber").get(pk=application_id)
    subscriber = application.subscriber
    address = subscriber.addresses.order_by("-moved_in_on", "-id").first()
    provider = identity_provider()
    log_disclosure(
        provider.cfg.partner_code,
        kind="identity",
        subscriber=subscriber,
        categories=DISCLOSED_CATEGORIES,
        purpose="verify the applicant's identity (terms art. 2.3.3)",
        reference=application.reference,
    )
    return provider.start(
        ClaimedIdentity(
            reference=application.reference,
            name=subscriber.display_name,
            date_of_birth=subscriber.date_of_birth,
            postcode=address.postcode if address else "",
            house_number=address.house_number if address else 0,
        ),
        return_url,
    )


def complete_identity_check(application_id: int, *, transaction_id: str, actor: Actor) -> Application | None:
    """The applicant is back from the identity provider. Verified: the pseudonymous identity is kept for
    REG-4. Under 18 by the verified date of birth: refused (REG-1); under 16: erased (PRIV-5), None."""
    from accounts.adapters.identity import identity_provider

    try:
        verified = identity_provider().result(transaction_id)
    except PartnerRejected:
        verified = None
    if verified is None or not verified.is_verified:
        raise Refused(
            Refusal(
                rule="REG-7",
                field="identity",
                message=_("Your identity was not verified. Try again, or choose another bank."),
            )
        )
    with transaction.atomic(), history_context(actor, "complete_identity_check"):
        application = _locked_draft(application_id)
        subscriber = application.subscriber
        born = verified.date_of_birth
        if born and account_rules.is_child(born, clock.today()):
            _erase_child(application, stage="identity check")
            return None
        subscriber.verified_identity = verified.consumer_reference
        subscriber.identity_verified_at = clock.now()
        if born and subscriber.kind == SubscriberKind.PERSON:
            subscriber.date_of_birth = born  # the bank's date, not the typed one, decides REG-1
        subscriber.save()
        application.identity_transaction = verified.transaction_id[:500]
        application.save(update_fields=["identity_transaction"])
        record(actor, "complete_identity_check", application, rule="REG-7")
        if born and account_rules.adult_applicant(born, clock.today()):
            _refuse(application, RefusalReason.UNDER_AGE, _("Verified date of birth: under 18."), actor)
    return application


def _erase_child(application: Application, *, stage: str) -> None:
    """PRIV-5: a child's data is deleted; the minimal refusal record stays (REG-1)."""
    subscriber = application.subscriber
    RefusalRecord.objects.create(refused_on=clock.today(), rule="REG-1", reason=RefusalReason.UNDER_AGE, stage=stage)
    user = subscriber.user
    subscriber.delete()  # cascades to the application, its checks and add-ons, and the address
    if user is not None:
        user.delete()


def start_prepayment(application_id: int, *, return_url: str, actor: Actor) -> str:
    """The applicant pays the first 3 monthly fees upfront (TERM-1, REG-7): the prepayment invoice is
    issued once and the provider's checkout opened; the disclosure is logged (PRIV-1)."""
    from billing.adapters.payments import DISCLOSED_CATEGORIES, payment_provider

    with transaction.atomic(), history_context(actor, "start_prepayment"):
        application = _locked_draft(application_id)
        refusal = rules.identity_verified(application)
        if refusal:
            raise Refused(refusal)
        invoice = application.invoices.filter(kind=InvoiceKind.PREPAYMENT).first()
        if invoice is None:
            invoice = issue_prepayment_invoice(
                plan=application.plan,
                addons=[a.product for a in application.addons.select_related("product")],
                application=application,
            )
            email_invoice_on_commit(invoice)
        if invoice.status == InvoiceStatus.PAID:
            raise Refused(
                Refusal(rule="TERM-1", field="prepayment", message=_("The first 3 monthly fees are already paid."))
            )
    provider = payment_provider()
    log_disclosure(
        provider.cfg.partner_code,
        kind="payments",
        subscriber=application.subscriber,
        categories=DISCLOSED_CATEGORIES,
        purpose="collect the prepayment of the first 3 monthly fees (terms art. 1.1.5, 2.3.1)",
        reference=invoice.number,
    )
    checkout = provider.create_checkout(
        reference=invoice.number,
        amount=invoice.gross_total,
        description=f"Flex {invoice.number}",
        customer_email=application.subscriber.email,
        return_url=return_url,
    )
    Application.objects.filter(pk=application_id).update(prepayment_reference=checkout.payment_id)
    return checkout.checkout_url


def record_provider_payment(payment, *, actor: Actor) -> Payment | None:
    """The payment provider reports a payment (webhook, or our status request on return). Counted once
    by the provider's id; a card payment leaves the reusable card authorisation for the monthly fees."""
    if not payment.is_paid:
        return None
    invoice = Invoice.objects.filter(number=payment.reference).first()
    if invoice is None:
        raise Refused(
            Refusal(
                rule="PAY-1",
                field="reference",
                message=_("No invoice %(number)s.") % {"number": payment.reference},
            )
        )
    method = PaymentMethod.CARD if payment.method == "card" else PaymentMethod.IDEAL
    recorded = record_payment(
        invoice.pk, amount=payment.amount, method=method, provider_reference=payment.payment_id, actor=actor
    )
    if payment.card_token and invoice.application_id:
        Application.objects.filter(pk=invoice.application_id, card_token="").update(card_token=payment.card_token)
    return recorded


def receive_payment_webhook(body: bytes, signature: str) -> Payment | None:
    """A signed call from the payment provider (BadSignature when it is not): record what it reports."""
    from billing.adapters.payments import payment_provider

    provider = payment_provider()
    payment = provider.parse_webhook(body, signature)
    return record_provider_payment(payment, actor=Actor.partner(provider.cfg.partner_code))


def refresh_prepayment(application_id: int, *, actor: Actor) -> bool:
    """On return from the checkout: ask the provider for the status (the webhook may still be on its way)."""
    from billing.adapters.payments import payment_provider

    application = Application.objects.get(pk=application_id)
    if not application.prepayment_reference:
        return False
    payment = payment_provider().status(application.prepayment_reference)
    record_provider_payment(payment, actor=actor)
    return payment.is_paid


def submit_application(application_id: int, *, actor: Actor) -> Application:
    """The applicant submits: terms accepted, payment authorisation given, identity verified and the
    prepayment paid (REG-2, REG-7). The checks then run as jobs."""
    from billing.tasks import run_application_checks

    with transaction.atomic(), history_context(actor, "submit_application"):
        application = Application.objects.select_for_update().get(pk=application_id)
        perform(application, "submit", clock.now())
        application.status_changed_at = clock.now()
        application.save()
        record(actor, "submit", application, rule="REG-2")
        transaction.on_commit(lambda: run_application_checks.delay(application.pk))
    return application


def start_checks(application_id: int, *, actor: Actor) -> list[str]:
    """Create one pending row per check and move to checking; safe to run twice (rows are unique).
    Returns the kinds still pending, for the job to run."""
    with transaction.atomic(), history_context(actor, "start_checks"):
        application = Application.objects.select_for_update().get(pk=application_id)
        if application.status == AS.SUBMITTED:
            perform(application, "start_checks")
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


@dataclass(frozen=True)
class Outcome:
    passed: bool
    detail: str
    refusal_reason: str = ""


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
                _refuse(application, reason, check.detail, actor)
                return application
        if rules.checks_complete(application) is None:
            perform(application, "send_to_review")
            application.status_changed_at = clock.now()
            application.save()
            record(actor, "send_to_review", application, rule="REG-6")
    if settings.FLEX["AUTO_ACCEPT"] and rules.checks_passed(application) is None:
        return accept_application(application_id, actor=Actor.system("auto_accept"), reason="every check passed")
    return application


# --- the checks: each returns an Outcome, or raises PartnerTimeout for the job to retry ---


def _check_age_and_residence(application: Application) -> Outcome:
    """REG-1 (terms art. 1.1.1, 1.1.4): 18+ on the application date, or a legal entity; in the Netherlands."""
    subscriber = application.subscriber
    day = clock.as_moment(application.submitted_at or clock.now()).astimezone(clock.AMSTERDAM).date()
    is_person = subscriber.kind == SubscriberKind.PERSON
    if is_person and (subscriber.date_of_birth is None or account_rules.adult_applicant(subscriber.date_of_birth, day)):
        return Outcome(False, "younger than 18 on the application date", RefusalReason.UNDER_AGE)
    address = subscriber.addresses.order_by("-moved_in_on", "-id").first()
    if address is None or address.country != "NL" or account_rules.dutch_postcode(address.postcode):
        return Outcome(False, "no physical address in the Netherlands", RefusalReason.NOT_IN_NETHERLANDS)
    return Outcome(True, "18 or older, address in the Netherlands" if subscriber.date_of_birth else "legal entity")


def _same_person(subscriber: Subscriber) -> Q:
    same = Q(subscriber=subscriber)
    if subscriber.verified_identity:
        same |= Q(subscriber__verified_identity=subscriber.verified_identity)
    return same


def _check_one_subscription(application: Application) -> Outcome:
    """REG-9 (terms art. 3.4.1): no other pending or live subscription or open application, also under
    another account of the same verified person."""
    same = _same_person(application.subscriber)
    if Subscription.objects.filter(same, status__in=LIVE_STATUSES).exists():
        return Outcome(False, "already has a pending or live subscription")
    if Application.objects.filter(same, status__in=OPEN_STATUSES).exclude(pk=application.pk).exists():
        return Outcome(False, "another application is in progress")
    return Outcome(True, "no other subscription")


def _check_earlier_termination(application: Application) -> Outcome:
    """REG-4 (terms art. 2.2.1): no subscription of the same verified person ever terminated by the company."""
    # A company termination (TERM-6) always records its ground, and keeps it after the subscription ends.
    if Subscription.objects.filter(_same_person(application.subscriber)).exclude(termination_ground="").exists():
        return Outcome(False, "an earlier subscription was terminated by the company")
    return Outcome(True, "no earlier termination")


def _check_credit(application: Application) -> Outcome:
    """REG-5 (terms art. 2.2.2): the credit bureau's check; the disclosure is logged first (PRIV-1)."""
    from accounts.adapters.credit_bureau import DISCLOSED_CATEGORIES, CreditSubject, credit_bureau

    subscriber = application.subscriber
    address = subscriber.addresses.order_by("-moved_in_on", "-id").first()
    bureau = credit_bureau()
    log_disclosure(
        bureau.cfg.partner_code,
        kind="credit_bureau",
        subscriber=subscriber,
        categories=DISCLOSED_CATEGORIES,
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
    return Outcome(result.is_positive, f"{result.detail} ({result.bureau_reference})")


def _check_identity(application: Application) -> Outcome:
    """REG-7 (terms art. 2.3.3): identity verified through the identity provider."""
    subscriber = application.subscriber
    if subscriber.identity_verified_at and subscriber.verified_identity:
        return Outcome(True, f"verified {subscriber.identity_verified_at:%Y-%m-%d %H:%M}")
    return Outcome(False, "identity not verified")


def _check_payment_authorisation(application: Application) -> Outcome:
    """REG-7 (terms art. 2.3.2): the SEPA mandate's account matches its holder, or a card is authorised."""
    from billing.adapters.payments import DISCLOSED_CATEGORIES, payment_provider

    if application.payment_method == PaymentMethod.CARD:
        if application.card_token:
            return Outcome(True, "card authorised with the prepayment")
        return Outcome(False, "no card authorisation: the prepayment was not paid by card")
    refusal = rules.payment_authorisation_given(application)
    if refusal:
        return Outcome(False, refusal.message)
    provider = payment_provider()
    log_disclosure(
        provider.cfg.partner_code,
        kind="payments",
        subscriber=application.subscriber,
        categories=DISCLOSED_CATEGORIES,
        purpose="verify the SEPA mandate's account holder (terms art. 2.3.2)",
        reference=application.mandate_reference,
    )
    check = provider.verify_mandate(
        iban=application.iban,
        account_holder=application.account_holder,
        mandate_reference=application.mandate_reference,
    )
    return Outcome(check.is_verified, f"mandate {application.mandate_reference}: {check.detail}")


def _check_prepayment(application: Application) -> Outcome:
    """REG-7 / TERM-1 (terms art. 2.3.1, 1.1.5): the first 3 monthly fees are paid."""
    refusal = rules.prepayment_paid(application)
    return Outcome(refusal is None, "paid" if refusal is None else refusal.message)


CHECKS = {
    CheckKind.AGE_AND_RESIDENCE: _check_age_and_residence,
    CheckKind.ONE_SUBSCRIPTION: _check_one_subscription,
    CheckKind.EARLIER_TERMINATION: _check_earlier_termination,
    CheckKind.CREDIT: _check_credit,
    CheckKind.IDENTITY: _check_identity,
    CheckKind.PAYMENT_AUTHORISATION: _check_payment_authorisation,
    CheckKind.PREPAYMENT: _check_prepayment,
}


# --- decisions ---


def accept_application(application_id: int, *, actor: Actor, reason: str = "") -> Application:
    """The company accepts (REG-3): the subscription exists from now, pending delivery, with the paid
    prepayment invoice; Radio HD is switched on (RADIO-1), units are allocated (PLAN-2) and an e-mail
    confirms the order (PAY-8). Staff need the review permission; every check must have passed."""
    from billing.tasks import activate_radio_hd, allocate_application, send_application_decision

    with transaction.atomic(), history_context(actor, "accept_application", reason):
        application = (
            Application.objects.select_for_update().select_related("subscriber", "plan").get(pk=application_id)
        )
        staff = actor.user if actor.user is not None and actor.user.is_staff else None
        perform(application, "accept", clock.now(), actor.label, user=staff)
        try:
            with transaction.atomic():
                subscription = Subscription.objects.create(
                    subscriber=application.subscriber,
                    plan=application.plan,
                    payment_method=application.payment_method,
                    accepted_at=clock.now(),
                )
        except IntegrityError:
            raise Refused(
                Refusal(rule="REG-9", message=_("This subscriber already has a subscription; there can be only one."))
            ) from None
        SubscriptionAddOn.objects.bulk_create(
            [
                SubscriptionAddOn(subscription=subscription, product_id=addon.product_id, added_on=clock.today())
                for addon in application.addons.all()
            ]
        )
        application.invoices.filter(kind=InvoiceKind.PREPAYMENT).update(subscription=subscription)
        application.subscription = subscription
        application.status_changed_at = clock.now()
        application.save()
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
        staff = actor.user if actor.user is not None and actor.user.is_staff else None
        _refuse(application, refusal_reason, reason, actor, user=staff)
    return application


def _refuse(application: Application, refusal_reason: str, note: str, actor: Actor, user=None) -> None:
    """Refuse under the caller's lock; `user` is the staff member whose review permission is checked."""
    from billing.tasks import refund_prepayment, send_application_decision

    perform(application, "refuse", refusal_reason, note, clock.now(), actor.label, user=user)
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
        perform(application, "withdraw")
        application.status_changed_at = clock.now()
        application.save()
        record(actor, "withdraw", application, rule="REG-3", reason=reason)
        transaction.on_commit(lambda: refund_prepayment.delay(application.pk))
    return application


def refund_prepayment(application_id: int, *, actor: Actor) -> Invoice | None:
    """A refused or withdrawn applicant gets the prepayment back: a credit note, once, and the refund
    through the provider for each payment not refunded yet."""
    from billing.adapters.payments import payment_provider
    from billing.services.subscriptions import issue_credit_note

    with transaction.atomic(), history_context(actor, "refund_prepayment"):
        application = Application.objects.select_for_update().get(pk=application_id)
        if application.status not in (AS.REFUSED, AS.WITHDRAWN):
            return None
        prepayment = application.invoices.filter(kind=InvoiceKind.PREPAYMENT).first()
        if prepayment is None or prepayment.status != InvoiceStatus.PAID:
            return None
        credit = application.invoices.filter(kind=InvoiceKind.CREDIT_NOTE).first() or issue_credit_note(prepayment)
    for payment in Payment.objects.filter(invoice=prepayment, status=PaymentStatus.RECEIVED):
        refund_id = payment_provider().refund(payment.provider_reference, payment.amount)
        with transaction.atomic(), history_context(actor, "refund_payment"):
            Payment.objects.filter(pk=payment.pk, status=PaymentStatus.RECEIVED).update(
                status=PaymentStatus.REFUNDED, refund_reference=refund_id
            )
            record(actor, "refund_payment", payment, rule="TERM-1", refund=refund_id, amount=str(payment.amount))
    if not Payment.objects.filter(invoice=prepayment, status=PaymentStatus.RECEIVED).exists():
        Invoice.objects.filter(pk=credit.pk, status=InvoiceStatus.OPEN).update(status=InvoiceStatus.PAID)
    return credit


def allocation_demand(application: Application) -> Counter[int]:
    demand: Counter[int] = Counter()
    for item in application.plan.items.all():
        demand[item.product_id] += item.quantity
    for addon in application.addons.all():
        demand[addon.product_id] += 1
    return demand


def allocate_application(application_id: int, *, actor: Actor) -> Application:
    """Reserve every unit of the plan and add-ons and order the shipment (PLAN-2, PLAN-6), all or
    nothing: when a product is short, the application waits for stock with nothing reserved.

    Two acceptances racing for the last unit: the unit rows are taken with SKIP LOCKED, so one gets
    it and the other waits for stock; a unit is never reserved twice (and `SubscriptionUnit` has a
    unique constraint on open allocations besides).
    """
    from billing.models import SubscriptionUnit

    with transaction.atomic(), history_context(actor, "allocate_application"):
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("subscriber", "plan", "subscription")
            .get(pk=application_id)
        )
        if application.status not in (AS.ACCEPTED, AS.AWAITING_STOCK):
            return application
        units = device_services.reserve_units(
            allocation_demand(application), allows_refurbished=application.plan.allows_refurbished
        )
        if units is None:
            if application.status == AS.ACCEPTED:
                perform(application, "wait_for_stock")
                application.status_changed_at = clock.now()
                application.save()
                record(actor, "wait_for_stock", application, rule="PLAN-2")
            return application
        now = clock.now()
        SubscriptionUnit.objects.bulk_create(
            [SubscriptionUnit(subscription=application.subscription, unit=unit, allocated_at=now) for unit in units]
        )
        address = application.subscriber.addresses.order_by("-moved_in_on", "-id").first()
        shipment = device_services.create_shipment(application.subscriber, address, units, actor=actor)
        perform(application, "allocate")
        application.shipment = shipment
        application.status_changed_at = now
        application.save()
        record(actor, "allocate", application, rule="PLAN-2", units=[u.serial_number for u in units])
    return application


def resume_awaiting_stock(*, actor: Actor) -> int:
    """Stock arrived: allocate the applications waiting for it, oldest acceptance first."""
    allocated = 0
    waiting = Application.objects.filter(status=AS.AWAITING_STOCK).order_by("decided_at", "id")
    for pk in list(waiting.values_list("pk", flat=True)):
        if allocate_application(pk, actor=actor).status == AS.ALLOCATED:
            allocated += 1
    return allocated


def activate_radio_hd(subscription_id: int, *, actor: Actor) -> Subscription:
    """RADIO-1 (terms art. 4): Radio HD is switched on when the subscriber is accepted. Once."""
    from billing.adapters.radio import radio_hd

    subscription = Subscription.objects.get(pk=subscription_id)
    if subscription.radio_hd_reference:
        return subscription
    activation = radio_hd().activate(f"SUB{subscription.pk}")
    with transaction.atomic(), history_context(actor, "activate_radio_hd"):
        updated = Subscription.objects.filter(pk=subscription_id, radio_hd_reference="").update(
            radio_hd_reference=activation, radio_hd_activated_at=clock.now()
        )
        if updated:
            record(actor, "activate_radio_hd", subscription, rule="RADIO-1", activation=activation)
    subscription.refresh_from_db()
    return subscription


def start_subscription_on_delivery(shipment, delivered_on: date, actor: Actor) -> None:
    """The first shipment of an application is delivered: the delivery date is the start date, the
    minimum term and the 14-day withdrawal window run from it (TERM-1, WD-1)."""
    application = Application.objects.filter(shipment=shipment).select_related("subscription").first()
    if application is None or application.subscription is None:
        return
    if application.subscription.status != SubscriptionStatus.PENDING_DELIVERY:
        return
    from flex.fsm import transition_and_save

    transition_and_save(
        Subscription,
        application.subscription_id,
        "activate",
        delivered_on,
        actor=actor,
        reason=f"delivered on {delivered_on}",
    )


def monthly_total(plan: Plan, addons: list[Product], day: date | None = None) -> Decimal:
    """The monthly total incl. VAT of a plan and add-ons (the wizard's live total)."""
    from billing.selectors import price_on

    day = day or clock.today()
    return plan.monthly_fee + sum((price_on(p, day).addon_monthly_fee or Decimal("0") for p in addons), Decimal("0"))
