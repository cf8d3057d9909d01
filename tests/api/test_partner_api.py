import json
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Partner, PartnerApiKey
from devices.models import DeviceUnit
from flex import clock
from tests.factories import DeviceUnitFactory, PartnerFactory, PlanFactory, ProductFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


def client_with(scopes):
    key = api_key_for(PartnerFactory(), scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_no_key_is_a_401_problem():
    response = APIClient().get("/api/v1/products/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_revoked_key_is_refused():
    client = client_with(["catalogue:read"])
    PartnerApiKey.objects.update(revoked=True)
    assert client.get("/api/v1/products/").status_code == 401


def test_expired_key_is_refused():
    """The key library reads the wall clock, not the project clock: the key expired a minute ago."""
    client = client_with(["catalogue:read"])
    PartnerApiKey.objects.update(expiry_date=clock.now() - timedelta(minutes=1))
    response = client.get("/api/v1/products/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_key_of_a_deactivated_partner_is_refused():
    client = client_with(["catalogue:read"])
    Partner.objects.update(is_active=False)
    assert client.get("/api/v1/products/").status_code == 401


def test_a_key_stored_with_a_password_hasher_still_works_and_is_rehashed_with_sha512():
    """Keys issued before djangorestframework-api-key 3 were stored with a (slow) password hasher; they
    keep working, and the first use stores them with SHA-512 (one fast hash per request from then on)."""
    key = api_key_for(PartnerFactory(), ["catalogue:read"])
    PartnerApiKey.objects.update(hashed_key=make_password(key, hasher="pbkdf2_sha256"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/products/").status_code == 200
    assert PartnerApiKey.objects.get().hashed_key.startswith("sha512$$")
    assert client.get("/api/v1/products/").status_code == 200
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Api-Key {key[:-1]}x")
    assert wrong.get("/api/v1/products/").status_code == 401


def test_keys_are_stored_hashed():
    key = api_key_for(PartnerFactory(), ["catalogue:read"])
    stored = PartnerApiKey.objects.get()
    assert key.split(".")[1] not in stored.hashed_key


def test_missing_scope_is_a_403_naming_the_scope():
    response = client_with(["units:read"]).get("/api/v1/products/")
    assert response.status_code == 403
    assert "catalogue:read" in response.json()["detail"]


def test_products_list_shows_prices_in_force_with_fixed_queries(django_assert_max_num_queries):
    for _ in range(30):
        ProductFactory(price="499.00")
    client = client_with(["catalogue:read"])
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/products/?page_size=20")
    body = response.json()
    assert len(body["results"]) == 20
    assert body["results"][0]["webshop_price"] == "499.00"
    assert body["next"] and "cursor=" in body["next"]
    assert len(client.get(body["next"]).json()["results"]) == 10


def test_plans_list_with_items_fixed_queries(django_assert_max_num_queries):
    for _ in range(10):
        PlanFactory(items=[(ProductFactory(), 2), (ProductFactory(), 1)])
    client = client_with(["catalogue:read"])
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/plans/").json()
    assert len(body["results"]) == 10
    assert sorted(item["quantity"] for item in body["results"][0]["items"]) == [1, 2]


def test_device_units_filter_by_status_and_refuse_unknown_status():
    DeviceUnitFactory(serial_number="SN-A-0001")
    client = client_with(["units:read"])
    assert [u["serial_number"] for u in client.get("/api/v1/device-units/?status=in_stock").json()["results"]] == [
        "SN-A-0001"
    ]
    bad = client.get("/api/v1/device-units/?status=gone")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "status"


def post_stock(client, body, key="delivery-1"):
    return client.post(
        "/api/v1/device-units/", data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_same_idempotency_key_and_body_gives_the_same_answer_and_registers_once():
    product = ProductFactory()
    client = client_with(["units:write"])
    body = {"sku": product.sku, "serial_numbers": ["SN-NEW-0001", "SN-NEW-0002"]}
    first = post_stock(client, body)
    second = post_stock(client, body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert DeviceUnit.objects.count() == 2


def test_same_idempotency_key_with_another_body_is_422():
    product = ProductFactory()
    client = client_with(["units:write"])
    post_stock(client, {"sku": product.sku, "serial_numbers": ["SN-NEW-0001"]})
    response = post_stock(client, {"sku": product.sku, "serial_numbers": ["SN-NEW-0009"]})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not DeviceUnit.objects.filter(serial_number="SN-NEW-0009").exists()


def test_invalid_body_names_the_field():
    client = client_with(["units:write"])
    response = post_stock(client, {"sku": "X", "serial_numbers": ["ok-1234", "no spaces!"]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "serial_numbers[1]"


def test_refusal_names_rule_and_article_and_writes_nothing():
    DeviceUnitFactory(serial_number="SN-DUP-0001")
    client = client_with(["units:write"])
    product = ProductFactory()
    response = post_stock(client, {"sku": product.sku, "serial_numbers": ["SN-NEW-0001", "SN-DUP-0001"]})
    assert response.status_code == 409
    body = response.json()
    assert (body["rule"], body["article"]) == ("PLAN-1", "terms art. 1.1.2, 3.1, 11")
    assert body["errors"][0]["field"] == "serial_numbers"
    assert not DeviceUnit.objects.filter(serial_number="SN-NEW-0001").exists()


def test_a_refused_request_can_be_retried_with_the_same_key_and_gets_the_same_refusal():
    client = client_with(["units:write"])
    first = post_stock(client, {"sku": "NOPE", "serial_numbers": ["SN-NEW-0001"]}, key="k")
    second = post_stock(client, {"sku": "NOPE", "serial_numbers": ["SN-NEW-0001"]}, key="k")
    assert first.status_code == second.status_code == 409
    assert first.json() == second.json()


def test_throttling_per_key(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "partner": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = client_with(["catalogue:read"])
    codes = [client.get("/api/v1/products/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/device-units/" in schema.content
    assert client.get("/api/docs/").status_code == 200
