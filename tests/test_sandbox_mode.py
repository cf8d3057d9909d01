"""Sandbox mode (FLEX_SANDBOX): outside it, no sandbox partner answers and no published secret signs
anything. The start-up side (system check, WSGI, seed_demo, /sandbox/ pages) is in
tests/test_settings_and_seed.py, where production settings run in a subprocess."""

import json
from dataclasses import replace

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from billing.adapters.payments import payment_provider
from billing.models import Payment, PaymentAllocation
from flex.partners import BadSignature, sign, verify
from tests.signup import ready_to_submit, signup_world

SANDBOX_SECRET = "sandbox-payments-secret-not-for-production"


@pytest.fixture
def unpaid(transactional_db, settings):
    application = ready_to_submit(signup_world(settings))
    PaymentAllocation.objects.all().delete()
    Payment.objects.all().delete()
    application.invoices.update(status="open", paid_at=None)
    return application.invoices.get()


def paid_webhook(invoice, secret: str):
    body = json.dumps(
        {
            "payment_id": "tr_forged",
            "reference": invoice.number,
            "status": "paid",
            "amount": str(invoice.gross_total),
            "method": "ideal",
            "card_token": "",
        }
    ).encode()
    return APIClient().post(
        "/api/v1/webhooks/payments/", body, content_type="application/json", HTTP_FLEX_SIGNATURE=sign(body, secret)
    )


def test_a_sandbox_partner_does_not_answer_outside_sandbox_mode(settings):
    settings.FLEX_SANDBOX = False
    assert settings.FLEX_PARTNERS["payments"].implementation == "sandbox"
    with pytest.raises(ImproperlyConfigured, match="FLEX_PARTNER_PAYMENTS=sandbox outside sandbox mode"):
        payment_provider()


def test_outside_sandbox_mode_a_webhook_signed_with_the_sandbox_or_no_secret_pays_nothing(unpaid, settings):
    # Production with the payment provider half configured: HTTP, but its secret not set.
    settings.FLEX_SANDBOX = False
    settings.FLEX_PARTNERS = {
        **settings.FLEX_PARTNERS,
        "payments": replace(
            settings.FLEX_PARTNERS["payments"], implementation="http", url="https://psp.example/", key="k", secret=""
        ),
    }
    for secret in (SANDBOX_SECRET, ""):
        response = paid_webhook(unpaid, secret)
        assert response.status_code == 401, secret
    assert not Payment.objects.exists()
    unpaid.refresh_from_db()
    assert unpaid.status == "open"


def test_nothing_verifies_against_an_empty_secret():
    body = b'{"status": "paid"}'
    with pytest.raises(BadSignature, match="no webhook secret is configured"):
        verify(body, sign(body, ""), "")
