"""Reads about subscriptions and invoices that more than one caller needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from billing.models import LIVE_STATUSES, Invoice, Subscription, SubscriptionAddOn, SubscriptionUnit
from devices.models import Product, ProductPrice
from flex import clock


def current_subscription(subscriber) -> Subscription | None:
    """The subscriber's pending or live subscription, else the latest one (REG-9: at most one live)."""
    subscriptions = Subscription.objects.filter(subscriber=subscriber).select_related("plan")
    return subscriptions.filter(status__in=LIVE_STATUSES).first() or subscriptions.first()


def subscription_units(subscription: Subscription) -> QuerySet[SubscriptionUnit]:
    return (
        SubscriptionUnit.objects.filter(subscription=subscription)
        .select_related("unit__product")
        .order_by("returned_at", "unit__product__name")
    )


def active_addons(subscription: Subscription) -> QuerySet[SubscriptionAddOn]:
    return subscription.addons.filter(removed_on__isnull=True).select_related("product")


def subscriber_invoices(subscriber) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(subscription__subscriber=subscriber)
        .prefetch_related(Prefetch("lines"))
        .order_by("-issue_date", "-number")
    )


def price_on(product: Product, day: date) -> ProductPrice:
    """The price row in force on `day` (PAY-6: prices are dated)."""
    price = product.prices.filter(valid_from__lte=day).order_by("-valid_from").first()
    if price is None:
        raise LookupError(f"{product} has no price on {day}")
    return price


def monthly_fee(subscription: Subscription, day: date | None = None) -> Decimal:
    """Plan fee plus the fees of the add-ons held, incl. VAT."""
    day = day or clock.today()
    total = subscription.plan.monthly_fee
    for addon in active_addons(subscription):
        total += price_on(addon.product, day).addon_monthly_fee or Decimal("0")
    return total
