"""Billing's answers to what devices reports (devices cannot import billing: apps are layers)."""

from django.db import transaction
from django.dispatch import receiver

from billing import services
from devices.signals import shipment_delivered, stock_available
from flex.audit.trail import Actor


@receiver(shipment_delivered)
def start_subscription(sender, shipment, delivered_on, actor: Actor, **kwargs) -> None:
    services.start_subscription_on_delivery(shipment, delivered_on, actor)


@receiver(stock_available)
def resume_allocations(sender, product_ids, **kwargs) -> None:
    from billing.tasks import resume_awaiting_stock

    transaction.on_commit(resume_awaiting_stock.delay)
