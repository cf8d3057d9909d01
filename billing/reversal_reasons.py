"""Why a payment was reversed, in words a subscriber understands instead of the bank's reason code.

The codes are the ISO 20022 ExternalStatusReason1Code / ExternalReturnReason1Code values a bank sends
with a SEPA direct-debit reject, return or refund (pain.002, camt.054), as the EPC lists them for
R-transactions ("Guidance on reason codes for SDD R-transactions", EPC173-14) and the Betaalvereniging
implementation guidelines repeat; a card chargeback carries no such code and gets the general text.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REVERSAL_REASONS = {
    "AC01": _("the account number is not right"),
    "AC04": _("the bank account is closed"),
    "AC06": _("the bank account is blocked"),
    "AC13": _("the bank account cannot be debited this way"),
    "AG01": _("your bank does not allow direct debits from this account"),
    "AG02": _("your bank could not process the direct debit"),
    "AM04": _("insufficient funds"),
    "AM05": _("it was collected twice"),
    "BE05": _("your bank did not recognise us as the collector"),
    "CNOR": _("our bank could not process it"),
    "DNOR": _("your bank could not be reached"),
    "FF01": _("the collection could not be processed"),
    "MD01": _("there is no valid mandate for this account"),
    "MD02": _("the mandate details were incomplete"),
    "MD06": _("you asked your bank to refund it"),
    "MD07": _("the account holder has died"),
    "MS02": _("you or your bank refused the direct debit"),
    "MS03": _("your bank refused the direct debit"),
    "RC01": _("the bank code was not right"),
    "RR01": _("your bank needed more details about the account holder"),
    "RR02": _("your bank needed the account holder's name and address"),
    "RR03": _("your bank needed our name and address"),
    "RR04": _("your bank refused it for legal reasons"),
    "SL01": _("your bank blocks direct debits from us on this account"),
}
GENERAL_REASON = _("your bank or card issuer reversed it")


def reversal_reason(code: str) -> str:
    """The plain-language reason for a reversed payment's `code` (in the active language)."""
    return str(REVERSAL_REASONS.get((code or "").strip().upper(), GENERAL_REASON))
