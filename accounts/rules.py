"""Contract rules about people and addresses: pure functions returning a `Refusal` or None."""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import gettext as _

from flex.refusals import Refusal

# A Dutch postcode: four digits (no leading zero) and two capitals; SA, SD and SS are never issued.
POSTCODE = re.compile(r"^[1-9][0-9]{3} ?(?!SA|SD|SS)[A-Z]{2}$")
# A KvK (Chamber of Commerce) number: 8 digits (Handelsregisterbesluit 2008, art. 9).
KVK_NUMBER = re.compile(r"^[0-9]{8}$")
# A Dutch house number has at most 5 digits (BAG, Catalogus Basisregistratie Adressen en Gebouwen:
# huisnummer 1-99999).
MAX_HOUSE_NUMBER = 99999
# No living person and no address on record goes back further: earlier dates are typing errors.
EARLIEST_DATE = date(1900, 1, 1)


def normalise_postcode(raw: str) -> str:
    compact = re.sub(r"\s+", "", raw or "").upper()
    return f"{compact[:4]} {compact[4:]}" if len(compact) == 6 else raw.strip().upper()


def dutch_postcode(postcode: str) -> Refusal | None:
    """REG-1 (terms art. 1.1.4): the physical address is in the Netherlands, so it has a Dutch postcode."""
    if POSTCODE.match(postcode or ""):
        return None
    return Refusal(
        rule="REG-1", field="postcode", message=_("Enter a Dutch postcode: four digits and two letters, like 1012 AB.")
    )


def move_date_not_in_future(moved_in_on: date, today: date) -> Refusal | None:
    """REG-8 (terms art. 2.3.4): a move is reported after it happened."""
    if moved_in_on <= today:
        return None
    return Refusal(
        rule="REG-8",
        field="moved_in_on",
        message=_("The move date cannot be in the future; report the move once you live at the new address."),
    )


def move_date_not_before_1900(moved_in_on: date) -> Refusal | None:
    """REG-8 (terms art. 2.3.4): the move date is recorded, so it must be a real one."""
    if moved_in_on >= EARLIEST_DATE:
        return None
    return Refusal(
        rule="REG-8", field="moved_in_on", message=_("Enter the date you moved: a date on or after 1 January 1900.")
    )


def plausible_birth_date(born: date, today: date) -> Refusal | None:
    """REG-1 (terms art. 1.1.1): the age is decided on the date of birth, so it must be a real one:
    not before 1900 and not after today (a date in the future is a typing error, not a child)."""
    if born < EARLIEST_DATE:
        message = _("Enter your date of birth: a date on or after 1 January 1900.")
    elif born > today:
        message = _("A date of birth cannot be in the future.")
    else:
        return None
    return Refusal(rule="REG-1", field="date_of_birth", message=message)


# REG-1 (terms art. 1.1.1): an applicant is 18 or older; PRIV-5: under 16, nothing is kept.
ADULT_AGE = 18
CHILD_AGE = 16


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adult_applicant(born: date, day: date) -> Refusal | None:
    """REG-1 (terms art. 1.1.1): 18 or older on the application date; on the 18th birthday itself, yes."""
    if age_on(born, day) >= ADULT_AGE:
        return None
    return Refusal(
        rule="REG-1",
        field="date_of_birth",
        message=_("You must be 18 or older to take out a Flex subscription."),
    )


def is_child(born: date, day: date) -> bool:
    """PRIV-5: under 16, so nothing about the person may be kept beyond the refusal record."""
    return age_on(born, day) < CHILD_AGE
