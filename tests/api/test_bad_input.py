"""Bad input is an answer, never a 500 (issue 7 §4, §6): each gets a 400 problem naming the field."""

import json
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from billing.models import Payment
from flex.partners import sign
from tests.factories import PartnerFactory, ProductFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


def warehouse_client():
    client = APIClient()
    key = api_key_for(PartnerFactory(), ["units:read", "units:write", "catalogue:read", "shipments:read"])
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def assert_problem(response, status, field):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/device-units/?sku=%00", "sku"),
        ("/api/v1/device-units/SN%00X/", "path"),
        ("/api/v1/shipments/SHP%000001/", "path"),
    ],
)
def test_nul_in_an_api_path_or_query_is_a_400_problem(url, field):
    assert_problem(warehouse_client().get(url), 400, field)


def test_nul_in_a_page_address_is_a_plain_400():
    response = Client().get("/portal/login/?next=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_json_nested_5000_levels_is_a_400_problem():
    response = warehouse_client().post(
        "/api/v1/device-units/", "[" * 5000 + "]" * 5000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_nul_in_a_json_field_is_a_400_naming_it():
    response = warehouse_client().post(
        "/api/v1/device-units/", {"sku": "A\x00B", "serial_numbers": ["SN-NEW-0001"]}, format="json"
    )
    assert_problem(response, 400, "sku")


def test_unsupported_media_type_has_a_real_title():
    response = warehouse_client().post("/api/v1/device-units/", "sku=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["title"] == "Unsupported Media Type"
    assert "{" not in response.json()["title"]


def test_unsupported_method_is_405_not_403():
    response = warehouse_client().delete("/api/v1/products/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_idempotency_key_is_refused_naming_the_header(key):
    product = ProductFactory()
    response = warehouse_client().post(
        "/api/v1/device-units/",
        {"sku": product.sku, "serial_numbers": ["SN-NEW-0001"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert_problem(response, 400, "Idempotency-Key")
    assert not product.units.exists()


def test_a_replayed_refusal_keeps_the_problem_content_type():
    client = warehouse_client()
    body = {"sku": "NOPE", "serial_numbers": ["SN-NEW-0001"]}
    first = client.post("/api/v1/device-units/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/device-units/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/problem+json"


# --- the signed payment webhook ---


def signed_webhook(raw: bytes):
    signature = sign(raw, settings.FLEX_PARTNERS["payments"].secret)
    return APIClient().post(
        "/api/v1/webhooks/payments/", raw, content_type="application/json", HTTP_FLEX_SIGNATURE=signature
    )


def body(**overrides):
    data = {"payment_id": "tr_1", "reference": "F2026-000001", "status": "paid", "amount": "49.95", "method": "ideal"}
    data.update(overrides)
    return json.dumps(data).encode()


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"null", b"{", b"[" * 5000 + b"]" * 5000])
def test_a_signed_webhook_body_that_is_no_object_is_a_400(raw):
    assert_problem(signed_webhook(raw), 400, "body")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (re.sub(rb'"49.95"', b"NaN", body()), "amount"),
        (re.sub(rb'"49.95"', b"Infinity", body()), "amount"),
        (re.sub(rb'"49.95"', b"1e30", body()), "amount"),
        (body(amount=[1]), "amount"),
        (body(amount="-1"), "amount"),
        (body(amount="1.001"), "amount"),
        (body(payment_id="x" * 500), "payment_id"),
        (body(payment_id=7), "payment_id"),
        (body(reference="F\x00"), "reference"),
        (body(status="stolen"), "status"),
        (body(event_id="evt_1", event_type="payment.teleported"), "event_type"),
        (body(event_id="evt_1"), "event_type"),
        (body(event_id="e" * 101, event_type="payment.succeeded"), "event_id"),
        (body(occurred_at="yesterday"), "occurred_at"),
        (body(occurred_at="2026-03-05T08:00:00"), "occurred_at"),
        (body(failure_code=["x"]), "failure_code"),
        (body(chargeback_reason="x" * 101), "chargeback_reason"),
    ],
)
def test_a_signed_webhook_with_a_bad_field_is_a_400_naming_it(raw, field):
    assert_problem(signed_webhook(raw), 400, field)
    assert not Payment.objects.exists()
