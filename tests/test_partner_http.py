"""The HTTP boundary of every partner adapter, against a real HTTP server standing in for the provider."""

import json
import threading
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flex.partners import BadSignature, JsonHttpClient, PartnerRejected, PartnerTimeout, sign, verify

SECRET = "provider-shared-secret"


class Provider(BaseHTTPRequestHandler):
    """Answers by path; remembers every request (method, path, headers, JSON body)."""

    answers: dict = {}
    seen: list = []

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Provider.seen.append((self.command, self.path, dict(self.headers), body))
        status, answer = Provider.answers.get((self.command, self.path), (404, {"error": "no such path"}))
        if status == "slow":
            time.sleep(1.5)
            status = 200
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server dispatches on these names

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Provider.answers, Provider.seen = {}, []
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.FLEX_PARTNERS = {
        kind: replace(cfg, implementation="http", url=url, key="live-key", secret=SECRET)
        for kind, cfg in settings.FLEX_PARTNERS.items()
    }
    yield Provider
    server.shutdown()


def last_json(provider):
    method, path, headers, body = provider.seen[-1]
    return method, path, headers, json.loads(body) if body else None


def test_requests_carry_the_key_and_a_verifiable_signature(provider, settings):
    provider.answers[("POST", "/checks")] = (200, {"outcome": "positive", "reference": "CB-1"})
    JsonHttpClient(settings.FLEX_PARTNERS["credit_bureau"]).request("POST", "/checks", {"a": 1})
    _, _, headers, body = provider.seen[-1]
    assert headers["Authorization"] == "Bearer live-key"
    verify(body, headers["Flex-Signature"], SECRET)  # raises when wrong


def test_server_errors_and_slow_answers_are_timeouts_to_retry(provider, settings):
    client = JsonHttpClient(settings.FLEX_PARTNERS["credit_bureau"], timeout=0.5)
    provider.answers[("POST", "/checks")] = (503, {"error": "maintenance"})
    with pytest.raises(PartnerTimeout):
        client.request("POST", "/checks", {})
    provider.answers[("POST", "/checks")] = ("slow", {})
    with pytest.raises(PartnerTimeout):
        client.request("POST", "/checks", {})


def test_client_errors_are_rejections_not_retried(provider, settings):
    provider.answers[("POST", "/checks")] = (422, {"error": "date_of_birth missing"})
    with pytest.raises(PartnerRejected, match="date_of_birth"):
        JsonHttpClient(settings.FLEX_PARTNERS["credit_bureau"]).request("POST", "/checks", {})


def test_unreachable_provider_is_a_timeout(settings):
    cfg = replace(settings.FLEX_PARTNERS["radio"], implementation="http", url="http://127.0.0.1:9", secret=SECRET)
    with pytest.raises(PartnerTimeout):
        JsonHttpClient(cfg, timeout=0.5).request("PUT", "/activations/SUB1", {})


def test_signatures_refuse_tampering_and_old_messages():
    body = b'{"status": "paid"}'
    header = sign(body, SECRET, at=1_800_000_000)
    verify(body, header, SECRET, now=1_800_000_100)
    with pytest.raises(BadSignature):
        verify(b'{"status": "failed"}', header, SECRET, now=1_800_000_100)
    with pytest.raises(BadSignature):
        verify(body, header, SECRET, now=1_800_000_301)
    with pytest.raises(BadSignature):
        verify(body, "nonsense", SECRET)


def test_credit_bureau_adapter_speaks_the_bureau_api(provider):
    from accounts.adapters.credit_bureau import CreditSubject, credit_bureau

    provider.answers[("POST", "/checks")] = (200, {"outcome": "negative", "reference": "CB-9", "detail": "arrears"})
    result = credit_bureau().check(CreditSubject("APP1", "Sam Jansen", date(1990, 5, 17), "", "1016 BR", 10))
    assert (result.is_positive, result.bureau_reference) == (False, "CB-9")
    assert last_json(provider)[3] == {
        "reference": "APP1",
        "name": "Sam Jansen",
        "date_of_birth": "1990-05-17",
        "kvk_number": None,
        "postcode": "1016 BR",
        "house_number": 10,
    }


def test_identity_adapter_speaks_the_idin_broker_api(provider):
    from accounts.adapters.identity import ClaimedIdentity, identity_provider

    provider.answers[("POST", "/transactions")] = (200, {"transaction_id": "t1", "issuer_url": "https://bank/x"})
    provider.answers[("GET", "/transactions/t1")] = (
        200,
        {
            "status": "success",
            "reference": "APP1",
            "consumer_bin": "BIN1",
            "name": "S Jansen",
            "date_of_birth": "1990-05-17",
        },
    )
    adapter = identity_provider()
    assert adapter.start(ClaimedIdentity("APP1", "S Jansen", None, "", 0), "https://flex/back") == "https://bank/x"
    verified = adapter.result("t1")
    assert (verified.is_verified, verified.reference, verified.consumer_reference, verified.date_of_birth) == (
        True,
        "APP1",  # the broker echoes our reference: the transaction belongs to that application (REG-7)
        "BIN1",
        date(1990, 5, 17),
    )


def test_payment_adapter_speaks_the_provider_api(provider):
    from billing.adapters.payments import payment_provider

    provider.answers[("POST", "/payments")] = (200, {"id": "tr_1", "checkout_url": "https://pay/tr_1"})
    provider.answers[("GET", "/payments/tr_1")] = (
        200,
        {
            "id": "tr_1",
            "reference": "F2026-000001",
            "status": "paid",
            "amount": {"value": "57.00"},
            "method": "creditcard",
        },
    )
    provider.answers[("POST", "/payments/tr_1/refunds")] = (200, {"id": "re_1"})
    adapter = payment_provider()
    checkout = adapter.create_checkout(
        reference="F2026-000001", amount=Decimal("57.00"), description="x", customer_email="a@b.nl", return_url="u"
    )
    assert checkout.checkout_url == "https://pay/tr_1"
    assert last_json(provider)[3]["amount"] == {"currency": "EUR", "value": "57.00"}
    status = adapter.status("tr_1")
    assert (status.is_paid, status.method, status.amount) == (True, "card", Decimal("57.00"))
    assert adapter.refund("tr_1", Decimal("57.00")) == "re_1"


def test_warehouse_and_radio_adapters_are_idempotent_puts(provider):
    from billing.adapters.radio import radio_hd
    from devices.adapters.warehouse import OrderLine, OutboundOrder, warehouse

    provider.answers[("PUT", "/orders/SHP1")] = (200, {"order_id": "WH-77"})
    provider.answers[("PUT", "/activations/SUB1")] = (200, {"id": "RHD-1"})
    order = OutboundOrder("SHP1", "Sam", "Herengracht", "10", "1016 BR", "Amsterdam", (OrderLine("ERA-100", "SN1"),))
    assert warehouse().order_shipment(order) == "WH-77"
    assert last_json(provider)[3]["lines"] == [{"sku": "ERA-100", "serial_number": "SN1"}]
    assert radio_hd().activate("SUB1") == "RHD-1"


@pytest.mark.parametrize(
    "trxid, path",
    [
        ("../../admin?delete=1", "/transactions/%2E%2E%2F%2E%2E%2Fadmin%3Fdelete%3D1"),
        ("..", "/transactions/%2E%2E"),
        ("t1#x&y=%2F", "/transactions/t1%23x%26y%3D%252F"),
        ("0050000123456789", "/transactions/0050000123456789"),
    ],
)
def test_identity_adapter_sends_the_transaction_id_as_one_path_segment(provider, trxid, path):
    from accounts.adapters.identity import identity_provider

    with pytest.raises(PartnerRejected):  # the stand-in knows no such transaction: 404
        identity_provider().result(trxid)
    assert [(method, seen_path) for method, seen_path, *_ in provider.seen] == [("GET", path)]


@pytest.mark.parametrize("trxid", ["", "1" * 129])
def test_identity_adapter_refuses_an_id_that_cannot_be_the_providers_without_asking_it(provider, trxid):
    from accounts.adapters.identity import identity_provider
    from flex.refusals import Refused

    with pytest.raises(Refused) as refused:
        identity_provider().result(trxid)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("REG-7", "trxid")
    assert provider.seen == []


def test_identity_adapter_takes_the_longest_id_it_allows(provider):
    from accounts.adapters.identity import identity_provider

    provider.answers[("GET", f"/transactions/{'1' * 128}")] = (200, {"status": "cancelled", "reference": "APP1"})
    assert identity_provider().result("1" * 128).status == "cancelled"


@pytest.mark.parametrize("answer", [(503, {"error": "maintenance"}), ("slow", {})])
def test_identity_adapter_reports_a_provider_down_or_slow_as_a_timeout(provider, monkeypatch, answer):
    import functools

    from accounts.adapters.identity import ClaimedIdentity, identity_provider

    monkeypatch.setattr("accounts.adapters.identity.JsonHttpClient", functools.partial(JsonHttpClient, timeout=0.5))
    provider.answers[("POST", "/transactions")] = provider.answers[("GET", "/transactions/t1")] = answer
    adapter = identity_provider()
    with pytest.raises(PartnerTimeout):
        adapter.start(ClaimedIdentity("APP1", "S Jansen", None, "", 0), "https://flex/back")
    with pytest.raises(PartnerTimeout):
        adapter.result("t1")
