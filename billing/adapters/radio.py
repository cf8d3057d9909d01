"""Radio HD: switched on when the subscriber is accepted, off at termination (RADIO-1, terms art. 4).

Only the subscription's reference goes to the service, no personal data, so nothing is disclosed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from flex.partners import JsonHttpClient, PartnerConfig, adapter, sandbox_latency


class RadioHd(ABC):
    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def activate(self, subscription_reference: str) -> str:
        """Switch Radio HD on; returns the activation's id. Activating twice returns the same id."""

    @abstractmethod
    def deactivate(self, activation_id: str) -> None: ...


class SandboxRadioHd(RadioHd):
    def activate(self, subscription_reference: str) -> str:
        sandbox_latency()
        return f"RHD-{subscription_reference}"

    def deactivate(self, activation_id: str) -> None:
        sandbox_latency()


class HttpRadioHd(RadioHd):
    """PUT /activations/{reference} is idempotent on the provider's side; DELETE switches off."""

    def __init__(self, cfg: PartnerConfig) -> None:
        super().__init__(cfg)
        self.http = JsonHttpClient(cfg)

    def activate(self, subscription_reference: str) -> str:
        return self.http.request("PUT", f"/activations/{subscription_reference}", {"service": "radio-hd"})["id"]

    def deactivate(self, activation_id: str) -> None:
        self.http.request("DELETE", f"/activations/{activation_id}")


def radio_hd() -> RadioHd:
    return adapter(
        "radio", {"sandbox": "billing.adapters.radio.SandboxRadioHd", "http": "billing.adapters.radio.HttpRadioHd"}
    )
