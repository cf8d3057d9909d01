"""Celery tasks for devices: parse ids, call one service, nothing else."""

from celery import shared_task
from django.conf import settings

from devices import services
from flex import clock
from flex.audit.trail import Actor
from flex.partners import PartnerTimeout


@shared_task(autoretry_for=(PartnerTimeout,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def order_shipment(shipment_id: int) -> None:
    services.order_shipment(int(shipment_id), actor=Actor.system("order_shipment"))


@shared_task
def sandbox_ship(reference: str, serial_numbers: list[str]) -> None:
    """The sandbox warehouse ships an order and the sandbox carrier delivers it, through the same
    services the partner API calls, as the partners would (FLEX_SANDBOX_AUTOPILOT)."""
    warehouse = settings.FLEX_PARTNERS["warehouse"].partner_code
    carrier = settings.FLEX_PARTNERS["carrier"].partner_code
    now = clock.now()
    services.confirm_shipped(
        reference,
        serial_numbers=serial_numbers,
        carrier=carrier,
        tracking_code=f"3S{reference}",
        shipped_at=now,
        actor=Actor.partner(warehouse),
        warehouse=services.configured_partner("warehouse"),
    )
    for code in ("in_transit", "delivered"):
        services.record_tracking_event(
            reference,
            carrier=services.configured_partner("carrier"),
            event_id=f"{reference}-{code}",
            code=code,
            occurred_at=now,
            actor=Actor.partner(carrier),
        )
