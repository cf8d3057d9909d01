"""Contract rules about subscriptions and payments: pure functions returning a `Refusal` or None."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from flex import clock
from flex.refusals import Refusal

if TYPE_CHECKING:
    from billing.models import Subscription


def end_date_after_notice(notice_date: date, minimum_term_end: date | None) -> date:
    """TERM-2 interpretation (terms art. 7.1): the later of notice date + 30 days and the minimum term's end."""
    from billing.models import NOTICE_DAYS

    after_notice = notice_date + timedelta(days=NOTICE_DAYS)
    return max(after_notice, minimum_term_end) if minimum_term_end else after_notice


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
