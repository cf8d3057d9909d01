"""What a SEPA direct-debit file may contain, checked before a value is written (pure functions).

The XSD of pain.008 accepts any Unicode text up to a length; the banks do not. The EPC's SEPA Core
Direct Debit Customer-to-Bank Implementation Guidelines (EPC130-08, "Character set") and the Dutch
Payments Association's Implementation Guidelines for the Netherlands (pain.008.001.02, "Character
set") allow only the Latin set below; text outside it is transliterated when that loses nothing a
bank needs (é -> e, ß -> ss, & -> +) and refused otherwise. Nothing is ever shortened: a value that
is too long is refused, naming the field and the rule, so that no file goes out with a cut name or
reference. Identifiers must also not start or end with "/" nor contain "//" (same guidelines).

The creditor identifier is checked as the EPC's "Creditor Identifier Overview" (EPC262-08) defines
it: country code, two check digits (ISO 7064 MOD 97-10 over the national identifier, the country
code and "00"), a business code that the check skips, and the national identifier; the Dutch one
(the "incassant-ID") is NL + check digits + business code + KvK number (8) + 4 digits.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# EPC130-08, "Character set": a-z A-Z 0-9 / - ? : ( ) . , ' + and space.
LATIN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")

CHARSET_RULE = "EPC130-08 character set"
LENGTH_RULE = "pain.008.001.02 length"
IDENTIFIER_RULE = "EPC130-08 identifiers"
CREDITOR_ID_RULE = "EPC262-08 creditor identifier"
IBAN_RULE = "ISO 13616 IBAN"
BIC_RULE = "ISO 9362 BIC"
AMOUNT_RULE = "pain.008.001.02 amount"

# Letters that Unicode decomposition does not reduce to a Latin base letter, and punctuation with a
# close twin in the set. Anything else outside the set is refused.
_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
        "&": "+",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "`": "'",
        "´": "'",
        '"': "'",
        "“": "'",
        "”": "'",
        "„": "'",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "_": "-",
    }
)
_SPACES = re.compile(r"\s+")
# Already in the set, with single inner spaces: nothing to transliterate (the common case, made cheap).
_PLAIN = re.compile(r"[A-Za-z0-9/\-?:().,'+]+(?: [A-Za-z0-9/\-?:().,'+]+)*")
# An identifier that passes every rule: the set without space, no "/" at either end, no "//".
_IDENTIFIER = re.compile(r"(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+]+(?<!/)")

# Field lengths of pain.008.001.02 (Max35Text, Max70Text, Max140Text) as the EPC guidelines use them.
NAME_LENGTH = 70
IDENTIFIER_LENGTH = 35
REMITTANCE_LENGTH = 140
LARGEST_AMOUNT = Decimal("999999999.99")  # EPC130-08: at most 999999999.99 EUR per transaction


class FieldInvalid(ValueError):  # noqa: N818 - reads as "the field is invalid"
    """A value that cannot be written into a SEPA file: names the field, the rule and the reason."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} ({rule})")
        self.field = field
        self.rule = rule
        self.message = message


def transliterate(value: str) -> str:
    """The value in the SEPA Latin set where a faithful one exists: accents dropped (é -> e, ï -> i),
    ß -> ss, ø -> o, & -> +, typographic quotes and dashes to ' and -; whitespace runs to one space."""
    mapped = value.translate(_TRANSLITERATION)
    decomposed = unicodedata.normalize("NFKD", mapped)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", stripped.translate(_TRANSLITERATION)).strip()


def sepa_text(value: str, *, field: str, max_length: int) -> str:
    """Free text (a name, the remittance information), transliterated into the Latin set; refused when
    a character has no Latin twin, when empty, or when longer than `max_length` (never shortened)."""
    if value and len(value) <= max_length and _PLAIN.fullmatch(value):
        return value
    text = transliterate(value or "")
    if not text:
        raise FieldInvalid(field, CHARSET_RULE, _("This field may not be empty."))
    outside = list(dict.fromkeys(char for char in text if char not in LATIN_CHARACTERS))
    if outside:
        raise FieldInvalid(
            field,
            CHARSET_RULE,
            _("“%(characters)s” cannot be written in the SEPA character set (a-z A-Z 0-9 / - ? : ( ) . , ' + space).")
            % {"characters": "".join(outside)},
        )
    if len(text) > max_length:
        raise FieldInvalid(
            field,
            LENGTH_RULE,
            _("At most %(max)d characters in a SEPA file; this is %(length)d.")
            % {"max": max_length, "length": len(text)},
        )
    return text


def sepa_identifier(value: str, *, field: str, max_length: int = IDENTIFIER_LENGTH) -> str:
    """A reference (message, payment information, end-to-end, mandate id): taken as it is, never
    transliterated, since the bank and the debtor match on it."""
    if value and len(value) <= max_length and _IDENTIFIER.fullmatch(value):
        return value
    if not value:
        raise FieldInvalid(field, IDENTIFIER_RULE, _("This field may not be empty."))
    outside = list(dict.fromkeys(char for char in value if char not in LATIN_CHARACTERS or char == " "))
    if outside:
        raise FieldInvalid(
            field,
            CHARSET_RULE,
            _("An identifier may hold only a-z A-Z 0-9 / - ? : ( ) . , ' + (no spaces); not “%(characters)s”.")
            % {"characters": "".join(outside)},
        )
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise FieldInvalid(field, IDENTIFIER_RULE, _("An identifier may not start or end with “/” nor contain “//”."))
    if len(value) > max_length:
        raise FieldInvalid(
            field,
            LENGTH_RULE,
            _("At most %(max)d characters in a SEPA file; this is %(length)d.")
            % {"max": max_length, "length": len(value)},
        )
    return value


def _mod97(digits_and_letters: str) -> int:
    return int("".join(str(int(char, 36)) for char in digits_and_letters)) % 97


_CREDITOR_ID = re.compile(r"^([A-Z]{2})(\d{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$")


def creditor_identifier(value: str, *, field: str = "CdtrSchmeId") -> str:
    """The creditor identifier (EPC262-08): format, ISO 7064 MOD 97-10 check digits, and for NL the
    Dutch layout (business code, KvK number and a 4-digit location: 19 characters)."""
    compact = (value or "").replace(" ", "").upper()
    match = _CREDITOR_ID.match(compact)
    if not match:
        raise FieldInvalid(
            field,
            CREDITOR_ID_RULE,
            _("“%(value)s” is not a creditor identifier (country, 2 check digits, business code, national id).")
            % {"value": value},
        )
    country, check, _business, national = match.groups()
    if country == "NL" and not re.fullmatch(r"\d{12}", national):
        raise FieldInvalid(
            field,
            CREDITOR_ID_RULE,
            _("A Dutch creditor identifier ends in the KvK number and 4 digits (NL99ZZZ999999999999)."),
        )
    if _mod97(f"{national}{country}{check}") != 1:
        raise FieldInvalid(
            field,
            CREDITOR_ID_RULE,
            _("The check digits of creditor identifier “%(value)s” are wrong (ISO 7064 MOD 97-10).") % {"value": value},
        )
    return compact


def creditor_identifier_check_digits(country: str, national: str) -> str:
    """The two check digits for a creditor identifier of `country` with `national` identifier."""
    return f"{98 - _mod97(f'{national}{country}00'):02d}"


_IBAN = re.compile(r"^([A-Z]{2})(\d{2})([A-Z0-9]{11,30})$")
_BIC = re.compile(r"^[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_LETTERS_AS_DIGITS = str.maketrans({letter: str(ord(letter) - 55) for letter in string.ascii_uppercase})


@functools.cache
def _iban_spec(country: str):
    """schwifty's IBAN layout of a country (length, BBAN pattern, SEPA area), or None if unknown."""
    from schwifty.exceptions import SchwiftyException
    from schwifty.registry import get_iban_spec

    try:
        return get_iban_spec(country)
    except SchwiftyException:
        return None


def iban(value: str, *, field: str) -> str:
    """An IBAN of the SEPA area: the country's length and layout (schwifty's IBAN registry) and the
    ISO 7064 MOD 97-10 checksum. A mandate's IBAN was checked in full by schwifty when it was given
    (`billing.rules.valid_iban`); this re-check runs once per collection, so it stays cheap."""
    compact = (value or "").replace(" ", "").upper()
    match = _IBAN.match(compact)
    spec = _iban_spec(match.group(1)) if match else None
    if (
        spec is None
        or len(compact) != spec.iban_length
        or not spec.regex.fullmatch(match.group(3))
        or int((compact[4:] + compact[:4]).translate(_LETTERS_AS_DIGITS)) % 97 != 1
    ):
        raise FieldInvalid(field, IBAN_RULE, _("“%(value)s” is not a valid IBAN.") % {"value": value})
    if not spec.in_sepa_zone:
        raise FieldInvalid(field, IBAN_RULE, _("The account is not in the SEPA area."))
    return compact


def bic(value: str, *, field: str) -> str:
    """A well-formed BIC of 8 or 11 characters (ISO 9362: bank, country, location, branch)."""
    compact = (value or "").replace(" ", "").upper()
    match = _BIC.match(compact)
    if not match or _iban_spec(match.group(1)) is None:
        raise FieldInvalid(field, BIC_RULE, _("“%(value)s” is not a valid BIC.") % {"value": value})
    return compact


def bic_of_iban(value: str) -> str:
    """The BIC schwifty's bank registry gives for an IBAN (Dutch banks are all in it), or ""."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        found = IBAN(value).bic
    except SchwiftyException:
        return ""
    return str(found) if found else ""


def amount(value: Decimal, *, field: str) -> Decimal:
    """An amount in euros of 0.01 to 999,999,999.99 with at most two decimals."""
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError) as error:
        raise FieldInvalid(field, AMOUNT_RULE, _("Not an amount.")) from error
    if (
        not value.is_finite()
        or value != value.quantize(Decimal("0.01"))
        or not Decimal("0.01") <= value <= LARGEST_AMOUNT
    ):
        raise FieldInvalid(
            field,
            AMOUNT_RULE,
            _("An amount of 0.01 to 999999999.99 euros with two decimals; not %(value)s.") % {"value": value},
        )
    return value
