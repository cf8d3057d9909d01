"""Staff who may view invoices download each invoice's PDF from the admin, as the customer gets it; the
admin is a window: reading the PDF changes nothing, and staff without the permission get none."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing.models import Invoice
from tests.factories import UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice() -> Invoice:
    return subscribe(delivered_on=date(2026, 1, 10)).invoices.get()


def staff(role) -> Client:
    return log_in_staff(Client(), UserFactory(role=role))


def pdf_url(invoice) -> str:
    return reverse("admin:billing_invoice_pdf", args=[invoice.pk])


@pytest.mark.parametrize("role", [roles.FINANCE, roles.CUSTOMER_SERVICE])
def test_staff_who_may_view_invoices_download_the_pdf(invoice, role, django_assert_num_queries):
    client = staff(role)
    # Session, user, second-factor device, the admin-role check, the user's and the groups' permissions;
    # then the invoice with everything it names, and its lines.
    with django_assert_num_queries(8):
        response = client.get(pdf_url(invoice))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_the_invoice_list_and_page_link_to_the_pdf(invoice):
    client = staff(roles.FINANCE)
    assert pdf_url(invoice) in client.get(reverse("admin:billing_invoice_changelist")).text
    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).text
    assert pdf_url(invoice) in page and "PDF downloaden" in page


def test_staff_without_view_permission_on_invoices_get_no_pdf(invoice):
    assert staff(roles.WAREHOUSE).get(pdf_url(invoice)).status_code == 403


def test_subscribers_and_visitors_are_sent_to_the_admin_log_in(invoice):
    subscriber = Client()
    subscriber.force_login(invoice.subscriber.user)
    for client in (subscriber, Client()):
        response = client.get(pdf_url(invoice))
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_an_unknown_invoice_is_not_found_and_the_pdf_is_only_read(invoice):
    client = staff(roles.FINANCE)
    assert client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk + 1000])).status_code == 404
    assert client.post(pdf_url(invoice)).status_code == 405
