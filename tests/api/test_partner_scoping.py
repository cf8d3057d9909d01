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


def test_another_carriers_delivered_event_is_held_and_changes_nothing(shipment):
    ship(shipment)
    response = tracking(other_carrier(), shipment)
    assert (response.status_code, response.json()) == (202, {"event_id": "trk-1", "held": True})
    assert Shipment.objects.get().status == "shipped"
    assert TrackingEvent.objects.get().shipment is None
    assert tracking(carrier(), shipment).status_code == 201
    assert Shipment.objects.get().status == "delivered"


@pytest.mark.parametrize("shipped", [False, True], ids=["ordered", "handed to another carrier"])
def test_a_carrier_learns_nothing_of_a_shipment_it_does_not_own(shipment, shipped):
    """H2: an unbound or another carrier's shipment answers exactly as an unknown reference does, even
    for a time before the order (which the shipment's own checks would refuse) and a reused event id."""
    if shipped:
        ship(shipment)
    unknown = type("Unknown", (), {"reference": "SHP9999999"})()
    client = other_carrier()
    early = "2020-01-01T12:00:00+01:00"  # long before the order
    targets = (("known", shipment), ("unknown", unknown))
    answers = [
        tracking(client, target, event_id=f"{name}-1", code="in_transit", occurred_at=early) for name, target in targets
    ]
    assert [(r.status_code, r.json()) for r in answers] == [
        (202, {"event_id": "known-1", "held": True}),
        (202, {"event_id": "unknown-1", "held": True}),
    ]
    # A reused id is refused the same way for both: the refusal names only what the carrier sent.
    reused = [tracking(client, target, event_id=f"{name}-1") for name, target in targets]
    assert [(r.status_code, r.json()["errors"][0]["field"]) for r in reused] == [(409, "event_id"), (409, "event_id")]
    assert "shipped" not in reused[0].text and "ordered" not in reused[0].text
    assert Shipment.objects.get().status == ("shipped" if shipped else "ordered")
    assert not TrackingEvent.objects.filter(shipment__isnull=False).exists()


def test_a_carrier_the_warehouse_names_later_gets_its_held_events_applied(shipment):
    """The documented out-of-order case holds for the named carrier: held first, applied on confirmation."""
    assert tracking(carrier(), shipment, occurred_at="2026-11-26T12:00:00+01:00").status_code == 202
    assert ship(shipment).status_code == 200
    event = TrackingEvent.objects.get()
    assert (event.shipment_id, event.applied) == (shipment.pk, True)
    assert Shipment.objects.get().status == "delivered"
    resent = tracking(carrier(), shipment, occurred_at="2026-11-26T12:00:00+01:00")
    assert (resent.status_code, resent.json()["shipment_status"]) == (201, "delivered")


@pytest.mark.django_db
def test_a_reference_longer_than_any_shipment_reference_is_refused_naming_it():
    too_long = type("Long", (), {"reference": "SHP" + "9" * 30})()
    response = tracking(other_carrier(), too_long)
    assert (response.status_code, response.json()["errors"][0]["field"]) == (409, "reference")
    assert not TrackingEvent.objects.exists()


def test_a_waiting_event_of_a_carrier_the_warehouse_did_not_name_never_counts(shipment):
    assert tracking(other_carrier(), shipment).status_code == 202  # before the confirmation: held
    ship(shipment)
    assert Shipment.objects.get().status == "shipped"
    assert Subscription.objects.get().status == "pending_delivery"
    assert TrackingEvent.objects.get().shipment is None


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
