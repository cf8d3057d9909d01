"""System checks for direct debit: outside sandbox mode the creditor (identifier, account) and the
bank must be really configured, or `manage.py check --deploy` reports an error (as for partners)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


def direct_debit_configuration_errors(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from billing.direct_debit import epc

    errors = []
    creditor = settings.FLEX_CREDITOR
    for key, variable, check in (
        ("identifier", "FLEX_CREDITOR_ID", epc.creditor_identifier),
        ("iban", "FLEX_CREDITOR_IBAN", epc.iban),
        ("bic", "FLEX_CREDITOR_BIC", epc.bic),
    ):
        try:
            check(creditor.get(key, ""), field=variable)
        except epc.FieldInvalid as invalid:
            errors.append(
                checks.Error(
                    f"{variable} is not usable in a SEPA direct-debit file: {invalid.message} ({invalid.rule})",
                    hint="Set the creditor's incassant-ID, account and bank as the bank issued them.",
                    id="billing.E001",
                )
            )
    bank = settings.FLEX_BANK
    implementation = bank.get("implementation", "")
    missing = {
        "sandbox": [] if settings.FLEX_SANDBOX else ["FLEX_BANK (sandbox is for sandbox mode only)"],
        "directory": [] if bank.get("outbox") else ["FLEX_BANK_OUTBOX"],
        "http": [name for name, key in (("FLEX_BANK_URL", "url"), ("FLEX_BANK_KEY", "key")) if not bank.get(key)],
    }.get(implementation, ["FLEX_BANK (sandbox, directory or http)"])
    if missing:
        errors.append(
            checks.Error(
                f"the bank for direct-debit files has no real configuration: {', '.join(missing)} not set.",
                hint="FLEX_BANK=directory with FLEX_BANK_OUTBOX, "
                "or FLEX_BANK=http with FLEX_BANK_URL and FLEX_BANK_KEY.",
                id="billing.E002",
            )
        )
    return errors
