"""Carrier: delivers parcels and reports tracking events (`POST /api/v1/shipments/{reference}/tracking-events/`).

The warehouse hands the parcel over with the label it printed; we only ask the carrier for the public
tracking page of a code, so no personal data goes to it from us directly (the warehouse's disclosure
covers the label, and is logged as a disclosure to the carrier when the parcel is handed over).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from flex.partners import PartnerConfig, adapter

DISCLOSED_CATEGORIES = ["identity", "address"]


class Carrier(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES  # what every call sends (PRIV-1 disclosure log)

    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def tracking_url(self, tracking_code: str) -> str: ...


class SandboxCarrier(Carrier):
    """The carrier's public tracking page, served by the sandbox from the events the carrier posted."""

    def tracking_url(self, tracking_code: str) -> str:
        from django.urls import reverse

        return reverse("sandbox:tracking", args=[tracking_code])


class HttpCarrier(Carrier):
    def tracking_url(self, tracking_code: str) -> str:
        return f"{self.cfg.url.rstrip('/')}/track/{tracking_code}"


def carrier() -> Carrier:
    return adapter(
        "carrier",
        {"sandbox": "devices.adapters.carrier.SandboxCarrier", "http": "devices.adapters.carrier.HttpCarrier"},
    )
