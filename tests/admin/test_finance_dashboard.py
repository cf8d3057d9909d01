"""Finance looks rather than reads: the dashboard (invoiced vs collected, outstanding by age, collection
success) and the open receivables by age (PAY-2), for the finance role only, in a fixed number of queries."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing.models import PaidBy
from billing.services import payments
from flex.audit.trail import Actor
from tests.billing.sepa import monthly_invoice
from tests.factories import UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 15)
DASHBOARD = "admin:billing_finance_dashboard"
RECEIVABLES = "admin:billing_openreceivable_changelist"


@pytest.fixture
def book(travel):
    subscription = subscribe(delivered_on=date(2025, 1, 5))
    invoices = [
        monthly_invoice(subscription, date(2026, 6, 15), "10.00"),  # due today: not yet due
        monthly_invoice(subscription, date(2026, 6, 14), "11.00"),  # 1 day overdue
        monthly_invoice(subscription, date(2026, 5, 15), "13.00"),  # 31 days
        monthly_invoice(subscription, date(2026, 3, 16), "17.00"),  # 91 days
    ]
    payments.receive_payment(
        subscriber_id=subscription.subscriber_id,
        amount=Decimal("3.00"),
        method=PaidBy.IDEAL,
        reference="IDEAL-1",
        invoice_id=invoices[3].pk,
        booked_on=date(2026, 4, 2),
        actor=Actor.partner("payments"),
    )
    travel(TODAY)
    return invoices


def staff(role):
    return log_in_staff(Client(), UserFactory(role=role))


def test_finance_finds_the_dashboard_on_the_admin_index_and_sees_three_charts_with_their_numbers_pay_2(
    book, django_assert_max_num_queries
):
    client = staff(roles.FINANCE)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse(DASHBOARD) in index and "Finance dashboard" in index
    with django_assert_max_num_queries(10):  # session, user, permissions, 2FA device, the three figures
        response = client.get(reverse(DASHBOARD), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg class="chart"') == 3
    for title in ("Invoiced and collected per month", "Outstanding by age", "Collection success rate per month"):
        assert f">{title}</title>" in page
    assert 'role="img"' in page and "<desc" in page
    # the numbers are in the tables too: € 14.00 open more than 90 days overdue (17 less 3 paid)
    assert re.search(r"more than 90 days overdue</a></th><td class=\"num\">1</td><td class=\"num\">€ 14,00", page)
    assert re.search(r"1–30 days overdue</a></th><td class=\"num\">1</td><td class=\"num\">€ 11,00", page)
    # the Content-Security-Policy forbids inline styles and scripts: the charts use neither
    assert " style=" not in page and "<script>" not in page


def test_the_dashboard_speaks_dutch_to_a_dutch_reader(book):
    client = staff(roles.FINANCE)
    client.cookies["django_language"] = "nl"
    page = client.get(reverse(DASHBOARD), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Gefactureerd en geïnd per maand" in page and "meer dan 90 dagen over de vervaldatum" in page


@pytest.mark.parametrize("role", [roles.CUSTOMER_SERVICE, roles.WAREHOUSE, roles.PRIVACY_OFFICER])
def test_other_roles_neither_see_nor_open_the_finance_pages(book, role):
    client = staff(role)
    assert reverse(DASHBOARD) not in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse(DASHBOARD)).status_code == 403
    assert client.get(reverse(RECEIVABLES)).status_code == 403


def test_open_receivables_filter_by_age_with_the_amount_open_in_fixed_queries_pay_2(
    book, django_assert_max_num_queries
):
    client = staff(roles.FINANCE)
    with django_assert_max_num_queries(12):
        page = client.get(reverse(RECEIVABLES), {"age": "90+"}).content.decode()
    numbers = [invoice.number for invoice in book]
    assert numbers[3] in page and "€ 14,00" in page  # 17.00 less the 3.00 paid
    assert not any(number in page for number in numbers[:3])
    page = client.get(reverse(RECEIVABLES), {"age": "not_due"}).content.decode()
    assert numbers[0] in page and numbers[1] not in page  # due today is not overdue (PAY-2)
    page = client.get(reverse(RECEIVABLES), {"age": "1-30"}).content.decode()
    assert numbers[1] in page and numbers[0] not in page


def test_the_receivables_list_costs_the_same_queries_for_more_rows(book, django_assert_max_num_queries):
    client = staff(roles.FINANCE)
    client.get(reverse(RECEIVABLES))  # warm: content types, sessions
    with django_assert_max_num_queries(12) as few:
        client.get(reverse(RECEIVABLES))
    monthly_invoice(book[0].subscription, date(2026, 2, 10), "5.00")
    monthly_invoice(book[0].subscription, date(2026, 1, 10), "5.00")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(RECEIVABLES))
