"""The sign-up wizard and status page through HTTP, as the applicant's browser uses them."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Address, Subscriber
from billing.models import Application, ApplicationStatus
from tests.factories import ProductFactory
from tests.signup import signup_world

PASSWORD = "Een-goed-wachtwoord-1"


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


def details(**overrides):
    data = {
        "kind": "person",
        "first_name": "Sam",
        "last_name": "Jansen",
        "date_of_birth": "1990-05-17",
        "email": "sam@example.nl",
        "phone": "0612345678",
        "postcode": "1016 BR",
        "house_number": "10",
        "street": "Herengracht",
        "city": "Amsterdam",
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def choose(client, world, addons=0):
    return client.post(reverse("portal:signup"), {"plan": world.plan.pk, f"addon_{world.addon.pk}": addons})


def test_plan_page_shows_plans_and_add_ons_with_prices(world):
    page = Client().get(reverse("portal:signup"))
    assert page.status_code == 200
    assert "Stereo" in page.text and "Roam 2" in page.text
    assert "€ 19,00" in page.text


def choose_two_kinds(client, world, first: int, second: int):
    other = ProductFactory(name="Sub Mini", sku="SUB-MINI", is_addon_eligible=True)
    return client.post(
        reverse("portal:signup"),
        {"plan": world.plan.pk, f"addon_{world.addon.pk}": first, f"addon_{other.pk}": second},
    )


def test_four_add_ons_go_on_to_the_details_step(world):
    client = Client()
    page = choose_two_kinds(client, world, 2, 2)
    assert page.status_code == 302 and page.url == reverse("portal:signup_details")
    assert len(client.session["signup_choice"]["addons"]) == 4


def test_more_than_4_add_ons_is_refused_on_the_page_with_its_rule(world):
    client = Client()
    page = choose_two_kinds(client, world, 3, 2)
    assert page.status_code == 200
    errors = list(page.context["form"].non_field_errors())
    assert errors and "PLAN-4" in errors[0] and "3.5" in errors[0]
    assert "signup_choice" not in client.session


def test_minor_is_refused_on_the_details_step_naming_the_rule(world):
    client = Client()
    choose(client, world)
    page = client.post(reverse("portal:signup_details"), details(date_of_birth="2015-01-01"))
    assert page.status_code == 200
    assert "REG-1" in page.text and "art. 1.1.1" in page.text
    assert not Subscriber.objects.exists()


def test_bad_postcode_is_shown_on_its_field(world):
    client = Client()
    choose(client, world)
    page = client.post(reverse("portal:signup_details"), details(postcode="0000 AA"))
    assert "REG-1" in page.text
    assert not Address.objects.exists()


def test_whole_wizard_to_the_status_page(world):
    client = Client()
    assert choose(client, world, addons=1)["Location"] == reverse("portal:signup_details")
    response = client.post(reverse("portal:signup_details"), details())
    application = Application.objects.get()
    assert response["Location"] == reverse("portal:signup_payment", args=[application.reference])

    page = client.get(response["Location"])
    assert "FLEX-" + application.reference in page.text  # the mandate text names its reference
    response = client.post(
        response["Location"],
        {
            "payment_method": "sepa_direct_debit",
            "iban": "NL91 ABNA 0417 1643 00",
            "account_holder": "S. Jansen",
            "accept_terms": "on",
        },
        REMOTE_ADDR="203.0.113.5",
    )
    assert response["Location"] == reverse("portal:signup_identity", args=[application.reference])

    to_bank = client.post(response["Location"])
    bank_page = client.get(to_bank["Location"])
    assert "iDIN" in bank_page.text
    back = client.post(
        to_bank["Location"],
        {
            "name": "Sam Jansen",
            "date_of_birth": "1990-05-17",
            "postcode": "1016 BR",
            "house_number": 10,
            "decision": "confirm",
        },
    )
    after_bank = client.get(back["Location"])
    assert after_bank["Location"] == reverse("portal:signup_prepayment", args=[application.reference])

    to_checkout = client.post(after_bank["Location"])
    payment_id = urlsplit(to_checkout["Location"]).path.rstrip("/").split("/")[-1]
    back_from_checkout = client.post(to_checkout["Location"], {"decision": "ideal"})
    prepaid = client.get(back_from_checkout["Location"])
    assert "Betaald" in prepaid.text or "betaald" in prepaid.text
    assert payment_id.startswith("tr_")

    status = client.post(reverse("portal:signup_submit", args=[application.reference]), follow=True)
    assert status.redirect_chain[-1][0] == reverse("portal:application", args=[application.reference])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_REVIEW
    assert application.terms_accepted_ip == "203.0.113.5"
    assert 'id="stage"' in status.text


def test_status_page_does_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = Client()
    choose(client, world)
    client.post(reverse("portal:signup_details"), details())
    reference = Application.objects.get().reference
    with django_assert_max_num_queries(12):
        page = client.get(reverse("portal:application", args=[reference]))
    assert "Nog niet ingediend" in page.text


def test_invalid_iban_is_shown_on_its_field_with_the_rule(world):
    client = Client()
    choose(client, world)
    client.post(reverse("portal:signup_details"), details())
    application = Application.objects.get()
    page = client.post(
        reverse("portal:signup_payment", args=[application.reference]),
        {"payment_method": "sepa_direct_debit", "iban": "NL00BANK1234", "account_holder": "S", "accept_terms": "on"},
    )
    assert page.status_code == 200
    assert "REG-7" in page.text


def test_cancelling_at_the_bank_comes_back_with_a_message(world):
    client = Client()
    choose(client, world)
    client.post(reverse("portal:signup_details"), details())
    application = Application.objects.get()
    client.post(
        reverse("portal:signup_payment", args=[application.reference]),
        {"payment_method": "card", "accept_terms": "on"},
    )
    to_bank = client.post(reverse("portal:signup_identity", args=[application.reference]))
    back = client.post(to_bank["Location"], {"decision": "cancel"})
    assert "trxid" in parse_qs(urlsplit(back["Location"]).query)
    page = client.get(back["Location"], follow=True)
    assert "REG-7" in page.text
    assert Application.objects.get().status == ApplicationStatus.DRAFT


def test_someone_else_cannot_see_an_application(world):
    client = Client()
    choose(client, world)
    client.post(reverse("portal:signup_details"), details())
    reference = Application.objects.get().reference
    other = Client()
    choose(other, world)
    other.post(reverse("portal:signup_details"), details(email="other@example.nl"))
    assert other.get(reverse("portal:application", args=[reference])).status_code == 404


def test_reporting_a_move_late_is_flagged(world, travel):
    client = Client()
    with travel("2026-09-01"):
        choose(client, world)
        client.post(reverse("portal:signup_details"), details())
    with travel("2026-11-24"):
        response = client.post(
            reverse("portal:address"),
            {
                "moved_in_on": "2026-10-01",
                "postcode": "3511 AB",
                "house_number": 5,
                "street": "Oudegracht",
                "city": "Utrecht",
            },
            follow=True,
        )
    assert "REG-8" in response.text
    latest = Address.objects.order_by("-moved_in_on").first()
    assert latest.city == "Utrecht" and latest.is_reported_late
