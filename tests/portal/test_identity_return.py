"""REG-7: an identity transaction counts only for the application that started it. Two applicants go
to the (sandbox) bank; one comes back with the other's transaction id."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Subscriber
from billing.models import Application
from tests.portal.test_signup_wizard import choose, details
from tests.signup import signup_world


@pytest.fixture
def world(transactional_db, settings):
    return signup_world(settings)


def applicant_at_identity_step(world, email: str) -> tuple[Client, Application]:
    client = Client()
    choose(client, world)
    client.post(reverse("portal:signup_details"), details(email=email))
    application = Application.objects.get(subscriber__email=email)
    client.post(
        reverse("portal:signup_payment", args=[application.reference]), {"payment_method": "card", "accept_terms": "on"}
    )
    return client, application


def confirm_at_the_bank(client: Client, application: Application, *, name: str, born: str) -> str:
    """The applicant goes to the bank, confirms, and is sent back: the return URL with the trxid."""
    to_bank = client.post(reverse("portal:signup_identity", args=[application.reference]))
    back = client.post(
        to_bank["Location"],
        {"name": name, "date_of_birth": born, "postcode": "1016 BR", "house_number": 10, "decision": "confirm"},
    )
    return back["Location"]


def trxid_of(return_url: str) -> str:
    return parse_qs(urlsplit(return_url).query)["trxid"][0]


def test_reg_7_another_applicants_identity_transaction_is_refused(world):
    anna_client, anna_application = applicant_at_identity_step(world, "anna@example.nl")
    bram_client, bram_application = applicant_at_identity_step(world, "bram@example.nl")
    anna_back = confirm_at_the_bank(anna_client, anna_application, name="Anna de Vries", born="1985-02-03")

    # Bram comes back to his own application with Anna's transaction.
    stolen = reverse("portal:signup_identity_return", args=[bram_application.reference])
    page = bram_client.get(stolen, {"trxid": trxid_of(anna_back)}, follow=True)

    assert page.redirect_chain[-1][0] == reverse("portal:signup_identity", args=[bram_application.reference])
    assert "REG-7" in page.text and "art. 2.3" in page.text
    assert "not started for this application" in page.text or "niet voor deze aanvraag" in page.text
    bram = Subscriber.objects.get(email="bram@example.nl")
    assert (bram.verified_identity, bram.identity_verified_at) == ("", None)
    assert bram.date_of_birth == date(1990, 5, 17)  # not Anna's, from her bank
    assert Application.objects.get(pk=bram_application.pk).identity_transaction == ""

    # Anna's own return still works, and so does Bram's once he confirms himself.
    assert anna_client.get(anna_back)["Location"] == reverse(
        "portal:signup_prepayment", args=[anna_application.reference]
    )
    anna = Subscriber.objects.get(email="anna@example.nl")
    assert anna.verified_identity and anna.date_of_birth == date(1985, 2, 3)
    bram_back = confirm_at_the_bank(bram_client, bram_application, name="Bram Jansen", born="1990-05-17")
    assert bram_client.get(bram_back)["Location"] == reverse(
        "portal:signup_prepayment", args=[bram_application.reference]
    )
    assert Subscriber.objects.get(email="bram@example.nl").verified_identity not in ("", anna.verified_identity)
