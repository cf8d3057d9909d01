"""From acceptance to the doorstep: units allocated all or nothing, the shipment ordered at the
warehouse, Radio HD switched on, and the subscription started on delivery (PLAN-2, PLAN-6, RADIO-1,
TERM-1, WD-1)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import transaction
from django.db.models import Value

from accounts.selectors import current_address
from billing import rules
from billing.models import (
    MINIMUM_TERM_MONTHS,
    Application,
    ApplicationAddOn,
    ApplicationStatus,
    BillingSchedule,
    Subscription,
    SubscriptionStatus,
)
from devices import services as device_services
from devices.models import PlanItem
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of

AS = ApplicationStatus


def allocation_demand(application: Application) -> Counter[int]:
    """Product id -> quantity: the plan's items and one unit per add-on chosen, read in one query."""
    items = PlanItem.objects.filter(plan_id=application.plan_id).order_by().values_list("product_id", "quantity")
    addons = (
        ApplicationAddOn.objects.filter(application_id=application.pk)
        .order_by()
        .annotate(quantity=Value(1))
        .values_list("product_id", "quantity")
    )
    demand: Counter[int] = Counter()
    for product_id, quantity in items.union(addons, all=True):
        demand[product_id] += quantity
    return demand


def allocate_application(application_id: int, *, actor: Actor) -> Application:
    """Reserve every unit of the plan and add-ons and order the shipment (PLAN-2, PLAN-6), all or
    nothing: when a product is short, the application waits for stock with nothing reserved.

    Two acceptances racing for the last unit: the unit rows are taken with SKIP LOCKED, so one gets
    it and the other waits for stock; a unit is never reserved twice (and `SubscriptionUnit` has a
    unique constraint on open allocations besides).
    """
    from billing.models import SubscriptionUnit

    with transaction.atomic(), history_context(actor, "allocate_application"):
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("subscriber", "plan")
            .get(pk=application_id)
        )
        if application.status not in (AS.ACCEPTED, AS.AWAITING_STOCK):
            return application
        units = device_services.reserve_units(
            allocation_demand(application), allows_refurbished=application.plan.allows_refurbished, actor=actor
        )
        if units is None:
            if application.status == AS.ACCEPTED:
                perform(application, "wait_for_stock", user=staff_of(actor))
                application.status_changed_at = clock.now()
                application.save(update_fields=["status", "status_changed_at"])
                record(actor, "wait_for_stock", application, rule="PLAN-2")
            return application
        now = clock.now()
        SubscriptionUnit.objects.bulk_create(
            [
                SubscriptionUnit(subscription_id=application.subscription_id, unit=unit, allocated_at=now)
                for unit in units
            ]
        )
        address = current_address(application.subscriber)
        shipment = device_services.create_shipment(application.subscriber, address, units, actor=actor)
        perform(application, "allocate", user=staff_of(actor))
        application.shipment = shipment
        application.status_changed_at = now
        application.save(update_fields=["status", "status_changed_at", "shipment"])
        record(actor, "allocate", application, rule="PLAN-2", units=[u.serial_number for u in units])
    return application


def resume_awaiting_stock(*, actor: Actor) -> int:
    """Stock arrived: allocate the applications waiting for it, oldest acceptance first."""
    allocated = 0
    waiting = Application.objects.filter(status=AS.AWAITING_STOCK).order_by("decided_at", "id")
    for pk in list(waiting.values_list("pk", flat=True)):
        if allocate_application(pk, actor=actor).status == AS.ALLOCATED:
            allocated += 1
    return allocated


def activate_radio_hd(subscription_id: int, *, actor: Actor) -> Subscription:
    """RADIO-1 (terms art. 4): Radio HD is switched on when the subscriber is accepted. Once."""
    from billing.adapters.radio import radio_hd

    subscription = Subscription.objects.get(pk=subscription_id)
    if subscription.radio_hd_reference:
        return subscription
    activation = radio_hd().activate(f"SUB{subscription.pk}")
    now = clock.now()
    with transaction.atomic(), history_context(actor, "activate_radio_hd"):
        updated = Subscription.objects.filter(pk=subscription_id, radio_hd_reference="").update(
            radio_hd_reference=activation, radio_hd_activated_at=now
        )
        if updated:
            record(actor, "activate_radio_hd", subscription, rule="RADIO-1", activation=activation)
    if updated:
        subscription.radio_hd_reference, subscription.radio_hd_activated_at = activation, now
    else:
        subscription.refresh_from_db()  # a concurrent run activated it first
    return subscription


def start_subscription_on_delivery(shipment, delivered_on: date, actor: Actor) -> None:
    """The first shipment of an application is delivered: the delivery date is the start date, the
    minimum term and the 14-day withdrawal window run from it (TERM-1, WD-1), and the monthly fees are
    invoiced from period 4 on (PAY-1: the prepayment covers periods 1-3)."""
    application = Application.objects.filter(shipment=shipment).select_related("subscription").first()
    if application is None or application.subscription is None:
        return
    if application.subscription.status != SubscriptionStatus.PENDING_DELIVERY:
        return
    from flex.fsm import transition_and_save

    with transaction.atomic():
        transition_and_save(
            Subscription,
            application.subscription_id,
            "activate",
            delivered_on,
            actor=actor,
            reason=f"delivered on {delivered_on}",
        )
        BillingSchedule.objects.create(
            subscription_id=application.subscription_id,
            invoiced_until=rules.period_start(delivered_on, MINIMUM_TERM_MONTHS + 1),
        )
