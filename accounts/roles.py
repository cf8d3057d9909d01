"""Staff roles: one Django group each, with exactly the permissions that role's work needs.

Permissions are named as strings so that this lowest layer does not import the apps above it.
A permission lets a person reach a page or a button; what a page lets anyone change is decided by the
admin (flex/window_admin.py: fields that carry a rule, money, identity or a state are read-only, and
books are never deleted), and every state change is a transition whose permission is listed here.
Kept in sync on every `migrate` (post_migrate), so a new permission reaches the groups by deploy.
"""

from __future__ import annotations

CUSTOMER_SERVICE = "Customer service"
WAREHOUSE = "Warehouse"
FINANCE = "Finance"
PRIVACY_OFFICER = "Privacy officer"
ADMIN = "Admin"


def _crud(app: str, *models: str, actions=("view", "add", "change")) -> set[str]:
    return {f"{app}.{action}_{model}" for model in models for action in actions}


_VIEW_PEOPLE = _crud("accounts", "subscriber", "address", actions=("view",))
_VIEW_CATALOGUE = _crud("devices", "product", "productprice", "plan", "planitem", "deviceunit", actions=("view",))
_VIEW_BILLING = _crud(
    "billing",
    "subscription",
    "subscriptionaddon",
    "subscriptionunit",
    "invoice",
    "invoiceline",
    "payment",
    "application",
    "applicationcheck",
    "applicationaddon",
    "termsversion",
    "invoiceissuer",
    "mandate",
    "directdebitbatch",
    "directdebitcollection",
    "cardcharge",
    "providerevent",
    "refund",
    "credittransferbatch",
    actions=("view",),
)
# PAY-1: a mandate given on paper is recorded by staff, replacing the active one; a revocation too.
_MANDATES = {"billing.record_paper_mandate", "billing.amend_mandate", "billing.revoke_mandate"}
_VIEW_SHIPPING = _crud("devices", "shipment", "shipmentitem", "trackingevent", actions=("view",))

ROLE_PERMISSIONS: dict[str, set[str]] = {
    CUSTOMER_SERVICE: _VIEW_PEOPLE
    | {"accounts.change_subscriber"}  # the free-text fields only (a phone number), through the audit trail
    | _VIEW_CATALOGUE
    | _VIEW_BILLING
    | {
        "billing.withdraw_subscription",
        "billing.give_notice_subscription",
        "billing.end_subscription",  # TERM-3: request the units back, end once all are back
        "billing.review_application",  # REG-6: customer service decides on applications
        *_MANDATES,
        "devices.report_lost_deviceunit",
        # Lift a log-in lockout after the person called (the Unlock action; audited).
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    }
    | _VIEW_SHIPPING,
    WAREHOUSE: _VIEW_CATALOGUE
    | {
        "devices.handle_deviceunit",
        "devices.write_off_deviceunit",
        "devices.report_lost_deviceunit",
        "billing.view_subscriptionunit",
    }
    | _VIEW_SHIPPING,
    FINANCE: _VIEW_PEOPLE
    | _VIEW_CATALOGUE
    | _VIEW_BILLING
    | _crud("devices", "product", "productprice", "plan", "planitem")
    | _crud("billing", "termsversion")
    | _crud("billing", "billingrun", actions=("view",))
    | {"billing.terminate_subscription"}
    | _MANDATES
    # PAY-1: direct-debit files go to the bank, and the bank's outcome is recorded, by finance.
    | {"billing.submit_directdebitbatch", "billing.settle_directdebitbatch"}
    # Finance never edits an amount; a correction is a credit note (Wet OB 1968 art. 35a).
    | {"billing.issue_credit_note"}
    # PAY-2: the open receivables by age, and the dashboard (invoiced, collected, outstanding).
    | {"billing.view_openreceivable", "billing.view_finance_dashboard"}
    # PAY-1: finance imports the bank's files, sees what each line did and works the unmatched queue.
    | _crud("billing", "bankfile", "bankfileentry", "unmatchedtransfer", "returnreasonpolicy", actions=("view",))
    | {"billing.import_bankfile", "billing.resolve_bankfileentry"}
    # PAY-1, WD-2, TERM-4: refunds (a credit balance, a returned transfer) and the bank's execution of the
    # credit-transfer file are finance's.
    | {"billing.refund_payment", "billing.settle_credittransferbatch"},
    PRIVACY_OFFICER: _VIEW_PEOPLE
    | _VIEW_BILLING
    | {"audit.view_auditevent", "accounts.view_partner", "accounts.view_user", "billing.view_refusalrecord"}
    | _crud("accounts", "disclosure", actions=("view",)),
    ADMIN: set(),  # every permission: filled in below
}


def ensure_staff_groups(sender=None, **kwargs) -> None:
    """Create or update the staff groups; idempotent."""
    from django.contrib.auth.models import Group, Permission

    all_permissions = {
        f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related("content_type")
    }
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if role == ADMIN:
            permissions = list(all_permissions.values())
        else:
            permissions = [all_permissions[name] for name in sorted(wanted) if name in all_permissions]
        group.permissions.set(permissions)
