"""A partner reads and changes only its own objects (issue 7 §3): another partner's shipment or unit is
a 404, lists show only the caller's own, and reported times and event ids are checked (PLAN-6)."""

import pytest

from accounts.models import Partner
from billing.models import Subscription
from devices.models import Shipment, TrackingEvent
from tests.api.test_shipping_api import carrier, partner_client, shipped_body, warehouse
from tests.factories import DeviceUnitFactory, PartnerFactory


def other_carrier():
    return partner_client("other-carrier", "carrier", ["tracking:write", "shipments:read", "units:read"])


def tracking(client, shipment, event_id="trk-1", code="delivered", occurred_at="2026-11-26T12:00:00+01:00"):
    return client.post(
        f"/api/v1/shipments/{shipment.reference}/tracking-events/",
        {"event_id": event_id, "code": code, "occurred_at": occurred_at},
        format="json",
    )


def ship(shipment, **overrides):
    return warehouse().post(
        f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment, **overrides), format="json"
    )


def test_shipment_is_bound_to_its_warehouse_and_to_the_carrier_the_warehouse_names(shipment):
    assert ship(shipment).status_code == 200
    shipment.refresh_from_db()
    assert (shipment.warehouse.code, shipment.carrier_partner.code) == ("warehouse", "carrier")


def test_another_carriers_delivered_event_is_a_404_and_changes_nothing(shipment):
    ship(shipment)
    response = tracking(other_carrier(), shipment)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert Shipment.objects.get().status == "shipped"
    assert not TrackingEvent.objects.exists()
    assert tracking(carrier(), shipment).status_code == 201
    assert Shipment.objects.get().status == "delivered"


def test_a_waiting_event_of_a_carrier_the_warehouse_did_not_name_never_counts(shipment):
    assert tracking(other_carrier(), shipment).json()["applied"] is False  # before the confirmation: held
    ship(shipment)
    assert Shipment.objects.get().status == "shipped"
    assert Subscription.objects.get().status == "pending_delivery"


def test_another_warehouse_cannot_read_or_confirm_the_shipment(shipment):
    other = partner_client("other-warehouse", "warehouse", ["shipments:read", "shipments:write"])
    assert other.get(f"/api/v1/shipments/{shipment.reference}/").status_code == 404
    assert other.get("/api/v1/shipments/").json()["results"] == []
    response = other.post(f"/api/v1/shipments/{shipment.reference}/shipped/", shipped_body(shipment), format="json")
    assert response.status_code == 404
    assert Shipment.objects.get().status == "ordered"
    assert [row["reference"] for row in warehouse().get("/api/v1/shipments/").json()["results"]] == [shipment.reference]


def test_carrier_lists_only_the_shipments_handed_to_it(shipment):
    ship(shipment)
    mine = partner_client("carrier", "carrier", ["shipments:read"]).get("/api/v1/shipments/").json()["results"]
    assert [row["reference"] for row in mine] == [shipment.reference]
    assert other_carrier().get("/api/v1/shipments/").json()["results"] == []
    assert other_carrier().get(f"/api/v1/shipments/{shipment.reference}/").status_code == 404


def test_warehouse_must_name_a_carrier_partner(shipment):
    response = ship(shipment, carrier="PostNL")
    assert response.status_code == 409
    assert (response.json()["rule"], response.json()["errors"][0]["field"]) == ("PLAN-6", "carrier")
    assert Shipment.objects.get().status == "ordered"


@pytest.mark.django_db
def test_a_carrier_sees_no_device_units_and_a_warehouse_only_its_own():
    DeviceUnitFactory(serial_number="SN-OURS-0001")
    DeviceUnitFactory(serial_number="SN-THEIRS-01", warehouse=PartnerFactory(code="other-warehouse"))
    mine = partner_client("warehouse", "warehouse", ["units:read"])
    assert [u["serial_number"] for u in mine.get("/api/v1/device-units/").json()["results"]] == ["SN-OURS-0001"]
    assert mine.get("/api/v1/device-units/SN-THEIRS-01/").status_code == 404
    courier = partner_client("carrier", "carrier", ["units:read", "units:write"])
    assert courier.get("/api/v1/device-units/").json()["results"] == []
    assert courier.get("/api/v1/device-units/SN-OURS-0001/").status_code == 404
    refused = courier.post("/api/v1/device-units/", {"sku": "X", "serial_numbers": ["SN-NEW-0001"]}, format="json")
    assert refused.status_code == 403


@pytest.mark.django_db
def test_stock_registered_by_a_warehouse_belongs_to_it():
    from tests.factories import ProductFactory

    product = ProductFactory()
    other = partner_client("other-warehouse", "warehouse", ["units:write", "units:read"])
    response = other.post(
        "/api/v1/device-units/", {"sku": product.sku, "serial_numbers": ["SN-NEW-0001"]}, format="json"
    )
    assert response.status_code == 201
    assert [u["serial_number"] for u in other.get("/api/v1/device-units/").json()["results"]] == ["SN-NEW-0001"]
    assert partner_client("warehouse", "warehouse", ["units:read"]).get("/api/v1/device-units/").json()["results"] == []
    assert Partner.objects.get(code="other-warehouse").pk == response.wsgi_request.user.partner.pk


# --- event ids ---


def test_an_event_id_reused_on_another_event_is_a_409_naming_event_id(shipment):
    ship(shipment)
    assert tracking(carrier(), shipment, code="in_transit", occurred_at="2026-11-25T18:00:00+01:00").status_code == 201
    response = tracking(carrier(), shipment, code="delivered")  # same event id "trk-1", another event
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert (response.json()["rule"], response.json()["errors"][0]["field"]) == ("PLAN-6", "event_id")
    assert Shipment.objects.get().status == "shipped"


# --- dates ---


def test_a_delivery_in_the_future_is_refused_naming_occurred_at(shipment):
    ship(shipment)
    response = tracking(carrier(), shipment, occurred_at="2099-01-01T12:00:00+01:00")
    assert response.status_code == 409
    assert (response.json()["rule"], response.json()["errors"][0]["field"]) == ("PLAN-6", "occurred_at")
    assert Subscription.objects.get().status == "pending_delivery"


def test_a_delivery_within_the_clock_skew_is_accepted(shipment):
    ship(shipment)
    assert tracking(carrier(), shipment, occurred_at="2026-11-27T09:04:00+01:00").status_code == 201  # now + 4 min
    assert Shipment.objects.get().status == "delivered"


def test_a_delivery_before_the_shipping_is_refused(shipment):
    ship(shipment)  # shipped 25 November 10:00
    response = tracking(carrier(), shipment, occurred_at="2026-11-25T09:00:00+01:00")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "occurred_at"
    assert Shipment.objects.get().status == "shipped"


def test_shipping_confirmed_after_the_reported_delivery_is_refused(shipment):
    tracking(carrier(), shipment, occurred_at="2026-11-25T09:00:00+01:00")  # held: no confirmation yet
    response = ship(shipment)  # shipped_at 25 November 10:00, after the delivery
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "shipped_at"
    assert Shipment.objects.get().status == "ordered"


@pytest.mark.parametrize("shipped_at", ["1900-01-01T10:00:00+01:00", "2026-11-23T10:00:00+01:00"])
def test_shipped_before_the_order_is_refused_naming_shipped_at(shipment, shipped_at):
    response = ship(shipment, shipped_at=shipped_at)  # ordered 24 November
    assert response.status_code == 409
    assert (response.json()["rule"], response.json()["errors"][0]["field"]) == ("PLAN-6", "shipped_at")
    assert Shipment.objects.get().shipped_at is None


def test_shipped_in_the_future_is_refused(shipment):
    response = ship(shipment, shipped_at="2099-01-01T10:00:00+01:00")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "shipped_at"
