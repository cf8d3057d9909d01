"""Payment provider: checkouts (iDEAL, card), status, mandate verification, refunds, signed webhooks.

The applicant pays the first 3 monthly fees upfront (TERM-1, REG-7) on the provider's checkout page;
the provider then calls our webhook, signed, and we can also ask it for the status on return. Both
paths record the payment once (the provider's payment id is unique on `Payment`).
"""

from __future__ import annotations

import json
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from django.urls import reverse

from accounts.adapters import sandbox_state
from flex.partners import JsonHttpClient, PartnerConfig, PartnerRejected, adapter, sandbox_latency, sign, verify

# PRIV-1: the provider learns who pays (name, e-mail) and the account or card used.
DISCLOSED_CATEGORIES = ["identity", "contact", "financial"]


@dataclass(frozen=True)
class Checkout:
    payment_id: str
    checkout_url: str


@dataclass(frozen=True)
class ProviderPayment:
    payment_id: str
    reference: str
    status: str  # "open", "paid", "failed", "cancelled"
    amount: Decimal
    method: str = ""  # "ideal" or "card" once paid
    card_token: str = ""  # a reusable card authorisation for the monthly fees (PAY-1)

    @property
    def is_paid(self) -> bool:
        return self.status == "paid"


class WebhookBodyInvalid(ValueError):  # noqa: N818 - reads as the partner's answer
    """A signed webhook body that is not a payment report; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# What each webhook field may hold: (required, longest); lengths match the columns they end up in.
WEBHOOK_TEXT_FIELDS = {
    "payment_id": (True, 100),
    "reference": (True, 20),
    "status": (True, 20),
    "method": (False, 20),
    "card_token": (False, 100),
}
WEBHOOK_STATUSES = ("open", "paid", "failed", "cancelled", "expired", "pending")
LARGEST_AMOUNT = Decimal("9999999999.99")  # MoneyField: 12 digits, 2 decimals


def read_webhook_body(body: bytes) -> ProviderPayment:
    """The payment in a webhook body, or `WebhookBodyInvalid` naming the field that is wrong."""
    try:
        data = json.loads(body)  # NaN and Infinity parse to floats; the amount check refuses them
    except (ValueError, RecursionError):
        raise WebhookBodyInvalid("body", "The body is not a JSON document of reasonable depth.") from None
    if not isinstance(data, dict):
        raise WebhookBodyInvalid("body", "The body must be a JSON object.")
    text = {}
    for name, (required, longest) in WEBHOOK_TEXT_FIELDS.items():
        value = data.get(name, None if required else "")
        if value is None:
            raise WebhookBodyInvalid(name, "This field is required.")
        if not isinstance(value, str) or (required and not value.strip()):
            raise WebhookBodyInvalid(name, "Must be a non-empty string." if required else "Must be a string.")
        if len(value) > longest:
            raise WebhookBodyInvalid(name, f"At most {longest} characters.")
        if any(ord(char) < 32 for char in value):
            raise WebhookBodyInvalid(name, "Control characters are not allowed.")
        text[name] = value
    if text["status"] not in WEBHOOK_STATUSES:
        raise WebhookBodyInvalid("status", f"One of: {', '.join(WEBHOOK_STATUSES)}.")
    return ProviderPayment(amount=_amount(data.get("amount")), **text)


def _amount(value) -> Decimal:
    """A positive amount of euros with at most 2 decimals, given as a JSON string or number."""
    if value is None:
        raise WebhookBodyInvalid("amount", "This field is required.")
    if isinstance(value, bool) or not isinstance(value, str | int | float) or len(str(value)) > 20:
        raise WebhookBodyInvalid("amount", 'Must be an amount like "49.95".')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise WebhookBodyInvalid("amount", 'Must be an amount like "49.95".') from None
    if not amount.is_finite() or amount < 0 or amount > LARGEST_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise WebhookBodyInvalid("amount", f"Must be an amount between 0 and {LARGEST_AMOUNT} with at most 2 decimals.")
    return amount


@dataclass(frozen=True)
class MandateCheck:
    is_verified: bool
    detail: str


class PaymentProvider(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES  # what every call sends (PRIV-1 disclosure log)

    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def create_checkout(
        self, *, reference: str, amount: Decimal, description: str, customer_email: str, return_url: str
    ) -> Checkout: ...

    @abstractmethod
    def status(self, payment_id: str) -> ProviderPayment: ...

    @abstractmethod
    def verify_mandate(self, *, iban: str, account_holder: str, mandate_reference: str) -> MandateCheck: ...

    @abstractmethod
    def refund(self, payment_id: str, amount: Decimal) -> str: ...

    def parse_webhook(self, body: bytes, signature: str) -> ProviderPayment:
        """Verify the signature (BadSignature otherwise) and read the payment from the body
        (WebhookBodyInvalid, naming the field, when it is not a payment report)."""
        verify(body, signature, self.cfg.secret)
        return read_webhook_body(body)


def webhook_body(payment: ProviderPayment) -> bytes:
    data = asdict(payment)
    data["amount"] = str(payment.amount)
    return json.dumps(data, sort_keys=True).encode()


class SandboxPaymentProvider(PaymentProvider):
    """A checkout page at /sandbox/payments/<id>/ with Pay (iDEAL or card) and Fail buttons.

    The provider's records are a table every process shares (`accounts.adapters.sandbox_state`): a
    checkout opened by `seed_demo` is known to the web process and the worker. An open checkout
    expires after a day, as at a provider; a paid one stays, so it can be refunded months later.
    Paying sends the signed webhook through a job, so it arrives a moment later and possibly after
    the payer is back. Account holders whose name contains "Onbekend" fail the mandate's name check.
    """

    PARTNER = "payments"
    TTL = 24 * 3600  # seconds an open checkout stays payable

    def create_checkout(self, *, reference, amount, description, customer_email, return_url) -> Checkout:
        sandbox_latency()
        payment_id = f"tr_{secrets.token_hex(8)}"
        sandbox_state.remember(
            self.PARTNER,
            payment_id,
            {
                "reference": reference,
                "amount": str(amount),
                "description": description,
                "return_url": return_url,
                "status": "open",
                "method": "",
                "card_token": "",
                "opened_at": time.time(),  # noqa: TID251 - the provider's wall clock, not domain time
            },
        )
        return Checkout(payment_id, reverse("sandbox:payment", args=[payment_id]))

    def checkout(self, payment_id: str) -> dict | None:
        """The provider's record of the payment; None if unknown or an open checkout that expired."""
        state = sandbox_state.recall(self.PARTNER, payment_id)
        if state is None or (state["status"] == "open" and self._expired(state)):
            return None
        return state

    def _expired(self, state: dict) -> bool:
        return time.time() - state.get("opened_at", 0) > self.TTL  # noqa: TID251 - the provider's wall clock

    def pay(self, payment_id: str, *, method: str | None) -> str:
        """The payer presses a button on the checkout page (method None: the payment fails)."""
        from billing.tasks import deliver_sandbox_payment_webhook

        settled = []

        def settle(state: dict) -> dict:
            # Under the row lock: a double click or a second process settles an open checkout once.
            if state["status"] == "open" and not self._expired(state):
                state["status"] = "paid" if method else "failed"
                state["method"] = method or ""
                state["card_token"] = f"ctok_{secrets.token_hex(6)}" if method == "card" else ""
                settled.append(True)
            return state

        state = self.checkout(payment_id) and sandbox_state.change(self.PARTNER, payment_id, settle)
        if not state:
            raise PartnerRejected("payments (sandbox): unknown or expired checkout")
        if settled:
            body = webhook_body(self.status(payment_id))
            deliver_sandbox_payment_webhook.delay(body.decode(), sign(body, self.cfg.secret))
        return state["return_url"]

    def status(self, payment_id: str) -> ProviderPayment:
        sandbox_latency()
        state = self.checkout(payment_id)
        if state is None:
            raise PartnerRejected("payments (sandbox): unknown payment")
        return ProviderPayment(
            payment_id=payment_id,
            reference=state["reference"],
            status=state["status"],
            amount=Decimal(state["amount"]),
            method=state["method"],
            card_token=state["card_token"],
        )

    def verify_mandate(self, *, iban, account_holder, mandate_reference) -> MandateCheck:
        sandbox_latency()
        if "onbekend" in account_holder.lower():
            return MandateCheck(False, "account holder name does not match the account")
        return MandateCheck(True, "name matches the account")

    def refund(self, payment_id: str, amount: Decimal) -> str:
        """As a provider does: only a paid payment, and never more than was paid in all."""
        sandbox_latency()
        refund_id = f"re_{secrets.token_hex(8)}"
        problems = []

        def add_refund(state: dict) -> dict:
            refunded = sum((Decimal(r["amount"]) for r in state.get("refunds", [])), Decimal("0"))
            if state["status"] != "paid":
                problems.append(f"payment is {state['status']}, not paid")
            elif refunded + amount > Decimal(state["amount"]):
                problems.append(f"refunds would exceed the {state['amount']} paid")
            else:
                state["refunds"] = [*state.get("refunds", []), {"id": refund_id, "amount": str(amount)}]
            return state

        if self.checkout(payment_id) is None or sandbox_state.change(self.PARTNER, payment_id, add_refund) is None:
            raise PartnerRejected("payments (sandbox): unknown payment")
        if problems:
            raise PartnerRejected(f"payments (sandbox): {problems[0]}")
        return refund_id


class HttpPaymentProvider(PaymentProvider):
    """A payment provider's REST API (Mollie-like): /payments, /payments/{id}, /mandates/verify, /refunds."""

    def __init__(self, cfg: PartnerConfig) -> None:
        super().__init__(cfg)
        self.http = JsonHttpClient(cfg)

    def create_checkout(self, *, reference, amount, description, customer_email, return_url) -> Checkout:
        answer = self.http.request(
            "POST",
            "/payments",
            {
                "amount": {"currency": "EUR", "value": f"{amount:.2f}"},
                "reference": reference,
                "description": description,
                "customer_email": customer_email,
                "redirect_url": return_url,
                "methods": ["ideal", "creditcard"],
                "sequence_type": "first",  # a first payment also sets up the recurring authorisation
            },
        )
        return Checkout(answer["id"], answer["checkout_url"])

    def status(self, payment_id: str) -> ProviderPayment:
        answer = self.http.request("GET", f"/payments/{payment_id}")
        return ProviderPayment(
            payment_id=answer["id"],
            reference=answer["reference"],
            status=answer["status"],
            amount=Decimal(answer["amount"]["value"]),
            method={"creditcard": "card"}.get(answer.get("method") or "", answer.get("method") or ""),
            card_token=answer.get("mandate_id", ""),
        )

    def verify_mandate(self, *, iban, account_holder, mandate_reference) -> MandateCheck:
        answer = self.http.request(
            "POST", "/mandates/verify", {"iban": iban, "account_holder": account_holder, "reference": mandate_reference}
        )
        return MandateCheck(answer["result"] == "match", answer.get("detail", ""))

    def refund(self, payment_id: str, amount: Decimal) -> str:
        answer = self.http.request(
            "POST", f"/payments/{payment_id}/refunds", {"amount": {"currency": "EUR", "value": f"{amount:.2f}"}}
        )
        return answer["id"]


def payment_provider() -> PaymentProvider:
    return adapter(
        "payments",
        {
            "sandbox": "billing.adapters.payments.SandboxPaymentProvider",
            "http": "billing.adapters.payments.HttpPaymentProvider",
        },
    )
