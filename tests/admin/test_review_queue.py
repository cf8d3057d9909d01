"""Staff review in the admin (REG-6): the queue, the checks side by side, accept and refuse buttons."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from billing import services
from billing.models import Application, ApplicationStatus, Subscription
from devices.models import Shipment
from flex.audit.models import AuditEvent
from tests.factories import UserFactory, log_in_staff
from tests.signup import signup_world, submitted


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


def staff(role):
    return log_in_staff(Client(), UserFactory(role=role))


def queue_rows(html: str) -> list[str]:
    """The rows of the admin list, as the text a person reads in each."""
    body = html[html.index('<table id="result_list"') : html.index("</table>", html.index('<table id="result_list"'))]
    return [re.sub(r"<[^>]+>", " ", row) for row in body.split("<tr")[2:]]


def test_review_queue_lists_oldest_first_with_check_results(world, travel):
    with travel("2026-11-20"):
        old = submitted(world, 1)
    with travel("2026-11-22"):
        unreachable = submitted(world, 3, last_name="Onbereikbaar")  # the credit bureau never answers
    with travel("2026-11-23"):
        new = submitted(world, 2)
        decided = submitted(world, 4)
        services.accept_application(decided.pk, actor=world.reviewer, reason="all checks passed")
    with travel("2026-11-24T12:00:00+01:00"):
        page = staff(roles.CUSTOMER_SERVICE).get(reverse("admin:billing_application_changelist") + "?queue=review")
    rows = queue_rows(page.content.decode())
    assert [next(ref for ref in (old, unreachable, new) if ref.reference in row) for row in rows] == [
        old,
        unreachable,
        new,
    ]  # oldest first; the accepted application has left the queue
    assert all(decided.reference not in row for row in rows)
    every_check_passed = ["✔REG-1", "✔REG-9", "✔REG-4", "✔REG-5", "✔REG-7"]
    assert all(outcome in rows[0] for outcome in every_check_passed)
    assert "?REG-5" in rows[1] and "✔REG-5" not in rows[1]  # the unavailable credit check, for staff to retry
    assert "4 d 0 h" in rows[0] and "1 d 0 h" in rows[2]  # waiting since submission


def test_queue_does_a_fixed_number_of_queries(world):
    client = staff(roles.ADMIN)
    url = reverse("admin:billing_application_changelist")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    for n in range(2):
        submitted(world, n)
    few = count()
    for n in range(2, 6):
        submitted(world, n)
    assert count() == few


def test_reviewer_accepts_with_the_button(world):
    application = submitted(world)
    client = staff(roles.CUSTOMER_SERVICE)
    page = client.get(reverse("admin:billing_application_change", args=[application.pk])).content.decode()
    assert 'value="accept"' in page and 'value="refuse"' in page
    response = client.post(
        reverse("admin:billing_application_transition", args=[application.pk, "accept"]), {"reason": "looks good"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ALLOCATED


def test_reviewer_refuses_with_a_reason_code_and_note(world):
    application = submitted(world)
    response = staff(roles.CUSTOMER_SERVICE).post(
        reverse("admin:billing_application_transition", args=[application.pk, "refuse"]),
        {"refusal_reason": "false_information", "reason": "address does not exist"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.refusal_reason, application.refusal_rule) == (
        ApplicationStatus.REFUSED,
        "false_information",
        "REG-6",
    )


def test_refusal_without_a_note_is_shown_with_its_rule_and_changes_nothing(world):
    application = submitted(world)
    response = staff(roles.CUSTOMER_SERVICE).post(
        reverse("admin:billing_application_transition", args=[application.pk, "refuse"]),
        {"refusal_reason": "other", "reason": ""},
        follow=True,
    )
    assert "REG-6" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_REVIEW


def test_staff_without_the_review_permission_get_no_buttons_and_a_forged_post_changes_nothing(world):
    application = submitted(world)
    finance = staff(roles.FINANCE)  # may look at applications, may not decide on them (REG-6)
    page = finance.get(reverse("admin:billing_application_change", args=[application.pk]))
    assert page.status_code == 200 and application.reference in page.content.decode()
    assert 'value="accept"' not in page.content.decode() and 'value="refuse"' not in page.content.decode()
    for name, data in (("accept", {}), ("refuse", {"refusal_reason": "other", "reason": "no"})):
        url = reverse("admin:billing_application_transition", args=[application.pk, name])
        assert finance.post(url, data).status_code == 403
    application.refresh_from_db()
    assert (application.status, application.decided_by, application.subscription) == (
        ApplicationStatus.AWAITING_REVIEW,
        "",
        None,
    )
    assert not Subscription.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["accept", "refuse"]).exists()
    assert (
        staff(roles.WAREHOUSE).get(reverse("admin:billing_application_change", args=[application.pk])).status_code
        == 403
    )


def test_shipments_page_for_the_warehouse_shows_the_shipment_read_only(world):
    application = submitted(world)
    services.accept_application(application.pk, actor=world.reviewer, reason="all checks passed")
    shipment = Application.objects.get(pk=application.pk).shipment
    warehouse = staff(roles.WAREHOUSE)
    page = warehouse.get(reverse("admin:devices_shipment_changelist")).content.decode()
    assert shipment.reference in page
    change = reverse("admin:devices_shipment_change", args=[shipment.pk])
    assert 'name="_save"' not in warehouse.get(change).content.decode()
    assert warehouse.post(change, {"carrier": "elsewhere", "status": "delivered"}).status_code == 403
    assert Shipment.objects.get(pk=shipment.pk).status == shipment.status
