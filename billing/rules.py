"""Contract rules about subscriptions and payments: pure functions returning a `Refusal` or None."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.choices import AGEING_BUCKET_DAYS, AgeingBucket, RefusalReason
from devices.rules import CHANGE_NOTICE_DAYS
from flex import clock
from flex.refusals import Refusal

if TYPE_CHECKING:
    from billing.models import Subscription


def days_past_due(due_date: date, today: date) -> int:
    """PAY-2 (terms art. 8.3): how many days the invoice is overdue; 0 or less while it is not (due today
    is not overdue yet: the default starts the day after the due date)."""
    return (today - due_date).days


def ageing_bucket(days_overdue: int) -> AgeingBucket:
    """The receivables' ageing bucket of an open invoice `days_overdue` days past its due date (PAY-2):
    not yet due (due today or later), 1–30, 31–60, 61–90, more than 90 days overdue."""
    for bucket, first, last in AGEING_BUCKET_DAYS:
        if (first is None or days_overdue >= first) and (last is None or days_overdue <= last):
            return bucket
    raise AssertionError("the ageing buckets cover every day")  # pragma: no cover


def due_dates_in_bucket(bucket: str, today: date) -> tuple[date | None, date | None]:
    """The due dates (first, last; None: open-ended) of the open invoices in `bucket` on `today`: the
    same boundaries as `ageing_bucket`, as a date range an index on the due date can serve."""
    for candidate, first, last in AGEING_BUCKET_DAYS:
        if candidate == bucket:
            return (
                today - timedelta(days=last) if last is not None else None,
                today - timedelta(days=first) if first is not None else None,
            )
    raise ValueError(f"no ageing bucket {bucket!r}")


def end_date_after_notice(notice_date: date, minimum_term_end: date | None) -> date:
    """TERM-2 interpretation (terms art. 7.1): the later of notice date + 30 days and the minimum term's end."""
    from billing.models import NOTICE_DAYS

    after_notice = notice_date + timedelta(days=NOTICE_DAYS)
    return max(after_notice, minimum_term_end) if minimum_term_end else after_notice


@functools.lru_cache(maxsize=65536)  # pure; a monthly run asks the same few thousand start dates again and again
def period_start(start_date: date, number: int) -> date:
    """PAY-1 interpretation (terms art. 8.1): period `number` (1, 2, ...) starts on the start date's day
    of the month, `number - 1` months on, clamped to the month's end and always counted from the start
    date itself (a 31 January start: 28/29 February, then 31 March, not 28 March)."""
    if number < 1:
        raise ValueError("periods are numbered from 1")
    return clock.add_months(start_date, number - 1)


def period_end(start_date: date, number: int) -> date:
    """The last day of period `number`: the day before the next one starts."""
    return period_start(start_date, number + 1) - timedelta(days=1)


def period_number(start_date: date, day: date) -> int:
    """The number of the period `day` falls in (1 for the start date itself)."""
    if day < start_date:
        raise ValueError(f"{day} lies before the start date {start_date}")
    number = (day.year - start_date.year) * 12 + day.month - start_date.month + 1
    while period_start(start_date, number) > day:
        number -= 1
    return number


@dataclass(frozen=True)
class Period:
    number: int
    start: date
    end: date


def periods_to_invoice(start_date: date, invoiced_until: date, *, today: date, lead_days: int) -> list[Period]:
    """PAY-1: fees are invoiced in advance. Every period that starts on or after `invoiced_until` (the
    first day no invoice covers) and no later than `lead_days` from today is due now; after a missed run
    all of them, oldest first, each on its own invoice."""
    horizon = today + timedelta(days=lead_days)
    periods = []
    number = period_number(start_date, invoiced_until)
    if period_start(start_date, number) < invoiced_until:
        number += 1
    while (start := period_start(start_date, number)) <= horizon:
        periods.append(Period(number, start, period_end(start_date, number)))
        number += 1
    return periods


def prepayment_received(subscription: Subscription) -> Refusal | None:
    """REG-7 (terms art. 2.3.1): nothing ships, so nothing starts, before the first 3 fees are paid."""
    from billing.models import InvoiceKind, InvoiceStatus

    paid = subscription.invoices.filter(kind=InvoiceKind.PREPAYMENT, status=InvoiceStatus.PAID).exists()
    if paid:
        return None
    return Refusal(rule="REG-7", message=_("The first 3 monthly fees have not been paid yet."))


def within_withdrawal_period(subscription: Subscription) -> Refusal | None:
    """WD-1 (terms art. 10.1): withdrawal within 14 days after the first day of the subscription."""
    from billing.models import WITHDRAWAL_DAYS

    if subscription.start_date is None:
        return None  # not delivered yet: the period has not even started
    last_day = subscription.start_date + timedelta(days=WITHDRAWAL_DAYS)
    if clock.today() <= last_day:
        return None
    return Refusal(
        rule="WD-1",
        message=_("The 14-day withdrawal period ended on %(day)s; you can still cancel with notice.")
        % {"day": f"{last_day:%d-%m-%Y}"},
    )


def company_notice_ends_after_minimum_term(subscription: Subscription) -> Refusal | None:
    """TERM-5 (terms art. 7.2): the company's notice without reason cannot cut the minimum term short."""
    from billing.models import NOTICE_DAYS

    if subscription.minimum_term_end and clock.today() + timedelta(days=NOTICE_DAYS) >= subscription.minimum_term_end:
        return None
    return Refusal(
        rule="TERM-5",
        message=_("The company can give notice without a reason only so that it ends after the minimum term."),
    )


def end_date_reached(subscription: Subscription) -> Refusal | None:
    """TERM-3 (terms art. 7.1): return instructions go out when the notice period ends."""
    if subscription.end_date and clock.today() >= subscription.end_date:
        return None
    return Refusal(
        rule="TERM-3",
        message=_("The subscription runs until %(day)s.") % {"day": f"{subscription.end_date:%d-%m-%Y}"},
    )


def all_units_returned(subscription: Subscription) -> Refusal | None:
    """TERM-3 (terms art. 7.1): the subscription ends only when the warehouse has every unit back."""
    outstanding = subscription.units.filter(returned_at__isnull=True).count()
    if outstanding == 0:
        return None
    return Refusal(
        rule="TERM-3",
        message=ngettext(
            "%(count)d unit has not been received back by the warehouse yet.",
            "%(count)d units have not been received back by the warehouse yet.",
            outstanding,
        )
        % {"count": outstanding},
    )


def valid_iban(iban: str) -> Refusal | None:
    """PAY-1 / REG-7 (terms art. 2.3.2, 8.2): a SEPA mandate needs a valid IBAN (checksum, length, country)."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        parsed = IBAN(iban)
    except SchwiftyException:
        return Refusal(
            rule="REG-7",
            field="iban",
            message=_("This is not a valid IBAN; check the letters and digits, e.g. NL91 ABNA 0417 1643 00."),
        )
    if not parsed.in_sepa_zone:
        return Refusal(rule="REG-7", field="iban", message=_("SEPA direct debit needs an account in the SEPA area."))
    return None


def terms_accepted(application) -> Refusal | None:
    """REG-2 (terms art. 2.1): the applicant accepted the current terms version; recorded when and from where."""
    if application.terms_version_id and application.terms_accepted_at:
        return None
    return Refusal(rule="REG-2", field="accept_terms", message=_("Accept the general terms to apply."))


def payment_authorisation_given(application) -> Refusal | None:
    """REG-7 (terms art. 2.3.2): a SEPA mandate with a valid IBAN and holder, or a card, is on file."""
    from billing.models import PaymentMethod

    if application.payment_method == PaymentMethod.CARD:
        return None
    if application.payment_method == PaymentMethod.SEPA_DIRECT_DEBIT and application.mandate_signed_at:
        return valid_iban(application.iban)
    return Refusal(
        rule="REG-7", field="payment_method", message=_("Choose how you will pay: SEPA direct debit or card.")
    )


def checks_complete(application) -> Refusal | None:
    """REG-6: staff review an application once every check has an outcome."""
    from billing.models import CheckKind, CheckOutcome

    done = {c.kind for c in application.checks.all() if c.outcome != CheckOutcome.PENDING}
    missing = [str(CheckKind(kind).label) for kind in CheckKind.values if kind not in done]
    if not missing:
        return None
    return Refusal(rule="REG-6", message=_("Checks still running: %(checks)s.") % {"checks": ", ".join(missing)})


def checks_passed(application) -> Refusal | None:
    """REG-7 and REG-1/4/5/9: accepted only when every check passed; the first failing check names its rule."""
    from billing.models import CHECK_RULES, CheckKind, CheckOutcome

    outcomes = {c.kind: c for c in application.checks.all()}
    for kind in CheckKind.values:
        check = outcomes.get(kind)
        if check is None or check.outcome != CheckOutcome.PASSED:
            state = check.get_outcome_display() if check else _("not run")
            return Refusal(
                rule=CHECK_RULES[kind],
                message=_("Cannot accept: check “%(check)s” is %(state)s.")
                % {"check": CheckKind(kind).label, "state": state},
            )
    return None


def identity_verified(application) -> Refusal | None:
    """REG-7 (terms art. 2.3.3): identity is verified through the identity provider (iDIN)."""
    if application.subscriber.identity_verified_at:
        return None
    return Refusal(rule="REG-7", field="identity", message=_("Verify your identity with your bank (iDIN) first."))


def prepayment_paid(application) -> Refusal | None:
    """REG-7 / TERM-1 (terms art. 2.3.1, 1.1.5): the first 3 monthly fees are paid upfront."""
    from billing.models import InvoiceKind, InvoiceStatus

    if application.invoices.filter(kind=InvoiceKind.PREPAYMENT, status=InvoiceStatus.PAID).exists():
        return None
    return Refusal(rule="REG-7", field="prepayment", message=_("The first 3 monthly fees have not been paid yet."))


def addons_allowed(addons, limit: int) -> Refusal | None:
    """PLAN-4 (terms art. 3.5): at most `limit` add-ons (a *setting*, 4), each from the add-on catalogue."""
    if len(addons) > limit:
        return Refusal(
            rule="PLAN-4",
            field="addons",
            message=_("At most %(count)d add-ons per subscription.") % {"count": limit},
        )
    not_addons = sorted({p.name for p in addons if not p.is_addon_eligible or not p.is_active})
    if not_addons:
        return Refusal(
            rule="PLAN-4",
            field="addons",
            message=_("Not available as an add-on: %(products)s.") % {"products": ", ".join(not_addons)},
        )
    return None


# --- the checks on an application (REG-1, 4, 5, 7, 9): pure decisions over facts the service gathers ---


@dataclass(frozen=True)
class CheckResult:
    """What one check decided: passed or not, a line for the reviewer, and the refusal code it implies."""

    passed: bool
    detail: str
    refusal_reason: str = ""


def age_and_residence_check(
    *, is_person: bool, date_of_birth: date | None, application_day: date, address_country: str, postcode: str
) -> CheckResult:
    """REG-1 (terms art. 1.1.1, 1.1.4): 18 or older on the application date (a legal entity has no age),
    with a physical address in the Netherlands."""
    from accounts.rules import adult_applicant, dutch_postcode

    if is_person and (date_of_birth is None or adult_applicant(date_of_birth, application_day)):
        return CheckResult(False, "younger than 18 on the application date", RefusalReason.UNDER_AGE)
    if address_country != "NL" or dutch_postcode(postcode):
        return CheckResult(False, "no physical address in the Netherlands", RefusalReason.NOT_IN_NETHERLANDS)
    return CheckResult(True, "18 or older, address in the Netherlands" if is_person else "legal entity")


def one_subscription_check(*, has_live_subscription: bool, has_other_open_application: bool) -> CheckResult:
    """REG-9 (terms art. 3.4.1): no other pending or live subscription and no other open application of
    the same person (under any account with the same verified identity)."""
    if has_live_subscription:
        return CheckResult(False, "already has a pending or live subscription")
    if has_other_open_application:
        return CheckResult(False, "another application is in progress")
    return CheckResult(True, "no other subscription")


def earlier_termination_check(*, was_terminated_by_company: bool) -> CheckResult:
    """REG-4 (terms art. 2.2.1): no subscription of the same verified person ever terminated by the company."""
    if was_terminated_by_company:
        return CheckResult(False, "an earlier subscription was terminated by the company")
    return CheckResult(True, "no earlier termination")


def credit_check(*, is_positive: bool, detail: str, bureau_reference: str) -> CheckResult:
    """REG-5 (terms art. 2.2.2): the credit bureau's verdict decides; its reference is kept for the reviewer."""
    return CheckResult(is_positive, f"{detail} ({bureau_reference})")


def identity_check(*, verified_at: datetime | None, verified_identity: str) -> CheckResult:
    """REG-7 (terms art. 2.3.3): identity verified through the identity provider, with its pseudonym kept."""
    if verified_at and verified_identity:
        return CheckResult(True, f"verified {verified_at:%Y-%m-%d %H:%M}")
    return CheckResult(False, "identity not verified")


def card_authorisation_check(*, has_card_token: bool) -> CheckResult:
    """REG-7 (terms art. 2.3.2): paying by card needs the card authorised with the prepayment."""
    if has_card_token:
        return CheckResult(True, "card authorised with the prepayment")
    return CheckResult(False, "no card authorisation: the prepayment was not paid by card")


def mandate_check(*, mandate_reference: str, account_holder_matches: bool, detail: str) -> CheckResult:
    """REG-7 (terms art. 2.3.2): the SEPA mandate's account belongs to the holder named on the mandate."""
    return CheckResult(account_holder_matches, f"mandate {mandate_reference}: {detail}")


def prepayment_check(*, is_paid: bool) -> CheckResult:
    """REG-7 / TERM-1 (terms art. 2.3.1, 1.1.5): the first 3 monthly fees are paid upfront."""
    if is_paid:
        return CheckResult(True, "paid")
    return CheckResult(False, str(_("The first 3 monthly fees have not been paid yet.")))


def identity_transaction_refusal(*, started_for: str, application_reference: str) -> Refusal | None:
    """REG-7 (terms art. 2.3.3): an identity transaction counts only for the application that started it
    (the provider echoes the reference we started it with); another applicant's is refused."""
    if started_for == application_reference:
        return None
    return Refusal(
        rule="REG-7",
        field="identity",
        message=_(
            "This identity confirmation was not started for this application. "
            "Verify your identity again from this application."
        ),
    )


def terms_version_refusal(in_force_from: date, today: date, *, replaces_version: bool) -> Refusal | None:
    """PAY-7 (terms art. 12.1): any change to the terms is announced at least 30 days before it binds
    the subscriber; the terms carry the privacy provisions too (art. 9), whose material changes are
    announced before they take effect (PRIV-10), which the same 30 days cover. The first version
    replaces nothing and may apply from today; no version comes into force in the past (an applicant
    accepted the version then in force, REG-2)."""
    if in_force_from < today:
        return Refusal(
            rule="PAY-7",
            field="in_force_from",
            message=_("A terms version cannot come into force in the past (%(day)s).")
            % {"day": f"{in_force_from:%d-%m-%Y}"},
        )
    earliest = today + timedelta(days=CHANGE_NOTICE_DAYS)
    if replaces_version and in_force_from < earliest:
        return Refusal(
            rule="PAY-7",
            field="in_force_from",
            message=_(
                "New terms are announced at least %(days)d days before they bind subscribers (privacy changes "
                "included, PRIV-10); the earliest day they can come into force is %(earliest)s."
            )
            % {"days": CHANGE_NOTICE_DAYS, "earliest": f"{earliest:%d-%m-%Y}"},
        )
    return None


# --- SEPA direct debit (PAY-1, terms art. 8.1, 8.2): mandates and batches -----------------------------

# SEPA Core rulebook: a mandate lapses when no collection has been presented for 36 months.
MANDATE_LAPSE_MONTHS = 36


def mandate_lapses_on(last_used_on: date) -> date:
    """The first day a mandate last used (or signed) on `last_used_on` may no longer be collected on."""
    return clock.add_months(last_used_on, MANDATE_LAPSE_MONTHS)


def mandate_lapse_refusal(*, last_used_on: date, today: date) -> Refusal | None:
    """PAY-1 / SEPA Core rulebook: a mandate lapses only after 36 months without a collection (counted
    from the last collection, or from the signature when there was none)."""
    lapses_on = mandate_lapses_on(last_used_on)
    if today >= lapses_on:
        return None
    return Refusal(
        rule="PAY-1",
        message=_("The mandate was last used on %(used)s; it lapses on %(lapses)s (36 months without a collection).")
        % {"used": f"{last_used_on:%d-%m-%Y}", "lapses": f"{lapses_on:%d-%m-%Y}"},
    )


def mandate_collectable_refusal(*, status: str, last_used_on: date, collection_date: date) -> Refusal | None:
    """PAY-1: a collection needs an active mandate that has not lapsed by its collection date."""
    if status != "active":
        return Refusal(rule="PAY-1", field="mandate", message=_("This mandate is no longer active."))
    if collection_date >= mandate_lapses_on(last_used_on):
        return Refusal(
            rule="PAY-1",
            field="mandate",
            message=_("This mandate lapsed: no collection for 36 months. A new mandate is needed."),
        )
    return None


def account_holder_refusal(account_holder: str) -> Refusal | None:
    """PAY-1 / REG-7: the account holder's name goes into every direct-debit file, so it must be writable
    in the SEPA character set (accents are transliterated) and at most 70 characters long (EPC130-08)."""
    from billing.direct_debit import epc

    if not account_holder.strip():
        return Refusal(rule="REG-7", field="account_holder", message=_("Enter the name of the account holder."))
    try:
        epc.sepa_text(account_holder, field="account_holder", max_length=epc.NAME_LENGTH)
    except epc.FieldInvalid as invalid:
        return Refusal(rule="PAY-1", field="account_holder", message=invalid.message)
    return None


def mandate_agreed_refusal(*, agreed: bool) -> Refusal | None:
    """PAY-1 / REG-7 (terms art. 2.3.2): a mandate exists only when its text was shown and agreed to."""
    if agreed:
        return None
    return Refusal(rule="PAY-1", field="agree", message=_("Agree to the mandate text to authorise the direct debit."))


def batch_file_ready(batch) -> Refusal | None:
    """PAY-1: a batch goes to the bank only with its file written for every collection in it."""
    if batch.file and batch.transaction_count and batch.transaction_count == batch.collections.count():
        return None
    return Refusal(rule="PAY-1", message=_("The batch's file has not been written for all its collections yet."))


def online_payment_refusal(
    number: str,
    *,
    is_own: bool,
    is_paid: bool,
    is_credited: bool,
    amount_open: Decimal,
    is_being_collected: bool = False,
) -> Refusal | None:
    """Whether a subscriber may pay invoice `number` online now (the portal's "Pay now").

    PAY-1 (terms art. 8.1, 8.2): a subscriber pays their own fees; an invoice that is not theirs (or no
    invoice at all: the answer is the same, so the portal tells nobody which numbers exist) is refused.
    PAY-2 (terms art. 8.3): only what is due can be paid: not an invoice that is paid or credited, nor
    one whose payments already cover it, nor a credit note (its amount is ours to pay back).
    """
    if not is_own:
        return Refusal(
            rule="PAY-1",
            field="invoice",
            message=_("You have no invoice %(number)s to pay.") % {"number": number},
        )
    if is_paid:
        return Refusal(
            rule="PAY-2",
            field="invoice",
            message=_("Invoice %(number)s is paid already.") % {"number": number},
        )
    if is_credited:
        return Refusal(
            rule="PAY-2",
            field="invoice",
            message=_("Invoice %(number)s is credited: there is nothing to pay.") % {"number": number},
        )
    if amount_open <= 0:
        return Refusal(
            rule="PAY-2",
            field="invoice",
            message=_("Nothing is left to pay on %(number)s.") % {"number": number},
        )
    if is_being_collected:
        # PAY-1 (terms art. 8.2): the subscriber's chosen method collects it already; a second payment
        # would pay it twice.
        return Refusal(
            rule="PAY-1",
            field="invoice",
            message=_(
                "Invoice %(number)s is being collected by SEPA direct debit; paying it online too would pay it twice."
            )
            % {"number": number},
        )
    return None


# PAY-1 (terms art. 8.2): a collection that failed for insufficient funds (AM04) is tried once more,
# with a new pre-notification; a second AM04 on the same invoice stops the collecting.
RECOLLECTIONS_PER_INVOICE = 1


def recollection_refusal(*, earlier_insufficient_funds: int) -> Refusal | None:
    """PAY-1: may the invoice be collected once more after an AM04? `earlier_insufficient_funds`: how
    many of its collections before this one failed for AM04."""
    if earlier_insufficient_funds >= RECOLLECTIONS_PER_INVOICE:
        return Refusal(
            rule="PAY-1",
            field="reason_code",
            message=_(
                "This invoice was collected again once already after insufficient funds (AM04); "
                "it is not collected a third time."
            ),
        )
    return None


def return_action(reason_code: str, policies: dict[str, str], default: str) -> str:
    """What a rejected, returned or refunded collection leads to (PAY-1): the policy kept for its ISO
    reason code, or the conservative `default` for a code with none."""
    return policies.get(reason_code, default)
