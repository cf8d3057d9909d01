"""Contract rules about devices, as small pure functions: a `Refusal` naming the rule, or None."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from flex.refusals import Refusal

if TYPE_CHECKING:
    from devices.models import DeviceUnit


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
