"""Schemathesis against the partner API, in-process through the WSGI app, with each partner's key
(issue 7 §4): whatever it sends, no answer is a 5xx and every answer conforms to the OpenAPI schema
(documented status code, content type, headers and body). Bounded to stay within a minute or so."""

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flex.wsgi import application
from tests.factories import DeviceUnitFactory, PartnerFactory, PlanFactory, ProductFactory, api_key_for

MAX_EXAMPLES = 15  # per operation, generation mode and partner
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PARTNERS = {
    "warehouse": ["catalogue:read", "units:read", "units:write", "shipments:read", "shipments:write"],
    "carrier": ["catalogue:read", "shipments:read", "tracking:write", "units:read"],
    "payments": ["catalogue:read"],
}


@pytest.fixture
def _connection_kept_across_requests():
    """The WSGI app closes the database connection after each request, which would end the test's
    transaction; Django's own test client disconnects the same signal."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_connection_kept_across_requests")
@pytest.mark.parametrize("kind", sorted(PARTNERS))
def test_every_generated_request_is_answered_as_the_schema_says(kind, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": "100000/min", "failed_auth": "100000/min"},
    }
    cache.clear()
    partner = PartnerFactory(code=kind, name=kind, kind=kind)
    headers = {"Authorization": f"Api-Key {api_key_for(partner, PARTNERS[kind])}"}
    product = ProductFactory(price="499.00")
    PlanFactory(items=[(product, 2)])
    DeviceUnitFactory(product=product, serial_number="SN-SCHEMA-0001")

    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                exercise()
            except Exception as failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_stock_arrival_answers_with_the_list_its_schema_documents(client):
    """POST /api/v1/device-units/ answers a plain list of units (not a page), and the schema says so."""
    import yaml
    from rest_framework.test import APIClient

    schema = yaml.safe_load(client.get("/api/schema/").content)
    created = schema["paths"]["/api/v1/device-units/"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/DeviceUnit"}}
    parameters = [p["name"] for p in schema["paths"]["/api/v1/device-units/"]["post"].get("parameters", [])]
    assert "cursor" not in parameters

    product = ProductFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(PartnerFactory(), ['units:write'])}")
    answer = api.post("/api/v1/device-units/", {"sku": product.sku, "serial_numbers": ["SN-NEW-0001"]}, format="json")
    assert answer.status_code == 201
    assert [unit["serial_number"] for unit in answer.json()] == ["SN-NEW-0001"]
