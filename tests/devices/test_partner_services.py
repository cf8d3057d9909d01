"""Who may act on units and shipments is decided in the services, not in the views that call them."""

import importlib
import inspect
from collections import Counter

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation

from accounts import roles
from devices import services
from devices.models import DeviceUnit, Shipment, ShipmentStatus, UnitStatus
from flex import clock
from flex.audit.trail import Actor
from tests.factories import AddressFactory, DeviceUnitFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("service", "partner"),
    [
        (services.register_stock, "warehouse"),
        (services.confirm_shipped, "warehouse"),
        (services.record_tracking_event, "carrier"),
    ],
)
def test_the_acting_partner_is_a_required_argument(service, partner):
    """M4: a caller that forgets the partner must not act with the configured partner's rights."""
    assert inspect.signature(service).parameters[partner].default is inspect.Parameter.empty


def test_only_a_warehouse_registers_stock():
    unit = DeviceUnitFactory()
    carrier = PartnerFactory(code="carrier", name="Carrier", kind="carrier")
    with pytest.raises(PermissionDenied, match="Only a warehouse partner registers stock"):
        services.register_stock(
            sku=unit.product.sku,
            serial_numbers=["SN-CARRIED-1"],
            condition="new",
            actor=Actor.partner("carrier"),
            warehouse=carrier,
        )
    assert not DeviceUnit.objects.filter(serial_number="SN-CARRIED-1").exists()


def test_only_a_carrier_reports_tracking_events():
    warehouse = PartnerFactory()
    with pytest.raises(PermissionDenied, match="Only a carrier partner reports tracking events"):
        services.record_tracking_event(
            "SHP0000001",
            carrier=warehouse,
            event_id="e1",
            code="delivered",
            occurred_at=clock.now(),
            actor=Actor.partner("warehouse"),
        )


def test_only_a_warehouse_confirms_shipping():
    carrier = PartnerFactory(code="carrier", name="Carrier", kind="carrier")
    with pytest.raises(PermissionDenied, match="Only a warehouse partner confirms shipping"):
        services.confirm_shipped(
            "SHP0000001",
            serial_numbers=[],
            carrier="carrier",
            tracking_code="3S1",
            shipped_at=clock.now(),
            actor=Actor.partner("carrier"),
            warehouse=carrier,
        )


def test_staff_without_the_allocation_permission_may_not_reserve_units():
    """M6: reserve_units checks the staff actor's transition permission, as every service does."""
    unit = DeviceUnitFactory()
    warehouse_staff = Actor.of_user(UserFactory(role=roles.WAREHOUSE))
    with pytest.raises(PermissionDenied):
        services.reserve_units(Counter({unit.product_id: 1}), allows_refurbished=False, actor=warehouse_staff)
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.IN_STOCK
    reserved = services.reserve_units(
        Counter({unit.product_id: 1}), allows_refurbished=False, actor=Actor.system("allocation")
    )
    assert [u.status for u in reserved] == [UnitStatus.RESERVED]


def test_shipped_rows_from_before_partner_ownership_are_bound_to_the_configured_carrier():
    """M5: a shipped row whose free-text carrier names no partner would be invisible to every carrier."""
    migration = importlib.import_module("devices.migrations.0006_partner_ownership")
    address = AddressFactory()
    legacy = Shipment.objects.create(
        reference="SHP0000042",
        subscriber=address.subscriber,
        address=address,
        warehouse=PartnerFactory(),
        carrier="PostNL",
        status=ShipmentStatus.SHIPPED,
    )
    waiting = Shipment.objects.create(
        reference="SHP0000043", subscriber=address.subscriber, address=address, warehouse=PartnerFactory()
    )
    migration.bind_existing_rows(apps, None)
    legacy.refresh_from_db()
    waiting.refresh_from_db()
    assert legacy.carrier_partner.code == settings.FLEX_PARTNERS["carrier"].partner_code
    assert legacy.carrier_partner.kind == "carrier"
    assert waiting.carrier_partner is None  # not shipped: the warehouse names the carrier when it ships
