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


# VAT identification numbers of the EU member states: the country prefix and the shape of the rest, as
# the European Commission's VIES lists them ("VIES - VAT number validation", FAQ "What is the format of
# a VAT number?"; Greece writes EL, Northern Ireland XI). Only the Dutch number's check digits are
# verified here; VIES itself is the register (a look-up at a partner, not a format).
VAT_NUMBER_SHAPES = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"[1-9]\d{1,9}",
    "SE": r"\d{10}01",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
    "XI": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}",
}


def normalise_vat_number(raw: str) -> str:
    """A VAT number as it is stored and printed: capitals, no spaces, dots or hyphens (nl 0044.95.445.B01
    is NL004495445B01)."""
    return re.sub(r"[\s.\-]", "", raw or "").upper()


def _dutch_vat_check_digits_valid(number: str) -> bool:
    """A Dutch VAT number (NL + 9 digits + B + 2 digits) is one of two kinds (Belastingdienst): the
    older ones derive from the RSIN/BSN and pass its eleven-test on the 9 digits; the btw-id given to
    sole traders since 1 January 2020 passes ISO 7064 MOD 97-10 over the whole number, "NL" included
    (letters as numbers: A=10 … Z=35)."""
    digits = number[2:11]
    eleven = sum(weight * int(d) for weight, d in zip(range(9, 1, -1), digits[:8], strict=True)) - int(digits[8])
    if eleven % 11 == 0:
        return True
    as_number = "".join(str(int(char, 36)) for char in number)
    return int(as_number) % 97 == 1


def vat_number_refusal(vat_number: str, *, field: str = "vat_number") -> Refusal | None:
    """Wet OB 1968 art. 35a lid 1 sub d: a business customer's invoice names its VAT identification
    number, so the number given at sign-up must be one: an EU country prefix and that country's shape;
    a Dutch one NL + 9 digits + B + 2 digits with valid check digits. Empty is allowed (optional)."""
    number = normalise_vat_number(vat_number)
    if not number:
        return None
    shape = VAT_NUMBER_SHAPES.get(number[:2])
    if shape is None or not re.fullmatch(shape, number[2:]):
        return Refusal(
            rule="PAY-1",
            field=field,
            article="Wet OB 1968 art. 35a",
            message=_(
                "Enter a VAT number as the tax office gives it: the country code and the number, "
                "for a Dutch one NL, 9 digits, B and 2 digits (like NL123456789B01)."
            ),
        )
    if number.startswith("NL") and not _dutch_vat_check_digits_valid(number):
        return Refusal(
            rule="PAY-1",
            field=field,
            article="Wet OB 1968 art. 35a",
            message=_("This Dutch VAT number does not exist: its check digits are wrong. Check it for typing errors."),
        )
    return None
