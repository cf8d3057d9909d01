"""The text a subscriber agrees to when giving a SEPA mandate, in their language, as it is kept.

SEPA Core rulebook (and the Dutch Payments Association's model "doorlopende machtiging"): the
creditor's name, identifier and address, the mandate reference, the authorisation to the creditor
and to the debtor's bank, and the 8-week refund right. The text is rendered once, when the mandate
is given, and kept with it (`Mandate.text`, with `MANDATE_TEXT_VERSION`); a change of wording is a
new version, never an edit of what someone already agreed to.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

MANDATE_TEXT_VERSION = "2025-1"


def mandate_text(*, reference: str, language: str | None = None) -> str:
    """The mandate text for `reference` in `language` (the active language when None)."""
    creditor = settings.FLEX_CREDITOR
    with translation.override(language) if language else translation.override(translation.get_language()):
        return _(
            "By signing this mandate form, you authorise %(creditor)s (creditor identifier %(identifier)s, "
            "%(address)s) to send instructions to your bank to debit your account, and your bank to debit your "
            "account in accordance with the instructions from %(creditor)s, for the monthly fees of your Flex "
            "subscription. Mandate reference: %(reference)s. As part of your rights, you are entitled to a refund "
            "from your bank under the terms and conditions of your agreement with your bank. A refund must be "
            "claimed within 8 weeks starting from the date on which your account was debited."
        ) % {
            "creditor": creditor["name"],
            "identifier": creditor["identifier"],
            "address": creditor["address"],
            "reference": reference,
        }
