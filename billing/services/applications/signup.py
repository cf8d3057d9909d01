"""The sign-up wizard's steps: plan and add-ons, the applicant's details, terms and payment method,
identity at the bank, and submitting (REG-1, REG-2, REG-7, REG-9, PLAN-2, PLAN-4, PRIV-5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from sequences import get_next_value

from accounts import rules as account_rules
from accounts.erasure import erase_person
from accounts.models import Address, Subscriber, SubscriberKind, User
from accounts.selectors import current_address
from accounts.services import disclose_to
from billing import rules
from billing.models import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    Application,
    ApplicationAddOn,
    ApplicationStatus,
    PaymentMethod,
    RefusalReason,
    RefusalRecord,
    Subscription,
    TermsVersion,
)
from billing.services.applications.review import refuse_under_lock
from devices.models import Plan, Product
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of
from flex.partners import PartnerRejected, PartnerTimeout
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
    vat_number: str = ""  # optional; a business customer's invoices carry it (Wet OB art. 35a)


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
        if refusal := account_rules.plausible_birth_date(applicant.date_of_birth, clock.today()):
            raise Refused(refusal)
        refuse_child_or_minor(applicant.date_of_birth, stage="sign-up")
    elif not account_rules.KVK_NUMBER.match(applicant.kvk_number or ""):
        raise Refused(Refusal(rule="REG-1", field="kvk_number", message=_("A KvK number has 8 digits.")))
    refusal = account_rules.dutch_postcode(account_rules.normalise_postcode(applicant.postcode))
    if refusal:
        raise Refused(refusal)
    if refusal := account_rules.vat_number_refusal(applicant.vat_number):
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
        vat_number=account_rules.normalise_vat_number(applicant.vat_number),
        email=applicant.email.lower(),
        phone=applicant.phone.strip(),
        language=signup_language(),
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


def signup_language() -> str:
    """PAY-8: the subscriber is written to in the language they signed up in (the portal's, nl or en)."""
    active = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return active if active in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


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
        application = locked_draft(application_id)
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


def locked_draft(application_id: int) -> Application:
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


def _identity_provider_unavailable() -> Refusal:
    return Refusal(
        rule="REG-7",
        field="identity",
        message=_("Your bank's identity service did not answer in time. Try again in a moment."),
    )


def start_identity_check(application_id: int, *, return_url: str, actor: Actor) -> str:
    """Send the applicant to the identity provider (iDIN, REG-7); the disclosure is logged (PRIV-1).
    A provider that does not answer in time is a REG-7 refusal to try again, and nothing changes."""
    from accounts.adapters.identity import ClaimedIdentity, identity_provider

    application = Application.objects.select_related("subscriber").get(pk=application_id)
    subscriber = application.subscriber
    address = current_address(subscriber)
    provider = disclose_to(
        identity_provider(),
        subscriber=subscriber,
        purpose="verify the applicant's identity (terms art. 2.3.3)",
        reference=application.reference,
    )
    try:
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
    except PartnerTimeout:
        # The disclosure stays logged: the request may have reached the provider (PRIV-1).
        raise Refused(_identity_provider_unavailable()) from None


def complete_identity_check(application_id: int, *, transaction_id: str, actor: Actor) -> Application | None:
    """The applicant is back from the identity provider. Verified: the pseudonymous identity is kept for
    REG-4. Under 18 by the verified date of birth: refused (REG-1); under 16: erased (PRIV-5), None.

    REG-7: only a transaction started for this application counts; someone who comes back with
    another applicant's transaction id, or with no usable one, is refused and nothing of that identity
    is attached. A provider that does not answer in time is a refusal to try again; nothing changes."""
    from accounts.adapters.identity import identity_provider

    reference = Application.objects.values_list("reference", flat=True).get(pk=application_id)
    try:
        verified = identity_provider().result(transaction_id)
    except PartnerRejected:
        verified = None
    except PartnerTimeout:
        raise Refused(_identity_provider_unavailable()) from None
    if verified is not None and (
        refusal := rules.identity_transaction_refusal(started_for=verified.reference, application_reference=reference)
    ):
        raise Refused(refusal)
    if verified is None or not verified.is_verified:
        raise Refused(
            Refusal(
                rule="REG-7",
                field="identity",
                message=_("Your identity was not verified. Try again, or choose another bank."),
            )
        )
    with transaction.atomic(), history_context(actor, "complete_identity_check"):
        application = locked_draft(application_id)
        subscriber = application.subscriber
        born = verified.date_of_birth
        if born and account_rules.is_child(born, clock.today()):
            _erase_child(application, stage="identity check", actor=actor)
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
            refuse_under_lock(application, RefusalReason.UNDER_AGE, _("Verified date of birth: under 18."), actor)
    return application


def _erase_child(application: Application, *, stage: str, actor: Actor) -> None:
    """PRIV-5: a child's data is deleted, with its row history and audit trail, in this transaction;
    the minimal refusal record stays (REG-1: day, rule, stage). The privacy app does the erasing
    (accounts.erasure explains why it is asked through a signal)."""
    subscriber = application.subscriber
    receipt = RefusalRecord.objects.create(
        refused_on=clock.today(), rule="REG-1", reason=RefusalReason.UNDER_AGE, stage=stage
    )
    erase_person(subscriber, subscriber.user, rule="PRIV-5", receipt=receipt, actor=actor)


def submit_application(application_id: int, *, actor: Actor) -> Application:
    """The applicant submits: terms accepted, payment authorisation given, identity verified and the
    prepayment paid (REG-2, REG-7). The checks then run as jobs."""
    from billing.tasks import run_application_checks

    with transaction.atomic(), history_context(actor, "submit_application"):
        application = Application.objects.select_for_update().get(pk=application_id)
        perform(application, "submit", clock.now(), user=staff_of(actor))
        application.status_changed_at = clock.now()
        application.save()
        record(actor, "submit", application, rule="REG-2")
        transaction.on_commit(lambda: run_application_checks.delay(application.pk))
    return application


def monthly_total(plan: Plan, addons: list[Product], day: date | None = None) -> Decimal:
    """The monthly total incl. VAT of a plan and add-ons (the wizard's live total)."""
    from billing.selectors import price_on

    day = day or clock.today()
    return plan.monthly_fee + sum((price_on(p, day).addon_monthly_fee or Decimal("0") for p in addons), Decimal("0"))
