from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing.models import Subscription, SubscriptionStatus
from flex.audit.models import AuditEvent
from tests.factories import AddressFactory, DeviceUnitFactory, UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db

CAN_SEE = {
    roles.CUSTOMER_SERVICE: ["accounts_subscriber", "billing_subscription", "devices_deviceunit", "billing_invoice"],
    roles.WAREHOUSE: ["devices_deviceunit", "devices_product", "billing_subscriptionunit"],
    roles.FINANCE: ["billing_invoice", "billing_payment", "billing_subscription", "devices_plan"],
    roles.PRIVACY_OFFICER: ["audit_auditevent", "accounts_disclosure", "accounts_subscriber", "billing_refusalrecord"],
    roles.ADMIN: ["accounts_user", "accounts_partnerapikey", "accounts_idempotentrequest", "billing_invoiceline"],
}
CANNOT_SEE = {
    roles.CUSTOMER_SERVICE: ["accounts_partnerapikey", "audit_auditevent"],
    roles.WAREHOUSE: ["billing_invoice", "accounts_subscriber", "billing_payment"],
    roles.FINANCE: ["audit_auditevent", "accounts_user"],
    roles.PRIVACY_OFFICER: ["devices_deviceunit", "accounts_partnerapikey"],
}


def staff_client(role):
    return log_in_staff(Client(), UserFactory(role=role))


@pytest.mark.parametrize("role", list(CAN_SEE))
def test_each_role_opens_its_admin_pages(role):
    subscribe(delivered_on=date(2026, 1, 10))
    client = staff_client(role)
    for name in CAN_SEE[role]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


@pytest.mark.parametrize("role", list(CANNOT_SEE))
def test_each_role_is_refused_other_roles_pages(role):
    client = staff_client(role)
    for name in CANNOT_SEE[role]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403, name


def test_every_role_permission_exists():
    from django.contrib.auth.models import Permission

    known = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for role, wanted in roles.ROLE_PERMISSIONS.items():
        assert wanted <= known, f"{role}: unknown {wanted - known}"


@pytest.mark.parametrize(
    "changelist",
    [
        "billing_subscription",
        "billing_invoice",
        "accounts_subscriber",
        "devices_deviceunit",
        "accounts_address",
        "audit_auditevent",
    ],
)
def test_list_pages_do_a_fixed_number_of_queries(changelist, django_assert_num_queries):
    client = staff_client(roles.ADMIN)
    url = reverse(f"admin:{changelist}_changelist")

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        subscribe(subscriber=AddressFactory().subscriber, delivered_on=date(2026, 1, 10))
    few = count()
    for _ in range(8):
        subscribe(subscriber=AddressFactory().subscriber, delivered_on=date(2026, 1, 10))
    assert count() == few


def active_subscription():
    return subscribe(delivered_on=date(2026, 1, 10))


def test_buttons_show_only_permitted_transitions(travel):
    subscription = active_subscription()
    url = reverse("admin:billing_subscription_change", args=[subscription.pk])
    with travel("2026-06-01"):
        service_page = staff_client(roles.CUSTOMER_SERVICE).get(url).content.decode()
        finance_page = staff_client(roles.FINANCE).get(url).content.decode()
    assert 'value="give_notice"' in service_page
    assert 'value="terminate_immediately"' not in service_page
    assert 'value="terminate_immediately"' in finance_page
    assert 'value="withdraw"' not in service_page  # WD-1: day 14 has long passed


def test_posting_a_transition_without_permission_is_refused_and_changes_nothing():
    subscription = active_subscription()
    url = reverse("admin:billing_subscription_transition", args=[subscription.pk, "terminate_immediately"])
    response = staff_client(roles.CUSTOMER_SERVICE).post(url, {"ground": "fraud"})
    assert response.status_code == 403
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE


def test_permitted_transition_runs_the_service_with_audit(travel):
    subscription = active_subscription()
    url = reverse("admin:billing_subscription_transition", args=[subscription.pk, "terminate_immediately"])
    with travel("2026-06-01"):
        response = staff_client(roles.FINANCE).post(url, {"ground": "non_payment", "reason": "three invoices unpaid"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.status, subscription.termination_ground) == ("terminated", "non_payment")
    event = AuditEvent.objects.get(action="terminate_immediately")
    assert (event.rule, event.reason) == ("TERM-6", "three invoices unpaid")


def test_a_refused_transition_shows_its_rule_and_article(travel):
    unit = DeviceUnitFactory()
    for step in ("reserve", "ship", "deliver", "start_return"):
        getattr(unit, step)()
    unit.save()
    client = staff_client(roles.WAREHOUSE)
    for name in ("receive", "start_inspection"):
        client.post(reverse("admin:devices_deviceunit_transition", args=[unit.pk, name]))
    # restock without a passed inspection: the button is hidden, and a forged post is refused by rule
    page = client.get(reverse("admin:devices_deviceunit_change", args=[unit.pk])).content.decode()
    assert 'value="restock"' not in page
    response = client.post(reverse("admin:devices_deviceunit_transition", args=[unit.pk, "restock"]), follow=True)
    assert "PLAN-1, voorwaarden art. 1.1.2, 3.1, 11" in response.content.decode()
