"""The whole sign-up wizard from plan choice to the status page, and the staff review, in a real browser."""

import pytest
from playwright.sync_api import expect

from accounts import roles
from billing.models import Application, ApplicationStatus
from tests.factories import UserFactory
from tests.signup import signup_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def test_applicant_signs_up_pays_and_follows_the_review(live_server, page, settings, chromium):
    world = signup_world(settings)
    base = live_server.url

    page.goto(f"{base}/portal/sign-up/")
    expect(page.get_by_role("heading", name="Kies je abonnement")).to_be_visible()
    page.get_by_label("Stereo").check()
    page.get_by_label("Roam 2").fill("1")
    expect(page.locator("#total")).to_have_text("€ 28,00")  # live total: 19 + 9, incl. VAT
    page.get_by_label("Roam 2").fill("5")
    expect(page.locator("#addon-warning")).to_be_visible()  # PLAN-4
    page.get_by_label("Roam 2").fill("1")
    page.get_by_role("button", name="Volgende: je gegevens").click()

    expect(page.get_by_role("heading", name="Je gegevens")).to_be_visible()
    page.get_by_label("Voornaam").fill("Sam")
    page.get_by_label("Achternaam").fill("Jansen")
    page.get_by_label("Geboortedatum").fill("1990-05-17")
    page.get_by_label("E-mail").fill("sam@example.nl")
    page.get_by_label("Postcode").fill("1016 BR")
    page.get_by_label("Huisnummer").fill("10")
    page.get_by_label("Straat").fill("Herengracht")
    page.get_by_label("Plaats").fill("Amsterdam")
    page.get_by_label("Kies een wachtwoord").fill("Een-goed-wachtwoord-1")
    page.get_by_role("button", name="Volgende: voorwaarden en betaling").click()

    expect(page.get_by_role("heading", name="Voorwaarden en betaling")).to_be_visible()
    page.get_by_label("IBAN").fill("NL91 ABNA 0417 1643 01")  # one digit off
    page.get_by_label("Rekeninghouder").fill("S. Jansen")
    page.get_by_label("Ik accepteer de Algemene voorwaarden Flex 2.0").check()
    page.get_by_role("button", name="Volgende: bevestig je identiteit").click()
    expect(page.get_by_text("REG-7")).to_be_visible()  # the invalid IBAN, with its rule
    page.get_by_label("IBAN").fill("NL91 ABNA 0417 1643 00")
    page.get_by_label("Ik accepteer de Algemene voorwaarden Flex 2.0").check()
    page.get_by_role("button", name="Volgende: bevestig je identiteit").click()

    page.get_by_role("button", name="Bevestigen via mijn bank").click()
    expect(page.get_by_role("heading", name="Inloggen bij je bank (iDIN)")).to_be_visible()
    page.get_by_role("button", name="Bevestigen").click()

    expect(page.get_by_role("heading", name="Betaal de eerste 3 maanden")).to_be_visible()
    page.get_by_role("button", name="Nu betalen").click()
    expect(page.get_by_role("heading", name="Betalen: € 84,00")).to_be_visible()  # 3 × € 28,00
    page.get_by_role("button", name="Betalen met iDEAL").click()
    expect(page.locator("#invoice-status")).to_have_text("betaald")
    page.get_by_role("button", name="Mijn aanvraag indienen").click()

    expect(page.locator("#stage")).to_contain_text("Ons team beoordeelt je aanvraag")
    application = Application.objects.get()
    assert application.status == ApplicationStatus.AWAITING_REVIEW

    # Staff review in the admin, in a second browser window.
    UserFactory(email="sanne@flex.example", role=roles.CUSTOMER_SERVICE)
    staff = chromium.new_context(locale="nl-NL").new_page()
    staff.goto(f"{base}/admin/")
    staff.get_by_label("E-mail").fill("sanne@flex.example")
    staff.get_by_label("Wachtwoord").fill(PASSWORD)
    staff.get_by_role("button", name="Inloggen").click()
    staff.goto(f"{base}/admin/billing/application/?queue=review")
    staff.get_by_role("link", name=application.reference).click()
    expect(staff.get_by_text("kredietcheck (REG-5)", exact=True)).to_be_visible()
    staff.get_by_role("button", name="Accepteren").click()
    expect(
        staff.get_by_text(f"{application.reference}: accepteren uitgevoerd (REG-3, voorwaarden art. 2.1).")
    ).to_be_visible()
    staff.context.close()

    page.reload()
    expect(page.locator("#stage")).to_contain_text("Geaccepteerd: je apparaten worden in het magazijn ingepakt.")
    assert world.plan.applications.get().subscription.status == "pending_delivery"
