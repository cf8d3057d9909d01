"""The partner API's lists (issue 13): `?limit=` sets the page size, up to 200, and every list reads a
page in the same number of queries whatever its length."""

import itertools
from collections import Counter

import pytest
import yaml
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from devices import services
from flex.audit.trail import Actor
from tests.factories import AddressFactory, PartnerFactory, PlanFactory, ProductFactory, api_key_for

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
_serials = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


def client_for(partner, scopes) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(partner, scopes)}")
    return client


def stock(count: int) -> None:
    """`count` units arrive at the warehouse, as the warehouse reports them."""
    services.register_stock(
        sku=ProductFactory().sku,
        serial_numbers=[f"SN-LIST-{next(_serials):05d}" for _ in range(count)],
        condition="new",
        actor=SYSTEM,
        warehouse=PartnerFactory(),
    )


def shipments(count: int) -> None:
    """`count` shipments of two units each, created as allocation creates them."""
    product = ProductFactory()
    for _ in range(count):
        services.register_stock(
            sku=product.sku,
            serial_numbers=[f"SN-SHIP-{next(_serials):05d}" for _ in range(2)],
            condition="new",
            actor=SYSTEM,
            warehouse=PartnerFactory(),
        )
        units = services.reserve_units(Counter({product.pk: 2}), allows_refurbished=False, actor=SYSTEM)
        address = AddressFactory()
        services.create_shipment(address.subscriber, address, units, actor=SYSTEM)


def warehouse_client() -> APIClient:
    return client_for(PartnerFactory(), ["units:read", "shipments:read", "catalogue:read"])


@pytest.mark.parametrize("limit", [7, 50])
def test_limit_sets_the_page_size(limit):
    stock(60)
    client = warehouse_client()
    first = client.get(f"/api/v1/device-units/?limit={limit}").json()
    assert len(first["results"]) == limit
    rest = client.get(first["next"]).json()  # the next link keeps the limit
    assert len(rest["results"]) == min(limit, 60 - limit)
    assert not {u["serial_number"] for u in first["results"]} & {u["serial_number"] for u in rest["results"]}


def test_without_a_limit_a_page_holds_50_and_at_most_200_may_be_asked():
    stock(201)
    client = warehouse_client()
    assert len(client.get("/api/v1/device-units/").json()["results"]) == 50
    assert len(client.get("/api/v1/device-units/?limit=200").json()["results"]) == 200


@pytest.mark.parametrize("limit", ["500", "201", "0", "-1", "ten", "٣", "9" * 5000])
def test_a_limit_outside_1_to_200_is_a_400_naming_limit(limit):
    stock(2)
    response = warehouse_client().get(f"/api/v1/device-units/?limit={limit}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "limit"
    assert "1 to 200" in error["message"]


def test_page_size_still_works_as_the_old_name_of_limit():
    stock(30)
    client = warehouse_client()
    assert len(client.get("/api/v1/products/?page_size=1").json()["results"]) == 1
    assert len(client.get("/api/v1/device-units/?page_size=20").json()["results"]) == 20
    assert client.get("/api/v1/device-units/?page_size=500").json()["errors"][0]["field"] == "page_size"


def test_the_schema_documents_limit_on_every_list():
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    lists = ["/api/v1/device-units/", "/api/v1/shipments/", "/api/v1/products/", "/api/v1/plans/"]
    for path in lists:
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
        assert parameters["page_size"]["deprecated"] is True


def test_a_unit_reads_the_same_in_the_list_as_on_its_own_page():
    """The list reads rows, one unit reads a model: both answer alike, with the schema's fields."""
    stock(1)
    client = warehouse_client()
    [listed] = client.get("/api/v1/device-units/").json()["results"]
    alone = client.get(f"/api/v1/device-units/{listed['serial_number']}/").json()
    assert listed == alone
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    assert set(listed) == set(schema["components"]["schemas"]["DeviceUnit"]["properties"])
    assert listed["sku"].startswith("SKU-") and listed["status"] == "in_stock"
    assert listed["registered_at"].endswith(("+01:00", "+02:00"))  # Amsterdam time, as DRF writes it


def queries_for(client, path: str) -> tuple[int, int]:
    """(queries, rows) of one list request."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["results"])


LISTS = {
    "device-units": (stock, "/api/v1/device-units/"),
    "shipments": (shipments, "/api/v1/shipments/"),
    "products": (lambda count: [ProductFactory() for _ in range(count)], "/api/v1/products/"),
    "plans": (
        lambda count: [PlanFactory(items=[(ProductFactory(), 1), (ProductFactory(), 2)]) for _ in range(count)],
        "/api/v1/plans/",
    ),
}


@pytest.mark.parametrize("name", LISTS)
def test_a_list_takes_as_many_queries_for_20_rows_as_for_2(name):
    make, path = LISTS[name]
    client = warehouse_client()
    make(2)
    few = queries_for(client, path)
    make(18)
    many = queries_for(client, path)
    assert (few[1], many[1]) == (2, 20)
    assert few[0] == many[0]


def test_the_unit_list_reads_key_and_partner_in_one_query_and_the_page_in_another(django_assert_num_queries):
    stock(20)
    client = warehouse_client()
    with django_assert_num_queries(2):
        client.get("/api/v1/device-units/")
