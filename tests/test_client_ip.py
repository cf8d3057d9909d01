"""The client address kept as evidence (REG-2 terms, PAY-1 mandate) and used by the log-in lockout:
X-Forwarded-For only as far as our own proxies vouch for it (FLEX_TRUSTED_PROXY_COUNT)."""

import pytest
from django.test import RequestFactory

from flex.client_ip import client_ip
from tests.portal.test_signup_wizard import details

rf = RequestFactory()


def ip(forwarded: str | None = None, remote: str = "198.51.100.9") -> str | None:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(rf.get("/", **meta))


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.FLEX_TRUSTED_PROXY_COUNT = 0
    assert ip("203.0.113.66") == "198.51.100.9"
    assert ip() == "198.51.100.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.5", "203.0.113.5"),  # the proxy appended the client's address
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client wrote "6.6.6.6" itself
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),  # CDN, then load balancer
        (2, "203.0.113.5", "198.51.100.9"),  # fewer entries than proxies: the peer, as ProxyFix does
        (1, "", "198.51.100.9"),
    ],
)
def test_behind_n_proxies_the_nth_address_from_the_right_is_the_client(settings, proxies, forwarded, expected):
    settings.FLEX_TRUSTED_PROXY_COUNT = proxies
    assert ip(forwarded) == expected


@pytest.mark.parametrize(("forwarded", "remote"), [("not-an-address", "198.51.100.9"), (None, "garbage")])
def test_an_invalid_address_is_no_address(settings, forwarded, remote):
    settings.FLEX_TRUSTED_PROXY_COUNT = 1 if forwarded else 0
    assert ip(forwarded, remote) is None


def test_ipv6_is_normalised(settings):
    settings.FLEX_TRUSTED_PROXY_COUNT = 1
    assert ip("2001:DB8::0001") == "2001:db8::1"


SIGN_UP = details()  # the wizard's details step, as its own tests fill it in
PAYMENT = {"payment_method": "sepa_direct_debit", "iban": "NL91 ABNA 0417 1643 00", "account_holder": "S. Jansen"}


def accept_terms(settings, **meta):
    from django.test import Client
    from django.urls import reverse

    from billing.models import Application
    from tests.signup import signup_world

    world = signup_world(settings)
    client = Client()
    client.post(reverse("portal:signup"), {"plan": world.plan.pk, f"addon_{world.addon.pk}": 0})
    client.post(reverse("portal:signup_details"), SIGN_UP)
    application = Application.objects.get()
    response = client.post(
        reverse("portal:signup_payment", args=[application.reference]), {**PAYMENT, "accept_terms": "on"}, **meta
    )
    assert response.status_code == 302, response.content[:500]
    application.refresh_from_db()
    return application


@pytest.mark.django_db(transaction=True)
def test_a_forged_forwarded_header_is_not_kept_as_terms_evidence(settings):
    settings.FLEX_TRUSTED_PROXY_COUNT = 0
    application = accept_terms(settings, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert application.terms_accepted_ip == "203.0.113.5"


@pytest.mark.django_db(transaction=True)
def test_an_invalid_forwarded_address_is_kept_as_unknown_not_a_500(settings):
    settings.FLEX_TRUSTED_PROXY_COUNT = 1
    application = accept_terms(settings, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="'; drop table--")
    assert application.terms_accepted_at is not None
    assert application.terms_accepted_ip is None
