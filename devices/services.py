"""Use cases about device units: stock arriving, units coming back, inspection, write-off, loss."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from sequences import get_next_value

from accounts.models import Address, Partner, PartnerKind, Subscriber
from accounts.services import disclose_to, log_disclosure, partner_for_code
from devices import rules, signals
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


def configured_partner(kind: str) -> Partner:
    """The partner row of the warehouse or carrier the adapters talk to (created on first use, as a
    disclosure to it would be)."""
    return partner_for_code(settings.FLEX_PARTNERS[kind].partner_code, kind=kind)


def register_stock(
    *, sku: str, serial_numbers: list[str], condition: str, actor: Actor, warehouse: Partner
) -> list[DeviceUnit]:
    """The warehouse reports units arriving in stock (PLAN-1: every unit stays company property).

    The units belong to the warehouse that reports them; only a warehouse partner registers stock
    (`PermissionDenied` otherwise). All or nothing: one unknown product or an already registered serial
    refuses the whole delivery.
    """
    _require_kind(warehouse, PartnerKind.WAREHOUSE, _("Only a warehouse partner registers stock."))
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
                [
                    DeviceUnit(serial_number=s, product=product, condition=condition, warehouse=warehouse)
                    for s in cleaned
                ]
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


def reserve_units(demand: Counter[int], *, allows_refurbished: bool, actor: Actor) -> list[DeviceUnit] | None:
    """Reserve `demand` (product id -> quantity) from stock, all or nothing (PLAN-2); None when short.

    Runs in the caller's transaction. Units are taken with `FOR UPDATE SKIP LOCKED`, so two concurrent
    allocations never get the same unit: the second one sees the first one's units as gone. Refurbished
    units go first where the plan allows them (terms art. 1.1.2), then the longest in stock. A staff
    actor needs the permission to allocate units (`PermissionDenied`).
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
        perform(unit, "reserve", user=staff_of(actor))
        unit.status_changed_at = now
    # One state for all of them (the target of `reserve`): one plain UPDATE, not a CASE per row.
    DeviceUnit.objects.filter(pk__in=[unit.pk for unit in taken]).update(
        status=UnitStatus.RESERVED, status_changed_at=now
    )
    return taken


def create_shipment(subscriber: Subscriber, address: Address, units: list[DeviceUnit], *, actor: Actor) -> Shipment:
    """An outbound shipment of reserved units to the physical address; free of charge (PLAN-6).

    The shipment belongs to the warehouse that holds the units: only that partner reads and confirms
    it. Runs in the caller's transaction; the order goes to the warehouse once that commits.
    """
    from devices.tasks import order_shipment as order_task

    holders = {unit.warehouse_id for unit in units}
    if len(holders) == 1 and None not in holders:
        warehouse_id = holders.pop()
    else:
        warehouse_id = configured_partner(PartnerKind.WAREHOUSE).pk
    shipment = Shipment.objects.create(
        reference=f"SHP{get_next_value('shipment'):07d}",
        subscriber=subscriber,
        address=address,
        warehouse_id=warehouse_id,
        requested_at=clock.now(),
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
    from devices.adapters.warehouse import OrderLine, OutboundOrder, warehouse

    shipment = Shipment.objects.select_related("subscriber", "address", "warehouse").get(pk=shipment_id)
    if shipment.status != ShipmentStatus.REQUESTED:
        return shipment
    adapter = warehouse()
    address = shipment.address
    lines = tuple(
        OrderLine(sku, serial_number)
        for sku, serial_number in shipment.items.order_by("id").values_list("unit__product__sku", "unit__serial_number")
    )
    order_id = disclose_to(
        adapter,
        subscriber=shipment.subscriber,
        purpose="ship the rented devices (terms art. 3.6)",
        reference=shipment.reference,
        partner=shipment.warehouse,  # the warehouse the adapter talks to, as a rule
    ).order_shipment(
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
            perform(shipment, "order", order_id, user=staff_of(actor))
            shipment.status_changed_at = clock.now()
            shipment.save(update_fields=["status", "status_changed_at", "warehouse_order"])
        elif not shipment.warehouse_order:
            # The warehouse's confirmation overtook our order call's answer: keep the order id all the same.
            shipment.warehouse_order = order_id
            shipment.save(update_fields=["warehouse_order"])
        record(actor, "order_shipment", shipment, rule="PLAN-6", warehouse_order=order_id)
    return shipment


def confirm_shipped(
    reference: str,
    *,
    serial_numbers: list[str],
    carrier: str,
    tracking_code: str,
    shipped_at: datetime,
    actor: Actor,
    warehouse: Partner,
) -> Shipment:
    """The warehouse confirms it shipped the order with these serials (REG-7 was met at allocation).

    Only the warehouse the shipment was ordered at may confirm it (another partner learns nothing:
    `Shipment.DoesNotExist`). `carrier` is the code of the carrier partner that took the parcel; the
    shipment is bound to it, so only that carrier's tracking events count (PLAN-6). The serials must be
    exactly the reserved ones (PLAN-2: the subscriber gets the allocated units). `shipped_at` may not lie
    in the future nor before the order, nor after a delivery the carrier already reported (PLAN-6).
    A repeated confirmation with the same serials changes nothing; the named carrier's events held for
    this reference since the order are bound to the shipment and applied now.
    """
    _require_kind(warehouse, PartnerKind.WAREHOUSE, _("Only a warehouse partner confirms shipping."))
    with transaction.atomic(), history_context(actor, "confirm_shipped"):
        shipment = _locked_shipment(reference, warehouse=warehouse)
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
        carrier_partner = _carrier_named(carrier)
        if refusal := rules.reported_time_refusal(
            "shipped_at",
            shipped_at,
            now=clock.now(),
            allowed_skew=_allowed_skew(),
            not_before=shipment.requested_at or shipment.created_at,
            earlier_step=_("the order"),
        ):
            raise Refused(refusal)
        # Events the named carrier sent before this confirmation were held; those since the order are its.
        held = TrackingEvent.objects.select_for_update().filter(
            shipment__isnull=True,
            source=carrier_partner.code,
            reference=shipment.reference,
            occurred_at__gte=shipment.requested_at or shipment.created_at,
        )
        first_delivery = held.filter(code=TrackingCode.DELIVERED).order_by("occurred_at").first()
        if first_delivery is not None and first_delivery.occurred_at < shipped_at:
            raise Refused(
                Refusal(
                    rule="PLAN-6",
                    field="shipped_at",
                    message=_("The carrier reported delivery at %(delivered)s, before shipped_at %(shipped)s.")
                    % {"delivered": first_delivery.occurred_at.isoformat(), "shipped": shipped_at.isoformat()},
                )
            )
        now = clock.now()
        perform(shipment, "ship", carrier_partner, tracking_code, shipped_at, user=staff_of(actor))
        held.update(shipment=shipment)
        shipment.status_changed_at = now
        shipment.save()
        for unit in units:
            perform(unit, "ship", user=staff_of(actor))
            unit.status_changed_at = now
        DeviceUnit.objects.bulk_update(units, ["status", "status_changed_at"])
        record(actor, "confirm_shipped", shipment, rule="REG-7", tracking_code=tracking_code, carrier=carrier)
        from devices.adapters.carrier import Carrier

        # The warehouse hands the label to the carrier bound to this shipment: no call of ours follows.
        log_disclosure(
            carrier_partner.code,
            kind="carrier",
            subscriber=shipment.subscriber,
            categories=Carrier.disclosed_categories,
            purpose="deliver the parcel (label handed over by the warehouse, terms art. 3.6)",
            reference=shipment.reference,
        )
        _apply_events(shipment, actor)
    return shipment


def record_tracking_event(
    reference: str,
    *,
    carrier: Partner,
    event_id: str,
    code: str,
    occurred_at: datetime,
    actor: Actor,
) -> TrackingEvent:
    """A carrier's tracking event (PLAN-6); only a carrier partner reports them (`PermissionDenied`).

    On a shipment handed to this carrier the event is recorded and applied: its time may not lie in
    the future nor before the order, and a delivery not before the shipping; a delivered shipment stays
    delivered. Any other reference - unknown, not yet shipped, or handed to another carrier - gets one
    and the same answer: the event is held (`shipment` stays None) and nothing about a shipment is
    read into the answer or its checks (only "not in the future"), so a carrier learns nothing of a
    shipment it does not own. When the warehouse's confirmation names this carrier, its events held
    for that reference since the order are bound and applied then (a delivered event that arrived
    first waits for the confirmation). Counted once per event id: the same id for another event is
    refused (PLAN-6, field event_id).
    """
    _require_kind(carrier, PartnerKind.CARRIER, _("Only a carrier partner reports tracking events."))
    if code not in TrackingCode.values:
        raise Refused(
            Refusal(
                rule="PLAN-6",
                field="code",
                message=_("Unknown tracking code %(code)s; one of: %(codes)s.")
                % {"code": code, "codes": ", ".join(TrackingCode.values)},
            )
        )
    if len(reference) > Shipment._meta.get_field("reference").max_length:
        raise Refused(
            Refusal(
                rule="PLAN-6",
                field="reference",
                message=_("%(reference)s is not a shipment reference.") % {"reference": reference[:40]},
            )
        )
    source = carrier.code
    try:
        with transaction.atomic(), history_context(actor, "record_tracking_event"):
            # Locked whoever it is bound to, so a confirmation naming this carrier cannot slip between
            # our look and our insert and leave the event held for ever.
            shipment = (
                Shipment.objects.select_for_update(of=("self",))
                .select_related("subscriber", "carrier_partner")
                .filter(reference=reference)
                .first()
            )
            if shipment is not None and shipment.carrier_partner_id != carrier.pk:
                shipment = None  # not this carrier's: held, the same answer as for an unknown reference
            earlier = TrackingEvent.objects.filter(source=source, event_id=event_id).first()
            if earlier is not None:
                return _same_event_or_refuse(earlier, reference, code, occurred_at)
            if refusal := _tracking_time_refusal(shipment, code, occurred_at):
                raise Refused(refusal)
            event = TrackingEvent.objects.create(
                shipment=shipment,
                reference=reference,
                source=source,
                event_id=event_id,
                code=code,
                occurred_at=occurred_at,
                received_at=clock.now(),
            )
            if shipment is not None:
                _apply_events(shipment, actor)
    except IntegrityError:
        # The same event id was recorded by a concurrent delivery of this message.
        earlier = TrackingEvent.objects.get(source=source, event_id=event_id)
        return _same_event_or_refuse(earlier, reference, code, occurred_at)
    event.refresh_from_db()
    return event


def _same_event_or_refuse(earlier: TrackingEvent, reference: str, code: str, occurred_at: datetime) -> TrackingEvent:
    if refusal := rules.tracking_event_reuse_refusal(
        earlier.event_id,
        first_shipment=earlier.reference,
        first_code=earlier.code,
        first_at=earlier.occurred_at,
        shipment=reference,
        code=code,
        at=occurred_at,
    ):
        raise Refused(refusal)
    return earlier


def _tracking_time_refusal(shipment: Shipment | None, code: str, occurred_at: datetime) -> Refusal | None:
    if shipment is None:  # a held event: nothing of a shipment may show in the answer
        return rules.reported_time_refusal(
            "occurred_at", occurred_at, now=clock.now(), allowed_skew=_allowed_skew(), not_before=None, earlier_step=""
        )
    shipped = code == TrackingCode.DELIVERED and shipment.shipped_at is not None
    return rules.reported_time_refusal(
        "occurred_at",
        occurred_at,
        now=clock.now(),
        allowed_skew=_allowed_skew(),
        not_before=shipment.shipped_at if shipped else (shipment.requested_at or shipment.created_at),
        earlier_step=_("the shipping") if shipped else _("the order"),
    )


def _allowed_skew() -> timedelta:
    return timedelta(seconds=settings.FLEX["PARTNER_CLOCK_SKEW_SECONDS"])


def _carrier_named(code: str) -> Partner:
    """The carrier partner the warehouse names (by its code); the configured carrier is created on first use."""
    if code == settings.FLEX_PARTNERS["carrier"].partner_code:
        return configured_partner(PartnerKind.CARRIER)
    partner = Partner.objects.filter(code=code, kind=PartnerKind.CARRIER, is_active=True).first()
    if partner is None:
        raise Refused(
            Refusal(
                rule="PLAN-6",
                field="carrier",
                message=_("%(code)s is not a carrier partner of Flex; name the carrier by its partner code.")
                % {"code": code},
            )
        )
    return partner


def _require_kind(partner: Partner, kind: str, message: str) -> None:
    """A partner acts only in its own role (its API key's scopes are checked before; this is the rule)."""
    if partner.kind != kind:
        raise PermissionDenied(message)


def _locked_shipment(reference: str, *, warehouse: Partner) -> Shipment:
    """The shipment, locked, if it was ordered at this warehouse; `Shipment.DoesNotExist` otherwise, the
    same answer as for an unknown reference, so a warehouse learns nothing of another's shipments."""
    shipments = Shipment.objects.select_for_update(of=("self",)).select_related("subscriber", "carrier_partner")
    shipment = shipments.filter(warehouse=warehouse, reference=reference).first()
    if shipment is None:
        raise Shipment.DoesNotExist(f"There is no shipment {reference}.")
    return shipment


def _apply_events(shipment: Shipment, actor: Actor) -> None:
    """Apply waiting events in the order they happened, as far as the shipment's state allows."""
    if shipment.status in (ShipmentStatus.REQUESTED, ShipmentStatus.ORDERED) or shipment.carrier_partner is None:
        return  # not shipped yet in our books: wait for the warehouse
    # Only the carrier the parcel was handed to reports on it; another carrier's waiting events never count.
    waiting = shipment.tracking_events.filter(applied=False, source=shipment.carrier_partner.code)
    for event in waiting.order_by("occurred_at", "id"):
        if event.code == TrackingCode.DELIVERED and shipment.status == ShipmentStatus.SHIPPED:
            _deliver(shipment, event.occurred_at, actor)
        event.applied = True
        event.save(update_fields=["applied"])


def _deliver(shipment: Shipment, delivered_at: datetime, actor: Actor) -> None:
    perform(shipment, "deliver", delivered_at, user=staff_of(actor))
    shipment.status_changed_at = clock.now()
    shipment.save()
    units = list(shipment.units.select_for_update().order_by("id"))
    for unit in units:
        perform(unit, "deliver", user=staff_of(actor))
        unit.status_changed_at = clock.now()
    DeviceUnit.objects.bulk_update(units, ["status", "status_changed_at"])
    record(actor, "deliver_shipment", shipment, rule="PLAN-6", delivered_at=delivered_at.isoformat())
    delivered_on = delivered_at.astimezone(clock.AMSTERDAM).date()
    signals.shipment_delivered.send(sender=Shipment, shipment=shipment, delivered_on=delivered_on, actor=actor)
