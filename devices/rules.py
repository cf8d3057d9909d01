"""Contract rules about devices, as small pure functions: a `Refusal` naming the rule, or None."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from flex.refusals import Refusal

if TYPE_CHECKING:
    from devices.models import DeviceUnit

# PAY-7 (terms art. 12.1): a change that binds subscribers is announced at least this many days ahead.
CHANGE_NOTICE_DAYS = 30


def earliest_price_change(today: date) -> date:
    """PAY-6 and PAY-7 interpretation, kept here only: a new price of a product that already has one
    applies from the first day of a calendar month (the fee follows "from the month after the change",
    terms art. 8.5) that lies at least 30 days after the day the price is added (announced 30 days
    ahead, terms art. 12.1)."""
    announced = today + timedelta(days=CHANGE_NOTICE_DAYS)
    if announced.day == 1:
        return announced
    return (announced.replace(day=1) + timedelta(days=32)).replace(day=1)


def price_change_refusal(valid_from: date, today: date, *, replaces_price: bool) -> Refusal | None:
    """PAY-6 (terms art. 8.5), PAY-7 (art. 12.1): a price row is never dated in the past (charges made
    on a past day would change after the fact). A product's first price changes no one's fee and may
    start today; a new price of a product that has one starts on the first day of a month, at least
    30 days ahead (`earliest_price_change`)."""
    if valid_from < today:
        return Refusal(
            rule="PAY-6",
            field="valid_from",
            message=_("A price cannot start in the past (%(day)s); choose today or a later day.")
            % {"day": f"{valid_from:%d-%m-%Y}"},
        )
    if not replaces_price:
        return None
    earliest = earliest_price_change(today)
    if valid_from.day != 1:
        return Refusal(
            rule="PAY-6",
            field="valid_from",
            message=_("A new price applies from the first day of a month; the earliest is %(earliest)s.")
            % {"earliest": f"{earliest:%d-%m-%Y}"},
        )
    if valid_from < earliest:
        return Refusal(
            rule="PAY-7",
            field="valid_from",
            message=_(
                "A price change is announced at least %(days)d days before it applies; the earliest is %(earliest)s."
            )
            % {"days": CHANGE_NOTICE_DAYS, "earliest": f"{earliest:%d-%m-%Y}"},
        )
    return None


def inspection_passed(unit: DeviceUnit) -> Refusal | None:
    """PLAN-1 (terms art. 1.1.2): only a tested, cleaned and complete unit goes back into stock."""
    if unit.inspection_passed:
        return None
    return Refusal(
        rule="PLAN-1",
        field="inspection_passed",
        message=_("Unit %(serial)s can only be restocked after it passed inspection (tested, cleaned and complete).")
        % {"serial": unit.serial_number},
    )


def reported_time_refusal(
    field: str,
    moment: datetime,
    *,
    now: datetime,
    allowed_skew: timedelta,
    not_before: datetime | None,
    earlier_step: str,
) -> Refusal | None:
    """PLAN-6 (terms art. 3.6): a partner reports a shipping step when it happened. A time in the future
    (beyond the allowed clock difference between our clocks) or before the step it follows cannot be
    true, and would move the subscription's start date (TERM-1) with it. `not_before` None: no earlier
    step is known (a held tracking event)."""
    if moment > now + allowed_skew:
        return Refusal(
            rule="PLAN-6",
            field=field,
            message=_("%(field)s %(moment)s lies in the future; report a step once it has happened.")
            % {"field": field, "moment": moment.isoformat()},
        )
    if not_before is not None and moment < not_before:
        return Refusal(
            rule="PLAN-6",
            field=field,
            message=_("%(field)s %(moment)s lies before %(step)s (%(earlier)s).")
            % {"field": field, "moment": moment.isoformat(), "step": earlier_step, "earlier": not_before.isoformat()},
        )
    return None


def tracking_event_reuse_refusal(
    event_id: str, *, first_shipment: str, first_code: str, first_at: datetime, shipment: str, code: str, at: datetime
) -> Refusal | None:
    """PLAN-6: a carrier's event id names one event; sent again it must be the same event, not another one."""
    if (first_shipment, first_code, first_at) == (shipment, code, at):
        return None
    return Refusal(
        rule="PLAN-6",
        field="event_id",
        message=_("Event id %(event_id)s was already used for another event; send each event with its own id.")
        % {"event_id": event_id},
    )
