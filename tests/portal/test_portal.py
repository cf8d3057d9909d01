"""The subscriber portal: log in and out, Dutch by default with English on request, the dashboard,
and password reset by e-mail."""

import re
from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import AddressFactory, DeviceUnitFactory, PlanFactory, ProductFactory, subscribe

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory


def logged_in(subscriber) -> Client:
    client = Client()
    assert client.login(email=subscriber.user.email, password=PASSWORD)
    return client


def test_anonymous_visitor_is_sent_to_login():
    response = Client().get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_login_with_email_and_password_opens_the_dashboard():
    subscriber = AddressFactory().subscriber
    response = Client().post(
        reverse("portal:login"), {"username": subscriber.user.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("portal:dashboard")
    assert "Je hebt nog geen abonnement." in response.text


def test_wrong_password_keeps_the_visitor_out_with_a_message():
    subscriber = AddressFactory().subscriber
    response = Client().post(reverse("portal:login"), {"username": subscriber.user.email, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    assert response.context["form"].errors


def test_logout_ends_the_session():
    client = logged_in(AddressFactory().subscriber)
    client.post(reverse("portal:logout"))
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_portal_speaks_dutch_by_default_and_english_on_request():
    client = logged_in(AddressFactory().subscriber)
    dutch = client.get(reverse("portal:dashboard"))
    assert '<html lang="nl">' in dutch.text
    assert "Facturen" in dutch.text and "Uitloggen" in dutch.text

    client.post(reverse("set_language"), {"language": "en", "next": reverse("portal:dashboard")})
    english = client.get(reverse("portal:dashboard"))
    assert '<html lang="en">' in english.text
    assert "Invoices" in english.text and "Log out" in english.text


def test_dashboard_shows_subscription_devices_and_invoices(travel):
    travel("2026-02-01")
    soundbar = ProductFactory(name="Arc Ultra")
    plan = PlanFactory(name="Cinema", items=[(soundbar, 1)])
    unit = DeviceUnitFactory(product=soundbar, serial_number="SN-ARC-77")
    subscription = subscribe(AddressFactory().subscriber, plan, delivered_on=date(2026, 1, 10), units=[unit])
    invoice = subscription.invoices.get()

    page = logged_in(subscription.subscriber).get(reverse("portal:dashboard")).text

    assert "Cinema" in page
    assert "actief" in page
    assert "€ 45,00" in page  # the plan's monthly fee, Dutch notation
    assert "10 januari 2026" in page  # start date
    assert "10 april 2026" in page  # minimum term: start + 3 months
    assert "SN-ARC-77" in page and "Arc Ultra" in page
    assert invoice.number in page and "€ 135,00" in page and "betaald" in page


def test_dashboard_shows_only_the_subscribers_own_data():
    mine = subscribe(AddressFactory().subscriber)
    theirs = subscribe(AddressFactory().subscriber)
    page = logged_in(mine.subscriber).get(reverse("portal:dashboard")).text
    assert mine.invoices.get().number in page
    assert theirs.invoices.get().number not in page


def test_dashboard_queries_do_not_grow_with_devices_and_invoices(django_assert_max_num_queries):
    products = [ProductFactory() for _ in range(6)]
    plan = PlanFactory(items=[(product, 1) for product in products])
    subscription = subscribe(AddressFactory().subscriber, plan, delivered_on=date(2026, 1, 10))
    client = logged_in(subscription.subscriber)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("portal:dashboard")).status_code == 200


def test_password_reset_mails_a_link_that_sets_a_new_password():
    subscriber = AddressFactory().subscriber
    client = Client()
    response = client.post(reverse("portal:password_reset"), {"email": subscriber.user.email}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [subscriber.user.email]
    assert message.subject == "Je Flex-wachtwoord"

    link = re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Kies een nieuw wachtwoord" in form_page.text
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("portal:password_reset_complete")
    assert Client().login(email=subscriber.user.email, password="a new long passphrase")
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing():
    response = Client().post(reverse("portal:password_reset"), {"email": "nobody@example.nl"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:password_reset_done")
    assert mail.outbox == []
