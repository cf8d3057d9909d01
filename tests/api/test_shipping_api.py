"""The partner side of delivery: warehouse confirmations, carrier events and the payment webhook."""

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Partner
from billing.models import Payment, PaymentAllocation, Subscription
from devices.models import Shipment, TrackingEvent
from flex.partners import sign
from tests.factories import api_key_for
from tests.signup import ready_to_submit, signup_world


def partner_client(code: str, kind: str, scopes: list[str]) -> APIClient:
    partner, _ = Partner.objects.get_or_create(code=code, defaults={"name": code, "kind": kind})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(partner, scopes)}")
    return client


def warehouse():
    return partner_client("warehouse", "warehouse", ["shipments:read", "shipments:write"])


def carrier():
    return partner_client("carrier", "carrier", ["tracking:write"])


def shipped_body(shipment, **overrides):
    body = {
        "serial_numbers": sorted(shipment.units.values_list("serial_number", flat=True)),
        "carrier": "carrier",
        "tracking_code": "3SFLEX123",
        "shipped_at": "2026-11-25T10:00:00+01:00",
    }
    body.update(overrides)
    return body


def test_warehouse_lists_open_shipments_with_serials_in_fixed_queries(shipment, django_assert_max_num_queries):
    client = warehouse()
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/shipments/?status=ordered")
    [row] = response.json()["results"]
    assert row["reference"] == shipment.reference
    assert len(row["serial_numbers"]) == 2


def test_warehouse_confirms_shipping_with_the_reserved_serials(shipment):
    response = warehouse().post(
        f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment), format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "shipped"
    assert set(shipment.units.values_list("status", flat=True)) == {"shipped"}
    assert Partner.objects.get(code="carrier").disclosures.get().reference == shipment.reference  # PRIV-1


def test_other_serials_are_refused_naming_the_field_and_rule(shipment):
    response = warehouse().post(
        f"/api/v1/shipments/{shipment.reference}/shipped/",
        shipped_body(shipment, serial_numbers=["SN-SOMETHING-ELSE"]),
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert (body["rule"], body["errors"][0]["field"]) == ("PLAN-2", "serial_numbers")
    assert Shipment.objects.get().status == "ordered"


def test_carrier_needs_its_own_scope(shipment):
    response = warehouse().post(
        f"/api/v1/shipments/{shipment.reference}/tracking-events/",
        {"event_id": "x", "code": "delivered", "occurred_at": "2026-11-26T12:00:00+01:00"},
        format="json",
    )
    assert response.status_code == 403
    assert "tracking:write" in response.json()["detail"]


def test_delivered_before_shipped_waits_and_then_starts_the_subscription(shipment):
    """Out of order: the carrier's "delivered" arrives before the warehouse's confirmation."""
    event = {"event_id": "trk-9", "code": "delivered", "occurred_at": "2026-11-26T12:00:00+01:00"}
    response = carrier().post(f"/api/v1/shipments/{shipment.reference}/tracking-events/", event, format="json")
    assert (response.status_code, response.json()) == (202, {"event_id": "trk-9", "held": True})
    assert Subscription.objects.get().status == "pending_delivery"
    warehouse().post(f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment), format="json")
    subscription = Subscription.objects.get()
    assert subscription.status == "active"
    assert str(subscription.start_date) == "2026-11-26"
    assert TrackingEvent.objects.get().applied is True


def test_a_resent_event_counts_once_and_replays_with_the_same_answer(shipment):
    warehouse().post(f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment), format="json")
    client = carrier()
    event = {"event_id": "trk-1", "code": "delivered", "occurred_at": "2026-11-26T12:00:00+01:00"}
    url = f"/api/v1/shipments/{shipment.reference}/tracking-events/"
    first = client.post(url, event, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(url, event, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    resent = client.post(url, event, format="json")  # no key: the event id still counts once
    assert first.status_code == again.status_code == resent.status_code == 201
    assert first.json() == again.json()
    assert TrackingEvent.objects.count() == 1
    assert Shipment.objects.get().status == "delivered"


def test_unknown_tracking_code_names_the_field(shipment):
    response = carrier().post(
        f"/api/v1/shipments/{shipment.reference}/tracking-events/",
        {"event_id": "x", "code": "teleported", "occurred_at": "2026-11-26T12:00:00+01:00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code"


def test_unknown_shipment_is_a_404_problem(shipment):
    response = warehouse().post("/api/v1/shipments/SHP9999999/shipped/", shipped_body(shipment), format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- the payment provider's webhook ---


def webhook(body: dict, secret: str | None = None, at: int | None = None):
    raw = json.dumps(body).encode()
    signature = sign(raw, secret or settings.FLEX_PARTNERS["payments"].secret, at)
    return APIClient().post(
        "/api/v1/webhooks/payments/", raw, content_type="application/json", HTTP_FLEX_SIGNATURE=signature
    )


@pytest.fixture
def unpaid(transactional_db, settings):
    world = signup_world(settings)
    application = ready_to_submit(world)
    PaymentAllocation.objects.all().delete()
    Payment.objects.all().delete()
    application.invoices.update(status="open", paid_at=None)
    return application.invoices.get()


def paid_event(invoice, payment_id="tr_webhook1"):
    return {
        "payment_id": payment_id,
        "reference": invoice.number,
        "status": "paid",
        "amount": str(invoice.gross_total),
        "method": "ideal",
        "card_token": "",
    }


def test_signed_webhook_records_the_payment_once(unpaid):
    assert webhook(paid_event(unpaid)).status_code == 200
    assert webhook(paid_event(unpaid)).status_code == 200
    assert Payment.objects.count() == 1
    unpaid.refresh_from_db()
    assert unpaid.status == "paid"


def test_webhook_with_a_wrong_signature_is_refused_and_changes_nothing(unpaid):
    response = webhook(paid_event(unpaid), secret="guessed")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not Payment.objects.exists()


def test_webhook_older_than_5_minutes_is_refused_as_a_replay(unpaid):
    import time

    assert webhook(paid_event(unpaid), at=int(time.time()) - 301).status_code == 401  # noqa: TID251
    assert not Payment.objects.exists()


def test_webhook_missing_a_field_names_it(unpaid):
    body = paid_event(unpaid)
    del body["reference"]
    response = webhook(body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reference"


def test_applicant_follows_the_parcel_on_the_carriers_tracking_page(shipment):
    from django.test import Client
    from django.urls import reverse

    warehouse().post(f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment), format="json")
    carrier().post(
        f"/api/v1/shipments/{shipment.reference}/tracking-events/",
        {"event_id": "t-1", "code": "in_transit", "occurred_at": "2026-11-25T18:00:00+01:00"},
        format="json",
    )
    applicant = Client()
    applicant.force_login(shipment.subscriber.user)
    status = applicant.get(reverse("portal:application", args=[shipment.application.reference])).text
    assert "3SFLEX123" in status
    tracking_url = reverse("sandbox:tracking", args=["3SFLEX123"])
    assert tracking_url in status
    assert "onderweg" in Client().get(tracking_url).text
    assert Client().get(reverse("sandbox:tracking", args=["NOPE"])).status_code == 404
