"""M3: a partner that does not answer in time (5xx, too slow) during sign-up is a REG-7 refusal on the
page, "try again in a moment", with nothing half-written; a retry then works. The identity provider
and the payment provider run as their HTTP clients against a live local server."""

import functools
import threading
from dataclasses import replace
from http.server import ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Disclosure, Subscriber
from billing.models import Application, Invoice, InvoiceKind
from flex.partners import JsonHttpClient
from tests.portal.test_identity_return import applicant_at_identity_step, confirm_at_the_bank
from tests.signup import signup_world
from tests.test_partner_http import SECRET, Provider

AGAIN = "try again in a moment"


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


@pytest.fixture
def serve(settings):
    """`serve(kind)` puts that one partner behind a live local HTTP server; the others stay sandboxes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Provider.answers, Provider.seen = {}, []
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def switch(kind: str) -> type[Provider]:
        cfg = settings.FLEX_PARTNERS[kind]
        settings.FLEX_PARTNERS = {
            **settings.FLEX_PARTNERS,
            kind: replace(cfg, implementation="http", url=url, key="live-key", secret=SECRET),
        }
        return Provider

    yield switch
    server.shutdown()


@pytest.fixture
def impatient(monkeypatch):
    """The partner clients give up after half a second, so a "slow" answer (1.5 s) is a timeout."""
    for module in ("accounts.adapters.identity", "billing.adapters.payments"):
        monkeypatch.setattr(f"{module}.JsonHttpClient", functools.partial(JsonHttpClient, timeout=0.5))


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def assert_refused_to_try_again(page, back_to: str) -> None:
    assert page.status_code == 200
    assert page.redirect_chain[-1][0] == back_to
    assert "REG-7" in page.text and "art. 2.3" in page.text
    assert AGAIN in page.text.lower()


def assert_identity_unchanged(application: Application) -> None:
    subscriber = Subscriber.objects.get(pk=application.subscriber_id)
    assert (subscriber.verified_identity, subscriber.identity_verified_at) == ("", None)
    assert Application.objects.get(pk=application.pk).identity_transaction == ""


@pytest.mark.parametrize("answer", [(503, {"error": "maintenance"}), ("slow", {})])
def test_identity_provider_down_when_the_applicant_starts_is_a_reg_7_refusal_to_try_again(
    world, serve, impatient, answer
):
    client, application = applicant_at_identity_step(world, "anna@example.nl")
    english(client)
    provider = serve("identity")
    provider.answers[("POST", "/transactions")] = answer
    identity_page = reverse("portal:signup_identity", args=[application.reference])

    page = client.post(identity_page, follow=True)

    assert_refused_to_try_again(page, identity_page)
    assert [(method, path) for method, path, *_ in provider.seen] == [("POST", "/transactions")]
    assert_identity_unchanged(application)
    # PRIV-1: the request may have reached the provider, so its disclosure stays logged.
    assert Disclosure.objects.filter(reference=application.reference, partner__kind="identity").count() == 1

    provider.answers[("POST", "/transactions")] = (200, {"transaction_id": "t1", "issuer_url": "https://bank/x"})
    assert client.post(identity_page)["Location"] == "https://bank/x"


@pytest.mark.parametrize("answer", [(502, {}), ("slow", {})])
def test_identity_provider_down_when_the_applicant_comes_back_is_a_reg_7_refusal_to_try_again(
    world, serve, impatient, answer
):
    client, application = applicant_at_identity_step(world, "anna@example.nl")
    english(client)
    provider = serve("identity")
    provider.answers[("GET", "/transactions/t1")] = answer
    back = reverse("portal:signup_identity_return", args=[application.reference])

    page = client.get(back, {"trxid": "t1"}, follow=True)

    assert_refused_to_try_again(page, reverse("portal:signup_identity", args=[application.reference]))
    assert_identity_unchanged(application)

    provider.answers[("GET", "/transactions/t1")] = (
        200,
        {
            "status": "success",
            "reference": application.reference,
            "consumer_bin": "BIN1",
            "date_of_birth": "1990-05-17",
        },
    )
    assert client.get(back, {"trxid": "t1"})["Location"] == reverse(
        "portal:signup_prepayment", args=[application.reference]
    )
    assert Subscriber.objects.get(pk=application.subscriber_id).verified_identity == "BIN1"


def test_a_transaction_id_too_long_to_be_the_banks_is_refused_before_the_bank_is_asked(world, serve):
    client, application = applicant_at_identity_step(world, "anna@example.nl")
    english(client)
    provider = serve("identity")
    back = reverse("portal:signup_identity_return", args=[application.reference])

    page = client.get(back, {"trxid": "1" * 129}, follow=True)

    assert page.redirect_chain[-1][0] == reverse("portal:signup_identity", args=[application.reference])
    assert "REG-7" in page.text and "no identity confirmation we can look up" in page.text
    assert provider.seen == []
    assert_identity_unchanged(application)


def at_prepayment_step(world) -> tuple[Client, Application]:
    client, application = applicant_at_identity_step(world, "anna@example.nl")
    client.get(confirm_at_the_bank(client, application, name="Anna de Vries", born="1985-02-03"))
    assert Subscriber.objects.get(pk=application.subscriber_id).verified_identity
    return english(client), application


@pytest.mark.parametrize("answer", [(503, {"error": "maintenance"}), ("slow", {})])
def test_payment_provider_down_at_the_checkout_is_a_reg_7_refusal_to_try_again(world, serve, impatient, answer):
    client, application = at_prepayment_step(world)
    provider = serve("payments")
    provider.answers[("POST", "/payments")] = answer
    prepayment_page = reverse("portal:signup_prepayment", args=[application.reference])

    page = client.post(prepayment_page, follow=True)

    assert_refused_to_try_again(page, prepayment_page)
    assert "nothing has been paid" in page.text
    assert Application.objects.get(pk=application.pk).prepayment_reference == ""
    invoice = Invoice.objects.get(application=application, kind=InvoiceKind.PREPAYMENT)

    # A moment later the provider answers: the checkout opens for the same invoice, not a second one.
    provider.answers[("POST", "/payments")] = (200, {"id": "tr_1", "checkout_url": "https://pay/tr_1"})
    assert client.post(prepayment_page)["Location"] == "https://pay/tr_1"
    assert list(Invoice.objects.filter(application=application, kind=InvoiceKind.PREPAYMENT)) == [invoice]
    assert Application.objects.get(pk=application.pk).prepayment_reference == "tr_1"


def test_payment_provider_down_on_return_from_the_checkout_still_shows_the_page(world, serve):
    client, application = at_prepayment_step(world)
    provider = serve("payments")
    provider.answers[("POST", "/payments")] = (200, {"id": "tr_1", "checkout_url": "https://pay/tr_1"})
    prepayment_page = reverse("portal:signup_prepayment", args=[application.reference])
    client.post(prepayment_page)
    provider.answers[("GET", "/payments/tr_1")] = (503, {})

    page = client.get(prepayment_page)

    assert page.status_code == 200
    assert "REG-7" in page.text and AGAIN in page.text.lower()
    assert not Invoice.objects.get(application=application, kind=InvoiceKind.PREPAYMENT).payments.exists()
