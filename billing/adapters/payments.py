"""Payment provider: checkouts (iDEAL, card), recurring card charges, status, mandate verification,
refunds, signed webhooks.

The applicant pays the first 3 monthly fees upfront (TERM-1, REG-7) on the provider's checkout page;
the provider then calls our webhook, signed, and we can also ask it for the status on return. Both
paths record the payment once (the provider's payment id is unique on `Payment`).

A card payer's monthly invoices are charged to the card authorised at sign-up (`charge`, PAY-1) with an
idempotency key: asking again with the same key answers with the same payment and never charges twice
(a crash between the provider's answer and our commit is recovered by asking again). The outcome
arrives by webhook, as an event with its own id and type (`payment.succeeded`, `payment.failed`,
`payment.chargeback`) and the provider's time of the event.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import datetime
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
    status: str  # "open", "pending", "paid", "failed", "cancelled", "expired", "charged_back"
    amount: Decimal
    method: str = ""  # "ideal" or "card" once paid
    card_token: str = ""  # a reusable card authorisation for the monthly fees (PAY-1)
    # The webhook event that reports it (none when we asked for the status ourselves).
    event_id: str = ""
    event_type: str = ""
    occurred_at: datetime | None = None
    failure_code: str = ""  # why a charge failed: "insufficient_funds", "card_declined", "expired_card", ...
    chargeback_reason: str = ""

    @property
    def is_paid(self) -> bool:
        """Money was received (a payment charged back later was received first)."""
        return self.status in ("paid", "charged_back")

    @property
    def kind_of_event(self) -> str:
        """The event's type, or the one its status implies (a status report without an event id)."""
        return self.event_type or STATUS_EVENTS.get(self.status, "payment.status")

    @property
    def identity_of_event(self) -> str:
        """The event's id: the provider's, or for a bare status report its payment and status (the same
        status of the same payment reported twice is the same event)."""
        return self.event_id or f"{self.payment_id}:{self.status}"


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
    "event_id": (False, 100),
    "event_type": (False, 40),
    "failure_code": (False, 40),
    "chargeback_reason": (False, 100),
}
WEBHOOK_STATUSES = ("open", "paid", "failed", "cancelled", "expired", "pending", "charged_back")
EVENT_TYPES = ("payment.succeeded", "payment.failed", "payment.chargeback", "payment.status")
# A status report without an event type is the event its status implies.
STATUS_EVENTS = {"paid": "payment.succeeded", "failed": "payment.failed", "charged_back": "payment.chargeback"}
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
    if text["event_type"] and text["event_type"] not in EVENT_TYPES:
        raise WebhookBodyInvalid("event_type", f"One of: {', '.join(EVENT_TYPES)}.")
    if text["event_id"] and not text["event_type"]:
        raise WebhookBodyInvalid("event_type", "An event with an id needs its type.")
    return ProviderPayment(amount=_amount(data.get("amount")), occurred_at=_moment(data.get("occurred_at")), **text)


def _moment(value) -> datetime | None:
    """The provider's time of the event: ISO 8601 with its UTC offset, or absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise WebhookBodyInvalid("occurred_at", 'Must be a time like "2026-03-05T10:15:00+00:00".')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise WebhookBodyInvalid("occurred_at", 'Must be a time like "2026-03-05T10:15:00+00:00".') from None
    if moment.tzinfo is None:
        raise WebhookBodyInvalid("occurred_at", "Must give its UTC offset.")
    return moment


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
    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str = "") -> str:
        """Pay `amount` of the payment back; the same idempotency key again is the same refund."""

    @abstractmethod
    def charge(
        self, token: str, amount: Decimal, reference: str, idempotency_key: str, *, customer_name: str = ""
    ) -> ProviderPayment:
        """Charge `amount` to the card authorisation `token` for invoice `reference` (PAY-1). The same
        idempotency key again answers with the same payment and charges nothing more. The answer is
        usually still "pending": the outcome follows by webhook (or `status`)."""

    def parse_webhook(self, body: bytes, signature: str) -> ProviderPayment:
        """Verify the signature (BadSignature otherwise) and read the payment from the body
        (WebhookBodyInvalid, naming the field, when it is not a payment report)."""
        verify(body, signature, self.cfg.secret)
        return read_webhook_body(body)


def webhook_body(payment: ProviderPayment) -> bytes:
    data = asdict(payment)
    data["amount"] = str(payment.amount)
    data["occurred_at"] = payment.occurred_at.isoformat() if payment.occurred_at else ""
    return json.dumps(data, sort_keys=True).encode()


def event_of(payment: ProviderPayment, event_type: str) -> ProviderPayment:
    """The payment as a webhook event of `event_type`, with a fresh id and the provider's time."""
    from dataclasses import replace

    from django.utils import timezone

    return replace(
        payment,
        event_id=f"evt_{secrets.token_hex(8)}",
        event_type=event_type,
        occurred_at=timezone.now(),  # noqa: TID251 - the provider's wall clock, not domain time
    )


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
            payment = self.status(payment_id)
            self._send_webhook(event_of(payment, "payment.succeeded" if method else "payment.failed"))
        return state["return_url"]

    def _send_webhook(self, event: ProviderPayment) -> None:
        from billing.tasks import deliver_sandbox_payment_webhook

        body = webhook_body(event)
        deliver_sandbox_payment_webhook.delay(body.decode(), sign(body, self.cfg.secret))

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
            failure_code=state.get("failure_code", ""),
            chargeback_reason=state.get("chargeback_reason", ""),
        )

    # Recurring card charges (PAY-1). Who is declined, as a card issuer would:
    NAMED_DECLINES = (("Weigeraar", "card_declined"), ("Wanbetaler", "insufficient_funds"))
    DECLINED_PER_THOUSAND = 20  # ~2 % of the rest: insufficient funds, by a hash of the idempotency key

    def charge(self, token, amount, reference, idempotency_key, *, customer_name="") -> ProviderPayment:
        """As a provider does: the same idempotency key is the same payment (its id follows from the key,
        so two callers at once meet on one record); the outcome is decided now and reported a moment
        later by a signed webhook (a job), as "pending" until then."""
        sandbox_latency()
        if not token.startswith("ctok_"):
            raise PartnerRejected("payments (sandbox): unknown card authorisation")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        payment_id = f"tr_{digest[:16]}"
        if sandbox_state.first_time(self.PARTNER, f"charge:{payment_id}"):
            failure = next((code for word, code in self.NAMED_DECLINES if word.lower() in customer_name.lower()), "")
            if not failure and int(digest[16:24], 16) % 1000 < self.DECLINED_PER_THOUSAND:
                failure = "insufficient_funds"
            sandbox_state.remember(
                self.PARTNER,
                payment_id,
                {
                    "reference": reference,
                    "amount": str(amount),
                    "status": "pending",
                    "method": "card",
                    "card_token": token,
                    "outcome": failure or "paid",
                    "idempotency_key": idempotency_key,
                    "opened_at": time.time(),  # noqa: TID251 - the provider's wall clock
                },
            )
            from billing.tasks import settle_sandbox_charge

            settle_sandbox_charge.apply_async((payment_id,), countdown=2)
        state = None
        for _ in range(50):  # another caller with the same key is writing the record right now
            state = sandbox_state.recall(self.PARTNER, payment_id)
            if state is not None:
                break
            time.sleep(0.02)
        if state is None:
            raise PartnerRejected("payments (sandbox): charge not found")
        if Decimal(state["amount"]) != Decimal(amount) or state["reference"] != reference:
            # Providers refuse a reused idempotency key with another request (Stripe: 400 idempotency_error).
            raise PartnerRejected("payments (sandbox): idempotency key reused with other parameters")
        return self.status(payment_id)

    def settle_charge(self, payment_id: str) -> None:
        """The card network's answer arrives: the charge is paid or failed, and the webhook goes out."""
        changed = []

        def settle(state: dict) -> dict:
            if state["status"] == "pending":
                outcome = state.pop("outcome", "paid")
                state["status"] = "paid" if outcome == "paid" else "failed"
                state["failure_code"] = "" if outcome == "paid" else outcome
                changed.append(state["status"])
            return state

        sandbox_state.change(self.PARTNER, payment_id, settle)
        if changed:
            event = "payment.succeeded" if changed[0] == "paid" else "payment.failed"
            self._send_webhook(event_of(self.status(payment_id), event))

    def charge_back(self, payment_id: str, reason: str = "fraudulent") -> None:
        """The cardholder disputes a paid charge at their bank (sandbox control, for tests and demos)."""
        changed = []

        def dispute(state: dict) -> dict:
            if state["status"] == "paid":
                state["status"], state["chargeback_reason"] = "charged_back", reason
                changed.append(True)
            return state

        sandbox_state.change(self.PARTNER, payment_id, dispute)
        if changed:
            self._send_webhook(event_of(self.status(payment_id), "payment.chargeback"))

    def verify_mandate(self, *, iban, account_holder, mandate_reference) -> MandateCheck:
        sandbox_latency()
        if "onbekend" in account_holder.lower():
            return MandateCheck(False, "account holder name does not match the account")
        return MandateCheck(True, "name matches the account")

    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str = "") -> str:
        """As a provider does: only a paid payment, and never more than was paid in all; the same
        idempotency key again answers with the refund it made the first time."""
        sandbox_latency()
        refund_id = f"re_{secrets.token_hex(8)}"
        problems = []

        def add_refund(state: dict) -> dict:
            nonlocal refund_id
            done = [r for r in state.get("refunds", []) if idempotency_key and r.get("key") == idempotency_key]
            if done:
                refund_id = done[0]["id"]
                return state
            refunded = sum((Decimal(r["amount"]) for r in state.get("refunds", [])), Decimal("0"))
            if state["status"] != "paid":
                problems.append(f"payment is {state['status']}, not paid")
            elif refunded + amount > Decimal(state["amount"]):
                problems.append(f"refunds would exceed the {state['amount']} paid")
            else:
                refund = {"id": refund_id, "amount": str(amount), "key": idempotency_key}
                state["refunds"] = [*state.get("refunds", []), refund]
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
        return self._payment(self.http.request("GET", f"/payments/{payment_id}"))

    def verify_mandate(self, *, iban, account_holder, mandate_reference) -> MandateCheck:
        answer = self.http.request(
            "POST", "/mandates/verify", {"iban": iban, "account_holder": account_holder, "reference": mandate_reference}
        )
        return MandateCheck(answer["result"] == "match", answer.get("detail", ""))

    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str = "") -> str:
        answer = self.http.request(
            "POST",
            f"/payments/{payment_id}/refunds",
            {"amount": {"currency": "EUR", "value": f"{amount:.2f}"}},
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
        )
        return answer["id"]

    def charge(self, token, amount, reference, idempotency_key, *, customer_name="") -> ProviderPayment:
        answer = self.http.request(
            "POST",
            "/payments",
            {
                "amount": {"currency": "EUR", "value": f"{amount:.2f}"},
                "reference": reference,
                "description": f"Flex {reference}",
                "mandate_id": token,
                "sequence_type": "recurring",  # a merchant-initiated charge on the authorisation from sign-up
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._payment(answer)

    def _payment(self, answer: dict) -> ProviderPayment:
        return ProviderPayment(
            payment_id=answer["id"],
            reference=answer["reference"],
            status=answer["status"],
            amount=Decimal(answer["amount"]["value"]),
            method={"creditcard": "card"}.get(answer.get("method") or "", answer.get("method") or ""),
            card_token=answer.get("mandate_id", ""),
            failure_code=answer.get("failure_code", "") or "",
            chargeback_reason=answer.get("chargeback_reason", "") or "",
        )


def payment_provider() -> PaymentProvider:
    return adapter(
        "payments",
        {
            "sandbox": "billing.adapters.payments.SandboxPaymentProvider",
            "http": "billing.adapters.payments.HttpPaymentProvider",
        },
    )
