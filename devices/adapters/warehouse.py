"""Warehouse partner: picks, packs and hands outbound shipments to the carrier (PLAN-6: free shipping).

We send the order with the serials we reserved; the warehouse confirms through the partner API
(`POST /api/v1/shipments/{reference}/shipped/`) with the serials it shipped and the tracking code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from flex.partners import JsonHttpClient, PartnerConfig, adapter, sandbox_latency

# PRIV-1: the warehouse needs the recipient's name and address for the label.
DISCLOSED_CATEGORIES = ["identity", "address"]


@dataclass(frozen=True)
class OrderLine:
    sku: str
    serial_number: str


@dataclass(frozen=True)
class OutboundOrder:
    reference: str
    recipient: str
    street: str
    house_number: str
    postcode: str
    city: str
    lines: tuple[OrderLine, ...]


class Warehouse(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES  # what every call sends (PRIV-1 disclosure log)

    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def order_shipment(self, order: OutboundOrder) -> str:
        """Place the order; returns the warehouse's order id. Placing the same reference twice is one order."""


class SandboxWarehouse(Warehouse):
    """Accepts every order; with the autopilot on it then ships it, like the warehouse would, through
    the same service the partner API calls (a job, so it happens after the order is committed)."""

    def order_shipment(self, order: OutboundOrder) -> str:
        from django.conf import settings

        from devices.tasks import sandbox_ship

        sandbox_latency()
        if settings.FLEX_SANDBOX_AUTOPILOT:
            sandbox_ship.delay(order.reference, [line.serial_number for line in order.lines])
        return f"WH-{order.reference}"


class HttpWarehouse(Warehouse):
    """The warehouse's order API: PUT /orders/{reference} (idempotent by reference)."""

    def __init__(self, cfg: PartnerConfig) -> None:
        super().__init__(cfg)
        self.http = JsonHttpClient(cfg)

    def order_shipment(self, order: OutboundOrder) -> str:
        answer = self.http.request(
            "PUT",
            f"/orders/{order.reference}",
            {
                "recipient": order.recipient,
                "address": {
                    "street": order.street,
                    "house_number": order.house_number,
                    "postcode": order.postcode,
                    "city": order.city,
                    "country": "NL",
                },
                "lines": [{"sku": line.sku, "serial_number": line.serial_number} for line in order.lines],
                "shipping": "free",
            },
        )
        return answer["order_id"]


def warehouse() -> Warehouse:
    return adapter(
        "warehouse",
        {"sandbox": "devices.adapters.warehouse.SandboxWarehouse", "http": "devices.adapters.warehouse.HttpWarehouse"},
    )
