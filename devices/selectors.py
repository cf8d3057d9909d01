"""Reads about the catalogue and stock that more than one caller needs."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from accounts.models import Partner, PartnerKind
from devices.models import DeviceUnit, Plan, PlanItem, Product, ProductPrice, Shipment


def products_with_prices() -> QuerySet[Product]:
    """Products with their price history loaded newest first, for `price_in_force()` without queries."""
    return Product.objects.prefetch_related(Prefetch("prices", queryset=ProductPrice.objects.order_by("-valid_from")))


def price_in_force(product: Product, day: date) -> ProductPrice | None:
    """The price row valid on `day` from a product loaded by `products_with_prices()` (PAY-6)."""
    return next((price for price in product.prices.all() if price.valid_from <= day), None)


def plans_with_items() -> QuerySet[Plan]:
    return Plan.objects.prefetch_related(
        Prefetch("items", queryset=PlanItem.objects.select_related("product").order_by("product__name"))
    )


def units() -> QuerySet[DeviceUnit]:
    return DeviceUnit.objects.select_related("product")


def units_of(partner: Partner) -> QuerySet[DeviceUnit]:
    """The units a partner may see: a warehouse sees the units it holds; any other partner none."""
    if partner.kind != PartnerKind.WAREHOUSE:
        return units().none()
    return units().filter(warehouse=partner)


def shipments_of(partner: Partner) -> QuerySet[Shipment]:
    """The shipments a partner may see: a warehouse those ordered at it, a carrier those handed to it."""
    # The API shows a shipment's units by serial number only: no need to load the rest of each unit
    # (its state stays loaded: the state machine's mixin reads it when a unit is built).
    units = DeviceUnit.objects.only("id", "serial_number", "status")
    shipments = Shipment.objects.prefetch_related(Prefetch("units", queryset=units)).order_by("-id")
    if partner.kind == PartnerKind.WAREHOUSE:
        return shipments.filter(warehouse=partner)
    if partner.kind == PartnerKind.CARRIER:
        return shipments.filter(carrier_partner=partner)
    return shipments.none()
