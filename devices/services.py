"""Use cases about device units: stock arriving, units coming back, inspection, write-off, loss."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from devices.models import DeviceUnit, Product
from flex.audit.trail import Actor, history_context, record
from flex.fsm import transition_and_save
from flex.refusals import Refusal, Refused


def register_stock(*, sku: str, serial_numbers: list[str], condition: str, actor: Actor) -> list[DeviceUnit]:
    """The warehouse reports units arriving in stock (PLAN-1: every unit stays company property).

    All or nothing: one unknown product or an already registered serial refuses the whole delivery.
    """
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        raise Refused(
            Refusal(rule="PLAN-1", field="sku", message=_("There is no product with SKU %(sku)s.") % {"sku": sku})
        )
    cleaned = [serial.strip().upper() for serial in serial_numbers]
    duplicates = sorted({s for s in cleaned if cleaned.count(s) > 1})
    if duplicates:
        raise Refused(
            Refusal(
                rule="PLAN-1",
                field="serial_numbers",
                message=_("Serial numbers appear twice in this delivery: %(serials)s.")
                % {"serials": ", ".join(duplicates)},
            )
        )
    try:
        with transaction.atomic(), history_context(actor, "register_stock"):
            units = DeviceUnit.objects.bulk_create(
                [DeviceUnit(serial_number=s, product=product, condition=condition) for s in cleaned]
            )
            for unit in units:
                record(actor, "register_stock", unit, rule="PLAN-1")
    except IntegrityError:
        known = list(DeviceUnit.objects.filter(serial_number__in=cleaned).values_list("serial_number", flat=True))
        raise Refused(
            Refusal(
                rule="PLAN-1",
                field="serial_numbers",
                message=_("Already registered: %(serials)s.") % {"serials": ", ".join(sorted(known))},
            )
        ) from None
    return units


def receive_unit(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """The warehouse has a unit back (TERM-3)."""
    return transition_and_save(DeviceUnit, unit_id, "receive", actor=actor, reason=reason)


def start_inspection(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """The warehouse starts checking a returned unit for damage (TERM-9)."""
    return transition_and_save(DeviceUnit, unit_id, "start_inspection", actor=actor, reason=reason)


def record_inspection(unit_id: int, *, passed: bool, note: str, actor: Actor) -> DeviceUnit:
    """The inspection's verdict: tested, cleaned and complete, or not (PLAN-1, TERM-9)."""
    with transaction.atomic(), history_context(actor, "record_inspection", note):
        unit = DeviceUnit.objects.select_for_update().get(pk=unit_id)
        if unit.status != "inspecting":
            raise Refused(
                Refusal(
                    rule="TERM-9",
                    field="status",
                    message=_("Unit %(serial)s is not being inspected.") % {"serial": unit.serial_number},
                )
            )
        unit.inspection_passed, unit.inspection_note = passed, note
        unit.save(update_fields=["inspection_passed", "inspection_note"])
        record(actor, "record_inspection", unit, rule="TERM-9", reason=note, passed=passed)
    return unit


def restock_unit(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """An inspected unit goes back into stock as refurbished (PLAN-1)."""
    return transition_and_save(DeviceUnit, unit_id, "restock", actor=actor, reason=reason)


def write_off_unit(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """A unit not worth repairing leaves the fleet (INC-2)."""
    return transition_and_save(DeviceUnit, unit_id, "write_off", actor=actor, reason=reason)


def report_unit_lost(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """A unit is stolen, embezzled or lost (INC-1)."""
    return transition_and_save(DeviceUnit, unit_id, "report_lost", actor=actor, reason=reason)
