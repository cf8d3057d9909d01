"""The policy per ISO 20022 reason code for a rejected, returned or refunded SEPA direct debit (PAY-1),
kept as data (billing.ReturnReasonPolicy) and shown read-only in the admin.

Meanings: ISO 20022 External Code Sets, ExternalStatusReason1Code / ExternalReturnReason1Code (the
codes a pain.002 and a camt.054 RtrInf carry), as the EPC explains them for SDD R-transactions in
"Guidance on reason codes for SDD R-transactions" (EPC173-14) and the SEPA Core Direct Debit Rulebook
(EPC016-09, chapter 4.6: rejects, returns, refunds); the Dutch Payments Association's list of reason
codes for SEPA direct debit follows the same codes.
"""

from django.db import migrations

ISO = "ISO 20022 ExternalStatusReason1Code"
EPC = "EPC173-14 Guidance on reason codes for SDD R-transactions"
RULEBOOK = "SEPA Core Direct Debit Rulebook (EPC016-09) 4.6, refund within 8 weeks"

POLICIES = [
    ("AM04", "Insufficient funds (InsufficientFunds)", "recollect_once", f"{ISO}; {EPC}"),
    ("AC04", "Account closed (ClosedAccountNumber)", "stop_mandate", f"{ISO}; {EPC}"),
    ("AC06", "Account blocked, or blocked for direct debit by the debtor (BlockedAccount)", "stop_mandate", f"{ISO}; {EPC}"),
    ("MD01", "No valid mandate, or unauthorised transaction (NoMandate)", "stop_mandate", f"{ISO}; {EPC}"),
    ("MS02", "Refused by the debtor, reason not given (NotSpecifiedReasonCustomerGenerated)", "stop_mandate", f"{ISO}; {EPC}"),
    ("MS03", "Refused by the debtor's bank, reason not given (NotSpecifiedReasonAgentGenerated)", "stop_mandate", f"{ISO}; {EPC}"),
    ("SL01", "Specific service of the debtor's bank: direct debits blocked or limited (SpecificServiceOfferedByDebtorAgent)", "stop_mandate", f"{ISO}; {EPC}"),
    ("MD07", "Debtor deceased (EndCustomerDeceased)", "stop_mandate", f"{ISO}; {EPC}"),
    ("MD06", "Refund requested by the debtor, within 8 weeks, no questions asked (RefundRequestByEndCustomer)", "refund_right", f"{ISO}; {RULEBOOK}; {EPC}"),
]


def seed(apps, schema_editor):
    policy = apps.get_model("billing", "ReturnReasonPolicy")
    for code, meaning, action, source in POLICIES:
        policy.objects.update_or_create(code=code, defaults={"meaning": meaning, "action": action, "source": source})


def unseed(apps, schema_editor):
    apps.get_model("billing", "ReturnReasonPolicy").objects.filter(code__in=[p[0] for p in POLICIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0019_bank_files_imported")]
    operations = [migrations.RunPython(seed, unseed)]
