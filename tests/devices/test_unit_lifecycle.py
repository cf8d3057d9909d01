import pytest
from django.core.exceptions import PermissionDenied

from accounts import roles
from devices import services
from devices.models import DeviceUnit, UnitStatus
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import DeviceUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def returning_unit():
    unit = DeviceUnitFactory()
    for step in ("reserve", "ship", "deliver", "start_return"):
        getattr(unit, step)()
    unit.save()
    return unit


def test_returned_unit_goes_back_into_stock_as_refurbished_after_passing_inspection():
    warehouse = Actor.of_user(UserFactory(role=roles.WAREHOUSE))
    unit = returning_unit()
    services.receive_unit(unit.pk, actor=warehouse)
    services.start_inspection(unit.pk, actor=warehouse)
    services.record_inspection(unit.pk, passed=True, note="cleaned, complete", actor=warehouse)
    unit = services.restock_unit(unit.pk, actor=warehouse)
    assert unit.status == UnitStatus.IN_STOCK
    assert unit.condition == "refurbished"
    assert list(AuditEvent.objects.filter(target_id=str(unit.pk)).values_list("action", "rule")) == [
        ("restock", "PLAN-1"),
        ("record_inspection", "TERM-9"),
        ("start_inspection", "TERM-9"),
        ("receive", "TERM-3"),
    ]


def test_restock_refused_without_passed_inspection_plan_1():
    warehouse = Actor.of_user(UserFactory(role=roles.WAREHOUSE))
    unit = returning_unit()
    services.receive_unit(unit.pk, actor=warehouse)
    services.start_inspection(unit.pk, actor=warehouse)
    with pytest.raises(Refused) as refused:
        services.restock_unit(unit.pk, actor=warehouse)
    assert refused.value.refusal.rule == "PLAN-1"
    assert refused.value.refusal.article == "terms art. 1.1.2, 3.1, 11"
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.INSPECTING


def test_transition_from_the_wrong_state_names_its_rule():
    unit = DeviceUnitFactory()
    with pytest.raises(Refused) as refused:
        services.receive_unit(unit.pk, actor=Actor.system("test"))
    assert refused.value.refusal.rule == "TERM-3"
    assert refused.value.refusal.message == "Ontvangen is niet mogelijk: apparaat is nu op voorraad."


def test_customer_service_may_not_receive_units():
    customer_service = Actor.of_user(UserFactory(role=roles.CUSTOMER_SERVICE))
    unit = returning_unit()
    with pytest.raises(PermissionDenied):
        services.receive_unit(unit.pk, actor=customer_service)
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.RETURNING


def test_register_stock_is_all_or_nothing():
    known = DeviceUnitFactory(serial_number="SN-KNOWN-1")
    with pytest.raises(Refused) as refused:
        services.register_stock(
            sku=known.product.sku,
            serial_numbers=["SN-NEW-1", "SN-KNOWN-1"],
            condition="new",
            actor=Actor.partner("warehouse"),
            warehouse=services.configured_partner("warehouse"),
        )
    assert refused.value.refusal.field == "serial_numbers"
    assert not DeviceUnit.objects.filter(serial_number="SN-NEW-1").exists()
