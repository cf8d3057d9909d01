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
