"""The admin on large tables (issue 13): every list order and filter read through an index, searches sent
to the index that fits the term, no DISTINCT, no COUNT(*) over a whole table, estimated counts shown as such.

The plan tests ask PostgreSQL how it would read each changelist's page with sequential scans and sorts
priced out (`enable_seqscan`, `enable_sort`, `enable_incremental_sort` off): where an index serves the
page it is used; where none does, the plan still holds a Seq Scan or a Sort, and the test names the
page. So removing an index from a model fails here, whatever the (small) test tables hold. The scale
figures are in docs/performance.md (`bench/scale.py`).
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from billing.models import Invoice
from flex import large_tables
from tests.factories import AddressFactory, DeviceUnitFactory, SubscriberFactory, UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    return log_in_staff(Client(), UserFactory(role=roles.ADMIN))


def plan_of(queryset, *, sorts: bool = False) -> dict:
    """PostgreSQL's plan for `queryset` with sequential scans priced out, and sorts (a list) or plain
    index scans (a search, `sorts`)."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if sorts:
            # A search's few rows may be sorted, but must be found by an index condition: a plain index
            # scan could read a whole index in order and filter (what tiny test tables invite), a
            # bitmap scan needs a condition the index serves, else the plan falls back to a Seq Scan.
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_indexonlyscan = off")
        else:  # a list's page is read in its order from an index, never sorted
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def page_query(client, changelist: str, query: str = ""):
    response = client.get(f"{reverse(f'admin:{changelist}_changelist')}?{query}")
    assert response.status_code == 200, (changelist, query)
    changelist_page = response.context["cl"]
    return changelist_page, changelist_page.queryset[: changelist_page.list_per_page]


# (changelist, filter query string, the filtered column the index must be searched on)
ORDERED_PAGES = [
    ("billing_invoice", "", None),
    ("billing_invoice", "status__exact=open", "status"),
    ("billing_invoice", "kind__exact=credit_note", "kind"),
    ("billing_invoice", "issue_date__gte=2026-01-01&issue_date__lt=2027-01-01", "issue_date"),
    ("billing_subscription", "", None),
    ("billing_subscription", "status__exact=notice_given", "status"),
    ("billing_subscription", "payment_method__exact=card", "payment_method"),
    ("billing_subscription", "plan__id__exact=1", "plan_id"),
    ("billing_subscription", "notice_by__exact=subscriber", "notice_by"),
    ("billing_subscription", "termination_ground__exact=fraud", "termination_ground"),
    ("billing_subscription", "accepted_at__gte=2026-01-01+00:00:00%2B00:00", "accepted_at"),
    ("accounts_subscriber", "", None),
    ("accounts_subscriber", "kind__exact=organisation", "kind"),
    ("billing_application", "", None),
    ("billing_application", "queue=review", "status"),
    ("billing_application", "queue=stock", "status"),
    ("billing_application", "status__exact=refused", "status"),
    ("billing_application", "payment_method__exact=card", "payment_method"),
    ("billing_application", "plan__id__exact=1", "plan_id"),
    ("billing_application", "refusal_reason__exact=credit_check", "refusal_reason"),
    ("devices_deviceunit", "", None),
    ("devices_deviceunit", "status__exact=in_stock", "status"),
    ("devices_deviceunit", "condition__exact=refurbished", "condition"),
    ("devices_deviceunit", "product__id__exact=1", "product_id"),
    ("devices_shipment", "", None),
    ("devices_shipment", "status__exact=requested", "status"),
    ("accounts_address", "", None),
    ("accounts_user", "", None),
    ("accounts_disclosure", "", None),
    ("audit_auditevent", "", None),
]


@pytest.mark.parametrize(("changelist", "query", "column"), ORDERED_PAGES)
def test_every_list_order_and_filter_is_read_through_an_index(admin_client, changelist, query, column):
    changelist_page, queryset = page_query(admin_client, changelist, query)
    table = changelist_page.model._meta.db_table
    plan = plan_of(queryset)
    kinds = [node["Node Type"] for node in nodes(plan)]
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, f"{changelist}?{query} sorts: {kinds}"
    scans = [node for node in nodes(plan) if node.get("Relation Name") == table]
    assert scans and all(node["Node Type"] in ("Index Scan", "Index Only Scan") for node in scans), (
        f"{changelist}?{query}: {[(n['Node Type'], n.get('Index Name')) for n in scans]}"
    )
    if column:  # a rare value is found by its own index, not by reading the whole list in order
        with connection.cursor() as cursor:
            indexes = connection.introspection.get_constraints(cursor, table).values()
        assert any(index["index"] and index["columns"][:1] == [column] for index in indexes), (
            f"{changelist}?{query}: no index led by {column}"
        )


SEARCHES = [
    # (changelist, term, the large tables that must be read by index)
    ("billing_invoice", "F2026-000123", ["billing_invoice"]),
    ("billing_invoice", "APP0000123", ["billing_invoice", "billing_application"]),
    ("billing_invoice", "anna@example.nl", ["billing_invoice", "accounts_subscriber"]),
    ("billing_invoice", "Jansen", ["billing_invoice", "accounts_subscriber"]),
    ("billing_subscription", "42", ["billing_subscription"]),
    ("billing_subscription", "anna@example.nl", ["billing_subscription", "accounts_subscriber"]),
    ("billing_subscription", "van Dijk", ["billing_subscription", "accounts_subscriber"]),
    ("accounts_subscriber", "ANNA@example.nl", ["accounts_subscriber"]),
    ("accounts_subscriber", "Anna Jansen", ["accounts_subscriber"]),
    ("accounts_subscriber", "12345678", ["accounts_subscriber"]),
    ("accounts_subscriber", "1234ab", ["accounts_subscriber", "accounts_address"]),
    ("billing_application", "APP0000123", ["billing_application"]),
    ("billing_application", "de Vries", ["billing_application", "accounts_subscriber"]),
    ("devices_deviceunit", "SC-00001234", ["devices_deviceunit"]),
    ("accounts_user", "ada@flex.example", ["accounts_user"]),
    ("accounts_user", "Ada", ["accounts_user"]),
    ("accounts_address", "1234 AB", ["accounts_address"]),
    ("billing_invoiceline", "F2026-000123", ["billing_invoiceline", "billing_invoice"]),
    ("audit_auditevent", "42", ["audit_auditevent"]),
    ("audit_auditevent", "partner:demowhse", ["audit_auditevent"]),
]


@pytest.mark.parametrize(("changelist", "term", "tables"), SEARCHES)
def test_every_search_is_read_through_an_index_without_distinct(admin_client, changelist, term, tables):
    with CaptureQueriesContext(connection) as captured:
        _, queryset = page_query(admin_client, changelist, f"q={term}")
    assert not any("DISTINCT" in query["sql"].upper() for query in captured.captured_queries)
    sql = str(queryset.query)
    assert ")::varchar" not in sql and "CAST(" not in sql.upper(), f"a column cast to text: {sql}"
    plan = plan_of(queryset, sorts=True)
    scans = [node for node in nodes(plan) if node.get("Relation Name") in tables]
    read = {node["Relation Name"] for node in scans}
    assert read == set(tables), f"{changelist} q={term}: reads {read}, expected {tables}"
    assert all(node["Node Type"] != "Seq Scan" for node in scans), (
        f"{changelist} q={term}: {[(n['Node Type'], n['Relation Name']) for n in scans]}"
    )
    # and an index is searched for the term (a word of it), not read whole with the term as a filter afterwards
    searched = re.sub(r"\W", "", " ".join(n.get("Index Cond", "") + n.get("Recheck Cond", "") for n in nodes(plan)))
    words = [re.sub(r"\W", "", word).upper() for word in term.split()]
    assert any(word in searched.upper() for word in words), f"{changelist} q={term}: not searched in an index"


def search(client, changelist: str, term: str) -> list:
    response = client.get(reverse(f"admin:{changelist}_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_search_finds_a_subscriber_by_email_in_any_case_by_postcode_once_and_by_first_and_last_name(admin_client):
    anna = SubscriberFactory(first_name="Anna", last_name="Jansen", email="anna.jansen@example.nl")
    other = SubscriberFactory(first_name="Bram", last_name="Jansen", email="bram@example.nl")
    AddressFactory(subscriber=anna, postcode="1234 AB", moved_in_on=date(2024, 1, 1))
    AddressFactory(subscriber=anna, postcode="1234 AB", moved_in_on=date(2025, 1, 1), reported_on=date(2025, 1, 2))
    assert search(admin_client, "accounts_subscriber", "ANNA.JANSEN@EXAMPLE.NL") == [anna]
    assert search(admin_client, "accounts_subscriber", "1234ab") == [anna]  # once, though two addresses match
    assert search(admin_client, "accounts_subscriber", "anna jansen") == [anna]
    assert set(search(admin_client, "accounts_subscriber", "jans")) == {anna, other}
    assert search(admin_client, "accounts_subscriber", "jansen@") == []  # fits no finder: nothing, no error


def test_search_finds_invoices_by_number_start_and_by_the_customers_name(admin_client):
    subscription = subscribe(subscriber=SubscriberFactory(last_name="Bakker"), delivered_on=date(2026, 1, 10))
    invoice = Invoice.objects.get(subscription=subscription)
    assert invoice.subscriber == subscription.subscriber
    assert search(admin_client, "billing_invoice", invoice.number.lower()) == [invoice]
    assert search(admin_client, "billing_invoice", invoice.number[:5]) == [invoice]
    assert search(admin_client, "billing_invoice", "bakker") == [invoice]
    assert search(admin_client, "billing_invoice", "Nobody-by-this-name") == []


def test_search_finds_units_by_serial_start_and_by_product_name(admin_client):
    unit = DeviceUnitFactory(serial_number="RAY-2026-0001")
    DeviceUnitFactory(serial_number="SUB-2026-0002")
    assert search(admin_client, "devices_deviceunit", "ray-2026") == [unit]
    assert unit in search(admin_client, "devices_deviceunit", unit.product.name)


def test_a_long_list_shows_an_estimated_count_without_counting_the_whole_table(admin_client, monkeypatch):
    for n in range(4):
        SubscriberFactory(last_name=f"Visser{n}")
    url = reverse("admin:accounts_subscriber_changelist")
    estimated = re.compile(r"(about|ongeveer) \d")  # the admin speaks the staff member's language
    assert not estimated.search(admin_client.get(url).content.decode())
    monkeypatch.setattr(large_tables.EstimatedCountPaginator, "exact_up_to", 2)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url)
    assert response.context["cl"].paginator.estimated
    assert estimated.search(response.content.decode())
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 3" in sql for sql in counts), counts  # never a COUNT over every row


def test_free_text_filters_read_their_values_from_the_index(admin_client):
    from flex.audit.trail import Actor, record

    subscriber = SubscriberFactory()
    for action in ("give_notice", "accept", "give_notice"):
        record(Actor.system("test"), action, subscriber)
    url = reverse("admin:audit_auditevent_changelist")
    page = admin_client.get(url).content.decode()
    assert page.count("?action=give_notice") == 1 and "?action=accept" in page
    assert len(admin_client.get(url, {"action": "give_notice"}).context["cl"].result_list) == 2


def test_a_warehouse_reads_its_own_units_newest_first_through_an_index():
    """The partner API's unit list (a cursor on -id) of one warehouse among several: no walk over every unit."""
    from devices import selectors
    from tests.factories import PartnerFactory

    warehouse = PartnerFactory(code="second-warehouse", kind="warehouse")
    plan = plan_of(selectors.units_of(warehouse).order_by("-id")[:50])
    scans = [node for node in nodes(plan) if node.get("Relation Name") == "devices_deviceunit"]
    assert [node["Node Type"] for node in scans] == ["Index Scan"], scans
    assert "warehouse_id" in scans[0].get("Index Cond", ""), scans[0]
