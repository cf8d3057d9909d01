"""The subscriber's invoices page: their own invoices and credit notes only, newest first, a page at a
time, in a fixed number of queries (issue 13: index-driven reads for any subscriber)."""

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import InvoiceKind
from billing.portal import views
from tests.signup import signup_world, submitted

PASSWORD = "Een-goed-wachtwoord-1"  # tests.signup.draft


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


def refused(world, n):
    """An applicant refused on REG-5: a paid prepayment invoice and the credit note that refunds it."""
    application = submitted(world, n, last_name="Wanbetaler")
    assert application.invoices.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    return application


def logged_in(application) -> Client:
    client = Client()
    assert client.login(email=application.subscriber.email, password=PASSWORD)
    return client


def numbers(application):
    return list(application.invoices.order_by("-issue_date", "-number").values_list("number", flat=True))


def test_invoices_page_shows_own_invoices_newest_first_and_nobody_elses(world, django_assert_max_num_queries):
    mine, theirs = refused(world, 1), refused(world, 2)
    client = logged_in(mine)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("portal:invoices")).text
    credit_note, prepayment = numbers(mine)
    assert page.index(credit_note) < page.index(prepayment)
    assert not any(number in page for number in numbers(theirs))


def test_invoices_page_pages_through_older_invoices(world, monkeypatch):
    mine = refused(world, 1)
    monkeypatch.setattr(views, "INVOICES_PER_PAGE", 1)
    client = logged_in(mine)
    newest, oldest = numbers(mine)
    first = client.get(reverse("portal:invoices")).text
    assert newest in first and oldest not in first and 'rel="next"' in first
    second = client.get(reverse("portal:invoices"), {"page": 2}).text
    assert oldest in second and newest not in second and 'rel="prev"' in second
    assert oldest in client.get(reverse("portal:invoices"), {"page": 99}).text  # past the end: the last page
    assert newest in client.get(reverse("portal:invoices"), {"page": "x"}).text  # nonsense: the first page


def test_dashboard_shows_the_latest_invoices_and_links_to_all_of_them(world, monkeypatch):
    mine = refused(world, 1)
    client = logged_in(mine)
    newest, oldest = numbers(mine)
    dashboard = client.get(reverse("portal:dashboard")).text
    assert reverse("portal:invoices") in dashboard and newest in dashboard and oldest in dashboard
    monkeypatch.setattr(views, "DASHBOARD_INVOICES", 1)
    dashboard = client.get(reverse("portal:dashboard")).text
    assert reverse("portal:invoices") in dashboard and newest in dashboard and oldest not in dashboard
    assert "Alle facturen" in dashboard
