"""A business customer's VAT number (Wet OB 1968 art. 35a lid 1 sub d): asked at sign-up, checked for its
shape (and a Dutch one for its check digits), kept on the subscriber, copied onto each invoice as it is
at issue and printed on the PDF."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Subscriber
from accounts.rules import vat_number_refusal
from billing import services
from billing.models import InvoiceKind
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.billing.test_invoice_pdf import pdf_text
from tests.factories import SubscriberFactory, subscribe
from tests.signup import draft

ORGANISATION = {
    "kind": "organisation",
    "organisation_name": "Café De Hoek B.V.",
    "kvk_number": "12345678",
    "first_name": "",
    "last_name": "",
    "date_of_birth": None,
}
VAT_NUMBER = "NL004495445B01"  # a real-shaped Dutch number: its 9 digits pass the eleven-test


@pytest.mark.parametrize(
    "number",
    [
        "NL123456789B01",  # the right shape, but its check digits are wrong
        "NL12345678B01",  # 8 digits
        "NL004495445X01",  # no B
        "004495445B01",  # no country code
        "XX004495445B01",  # no EU country
        "DE12345678",  # a German number has 9 digits
    ],
)
def test_a_vat_number_that_is_none_is_refused_naming_the_field_and_the_rule_art_35a(number):
    refusal = vat_number_refusal(number)
    assert refusal is not None
    assert (refusal.rule, refusal.field, refusal.article) == ("PAY-1", "vat_number", "Wet OB 1968 art. 35a")


@pytest.mark.parametrize(
    "number", ["", VAT_NUMBER, "nl 0044.95.445.b01", "NL000099998B57", "DE123456789", "BE0123456789", "FR40303265045"]
)
def test_an_eu_vat_number_or_none_at_all_is_accepted_art_35a(number):
    assert vat_number_refusal(number) is None


@pytest.mark.django_db(transaction=True)
def test_sign_up_refuses_a_bad_vat_number_and_keeps_nothing_art_35a(settings):
    from tests.signup import signup_world

    world = signup_world(settings)
    with pytest.raises(Refused) as refused:
        draft(world, vat_number="NL123456789B01", **ORGANISATION)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("PAY-1", "vat_number")
    assert not Subscriber.objects.exists()
    application = draft(world, vat_number="nl 0044.95.445.b01", **ORGANISATION)
    assert application.subscriber.vat_number == VAT_NUMBER  # stored the way the invoice prints it


@pytest.mark.django_db(transaction=True)
def test_the_details_step_shows_a_bad_vat_number_on_its_field_art_35a(settings):
    from tests.portal.test_signup_wizard import choose, details
    from tests.signup import signup_world

    world = signup_world(settings)
    client = Client()
    choose(client, world)
    data = details(
        kind="organisation", organisation_name="Café De Hoek B.V.", kvk_number="12345678", vat_number="NL1234"
    )
    page = client.post(reverse("portal:signup_details"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    [error] = page.context["form"].errors["vat_number"]
    assert "PAY-1" in error and "35a" in error and "NL123456789B01" in error
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_invoices_carry_the_business_customers_vat_number_as_it_was_at_issue_art_35a(travel):
    subscriber = SubscriberFactory(
        kind="organisation",
        organisation_name="Café De Hoek B.V.",
        kvk_number="12345678",
        vat_number=VAT_NUMBER,
        first_name="",
        last_name="",
        date_of_birth=date(1975, 2, 3),  # the representative who verifies their identity at the bank (REG-7)
    )
    subscription = subscribe(subscriber=subscriber, delivered_on=date(2026, 1, 31))
    prepayment = subscription.invoices.get(kind=InvoiceKind.PREPAYMENT)
    assert prepayment.customer_vat_number == VAT_NUMBER
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=Actor.system("billing_run"))
    monthly = subscription.invoices.get(kind=InvoiceKind.MONTHLY)
    assert monthly.customer_vat_number == VAT_NUMBER
    assert VAT_NUMBER in pdf_text(monthly)
    # a later change reaches the next invoice, never one already issued
    Subscriber.objects.filter(pk=subscriber.pk).update(vat_number="NL000099998B57")
    monthly.refresh_from_db()
    assert monthly.customer_vat_number == VAT_NUMBER


@pytest.mark.django_db
def test_a_person_without_a_vat_number_gets_invoices_without_one_art_35a(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    prepayment = subscription.invoices.get(kind=InvoiceKind.PREPAYMENT)
    assert prepayment.customer_vat_number == ""
    assert "VAT no. NL" not in pdf_text(prepayment).replace(prepayment.issuer.vat_number, "")
