"""Staff review in the admin (REG-6): the queue, the checks side by side, accept and refuse buttons."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from billing.models import ApplicationStatus
from tests.factories import DeviceUnitFactory, UserFactory, log_in_staff
from tests.signup import signup_world, submitted


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


def staff(role):
    return log_in_staff(Client(), UserFactory(role=role))


def test_review_queue_lists_oldest_first_with_check_results(world, travel):
    with travel("2026-11-20"):
        old = submitted(world, 1)
    with travel("2026-11-23"):
        new = submitted(world, 2)
    with travel("2026-11-24T12:00:00+01:00"):
        page = staff(roles.CUSTOMER_SERVICE).get(reverse("admin:billing_application_changelist") + "?queue=review")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.index(old.reference) < text.index(new.reference)
    assert "✔REG-5" in text  # the credit check's outcome in the row
    assert "4 d 0 h" in text  # waiting since submission


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


def test_warehouse_staff_get_no_review_buttons(world):
    application = submitted(world)
    client = staff(roles.WAREHOUSE)
    url = reverse("admin:billing_application_transition", args=[application.pk, "accept"])
    assert client.post(url).status_code == 403


def test_shipments_page_for_the_warehouse(world):
    DeviceUnitFactory(product=world.speaker)
    page = staff(roles.WAREHOUSE).get(reverse("admin:devices_shipment_changelist"))
    assert page.status_code == 200
