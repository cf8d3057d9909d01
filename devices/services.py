"""Use cases about device units: stock arriving, units coming back, inspection, write-off, loss."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from sequences import get_next_value

from accounts.models import Address, Subscriber
from accounts.services import log_disclosure
from devices import signals
from devices.models import (
    DeviceUnit,
    Product,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    TrackingCode,
    TrackingEvent,
    UnitCondition,
    UnitStatus,
)
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of, transition_and_save
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
            signals.stock_available.send(sender=DeviceUnit, product_ids={product.pk})
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
    """The inspection's verdict: tested, cleaned and complete, or not (PLAN-1, TERM-9). Staff need the
    permission to handle units; the verdict decides whether the unit may be restocked."""
    staff = staff_of(actor)
    if staff is not None and not staff.has_perm("devices.handle_deviceunit"):
        raise PermissionDenied(f"{staff} may not record inspections")
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
    with transaction.atomic():
        unit = transition_and_save(DeviceUnit, unit_id, "restock", actor=actor, reason=reason)
        signals.stock_available.send(sender=DeviceUnit, product_ids={unit.product_id})
    return unit


def write_off_unit(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """A unit not worth repairing leaves the fleet (INC-2)."""
    return transition_and_save(DeviceUnit, unit_id, "write_off", actor=actor, reason=reason)


def report_unit_lost(unit_id: int, *, actor: Actor, reason: str = "") -> DeviceUnit:
    """A unit is stolen, embezzled or lost (INC-1)."""
    return transition_and_save(DeviceUnit, unit_id, "report_lost", actor=actor, reason=reason)


def reserve_units(demand: Counter[int], *, allows_refurbished: bool) -> list[DeviceUnit] | None:
    """Reserve `demand` (product id -> quantity) from stock, all or nothing (PLAN-2); None when short.

    Runs in the caller's transaction. Units are taken with `FOR UPDATE SKIP LOCKED`, so two concurrent
    allocations never get the same unit: the second one sees the first one's units as gone. Refurbished
    units go first where the plan allows them (terms art. 1.1.2), then the longest in stock.
    """
    taken: list[DeviceUnit] = []
    for product_id, quantity in sorted(demand.items()):
        in_stock = DeviceUnit.objects.filter(product_id=product_id, status=UnitStatus.IN_STOCK)
        if allows_refurbished:
            # "refurbished" sorts after "new": descending puts refurbished first.
            in_stock = in_stock.order_by("-condition", "registered_at", "id")
        else:
            in_stock = in_stock.filter(condition=UnitCondition.NEW).order_by("registered_at", "id")
        units = list(in_stock.select_for_update(skip_locked=True)[:quantity])
        if len(units) < quantity:
            return None
        taken.extend(units)
    now = clock.now()
    for unit in taken:
        perform(unit, "reserve")
        unit.status_changed_at = now
    DeviceUnit.objects.bulk_update(taken, ["status", "status_changed_at"])
    return taken


def create_shipment(subscriber: Subscriber, address: Address, units: list[DeviceUnit], *, actor: Actor) -> Shipment:
    """An outbound shipment of reserved units to the physical address; free of charge (PLAN-6).

    Runs in the caller's transaction; the order goes to the warehouse once that commits.
    """
    from devices.tasks import order_shipment as order_task

    shipment = Shipment.objects.create(
        reference=f"SHP{get_next_value('shipment'):07d}", subscriber=subscriber, address=address
    )
    ShipmentItem.objects.bulk_create([ShipmentItem(shipment=shipment, unit=unit) for unit in units])
    record(actor, "create_shipment", shipment, rule="PLAN-6", units=[u.serial_number for u in units])
    transaction.on_commit(lambda: order_task.delay(shipment.pk))
    return shipment


def order_shipment(shipment_id: int, *, actor: Actor) -> Shipment:
    """Send the order to the warehouse partner (PLAN-6). Safe to run twice: an ordered shipment is left alone.

    The disclosure is logged and committed before the call (PRIV-1): if the answer is lost, the data
    may still have reached the warehouse.
    """
    from devices.adapters.warehouse import DISCLOSED_CATEGORIES, OrderLine, OutboundOrder, warehouse

    shipment = Shipment.objects.select_related("subscriber", "address").get(pk=shipment_id)
    if shipment.status != ShipmentStatus.REQUESTED:
        return shipment
    adapter = warehouse()
    address = shipment.address
    lines = tuple(
        OrderLine(item.unit.product.sku, item.unit.serial_number)
        for item in shipment.items.select_related("unit__product").order_by("id")
    )
    log_disclosure(
        adapter.cfg.partner_code,
        kind="warehouse",
        subscriber=shipment.subscriber,
        categories=DISCLOSED_CATEGORIES,
        purpose="ship the rented devices (terms art. 3.6)",
        reference=shipment.reference,
    )
    order_id = adapter.order_shipment(
        OutboundOrder(
            reference=shipment.reference,
            recipient=shipment.subscriber.display_name,
            street=address.street,
            house_number=f"{address.house_number}{address.house_number_suffix}",
            postcode=address.postcode,
            city=address.city,
            lines=lines,
        )
    )
    with transaction.atomic(), history_context(actor, "order_shipment"):
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.status == ShipmentStatus.REQUESTED:
            perform(shipment, "order", order_id)
            shipment.status_changed_at = clock.now()
            shipment.save()
        elif not shipment.warehouse_order:
            # The warehouse's confirmation overtook our order call's answer: keep the order id all the same.
            shipment.warehouse_order = order_id
            shipment.save(update_fields=["warehouse_order"])
        record(actor, "order_shipment", shipment, rule="PLAN-6", warehouse_order=order_id)
    return shipment


def confirm_shipped(
    reference: str, *, serial_numbers: list[str], carrier: str, tracking_code: str, shipped_at: datetime, actor: Actor
) -> Shipment:
    """The warehouse confirms it shipped the order with these serials (REG-7 was met at allocation).

    The serials must be exactly the reserved ones (PLAN-2: the subscriber gets the allocated units).
    A repeated confirmation with the same serials changes nothing; carrier events that arrived first
    are applied now.
    """
    with transaction.atomic(), history_context(actor, "confirm_shipped"):
        shipment = _locked_shipment(reference)
        units = list(shipment.units.select_for_update().order_by("id"))
        expected = {u.serial_number for u in units}
        given = {s.strip().upper() for s in serial_numbers}
        if given != expected:
            raise Refused(
                Refusal(
                    rule="PLAN-2",
                    field="serial_numbers",
                    message=_("Shipment %(reference)s holds %(expected)s; the confirmation names %(given)s.")
                    % {
                        "reference": reference,
                        "expected": ", ".join(sorted(expected)),
                        "given": ", ".join(sorted(given)) or "-",
                    },
                )
            )
        if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
            return shipment
        now = clock.now()
        perform(shipment, "ship", carrier, tracking_code, shipped_at)
        shipment.status_changed_at = now
        shipment.save()
        for unit in units:
            perform(unit, "ship")
            unit.status_changed_at = now
        DeviceUnit.objects.bulk_update(units, ["status", "status_changed_at"])
        record(actor, "confirm_shipped", shipment, rule="REG-7", tracking_code=tracking_code, carrier=carrier)
        from devices.adapters.carrier import DISCLOSED_CATEGORIES
        from devices.adapters.carrier import carrier as carrier_adapter

        log_disclosure(
            carrier_adapter().cfg.partner_code,
            kind="carrier",
            subscriber=shipment.subscriber,
            categories=DISCLOSED_CATEGORIES,
            purpose="deliver the parcel (label handed over by the warehouse, terms art. 3.6)",
            reference=shipment.reference,
        )
        _apply_events(shipment, actor)
    return shipment


def record_tracking_event(
    reference: str, *, source: str, event_id: str, code: str, occurred_at: datetime, actor: Actor
) -> TrackingEvent:
    """A carrier's tracking event. Counted once per event id; an event that comes before the warehouse's
    confirmation waits and is applied when the shipment is shipped; a delivered shipment stays delivered."""
    if code not in TrackingCode.values:
        raise Refused(
            Refusal(
                rule="PLAN-6",
                field="code",
                message=_("Unknown tracking code %(code)s; one of: %(codes)s.")
                % {"code": code, "codes": ", ".join(TrackingCode.values)},
            )
        )
    try:
        with transaction.atomic(), history_context(actor, "record_tracking_event"):
            shipment = _locked_shipment(reference)
            event = TrackingEvent.objects.create(
                shipment=shipment,
                source=source,
                event_id=event_id,
                code=code,
                occurred_at=occurred_at,
                received_at=clock.now(),
            )
            _apply_events(shipment, actor)
    except IntegrityError:
        return TrackingEvent.objects.get(source=source, event_id=event_id)
    event.refresh_from_db()
    return event


def _locked_shipment(reference: str) -> Shipment:
    shipment = Shipment.objects.select_for_update().select_related("subscriber").filter(reference=reference).first()
    if shipment is None:
        raise Refused(
            Refusal(
                rule="PLAN-6",
                field="reference",
                message=_("There is no shipment %(reference)s.") % {"reference": reference},
            )
        )
    return shipment


def _apply_events(shipment: Shipment, actor: Actor) -> None:
    """Apply waiting events in the order they happened, as far as the shipment's state allows."""
    for event in shipment.tracking_events.filter(applied=False).order_by("occurred_at", "id"):
        if shipment.status in (ShipmentStatus.REQUESTED, ShipmentStatus.ORDERED):
            return  # not shipped yet in our books: wait for the warehouse
        if event.code == TrackingCode.DELIVERED and shipment.status == ShipmentStatus.SHIPPED:
            _deliver(shipment, event.occurred_at, actor)
        event.applied = True
        event.save(update_fields=["applied"])


def _deliver(shipment: Shipment, delivered_at: datetime, actor: Actor) -> None:
    perform(shipment, "deliver", delivered_at)
    shipment.status_changed_at = clock.now()
    shipment.save()
    units = list(shipment.units.select_for_update().order_by("id"))
    for unit in units:
        perform(unit, "deliver")
        unit.status_changed_at = clock.now()
    DeviceUnit.objects.bulk_update(units, ["status", "status_changed_at"])
    record(actor, "deliver_shipment", shipment, rule="PLAN-6", delivered_at=delivered_at.isoformat())
    delivered_on = delivered_at.astimezone(clock.AMSTERDAM).date()
    signals.shipment_delivered.send(sender=Shipment, shipment=shipment, delivered_on=delivered_on, actor=actor)
