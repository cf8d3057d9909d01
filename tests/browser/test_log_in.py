"""A subscriber logs in to the portal and a staff member to the admin, in a real browser."""

from base64 import b32decode
from datetime import date

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts import roles
from tests.factories import AddressFactory, DeviceUnitFactory, PlanFactory, ProductFactory, UserFactory, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def test_subscriber_logs_in_sees_their_devices_switches_to_english_and_logs_out(live_server, page):
    soundbar = ProductFactory(name="Beam Gen 2")
    plan = PlanFactory(name="Cinema", items=[(soundbar, 1)])
    unit = DeviceUnitFactory(product=soundbar, serial_number="SN-BEAM-0042")
    subscription = subscribe(AddressFactory().subscriber, plan, delivered_on=date(2026, 1, 10), units=[unit])

    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", name="Inloggen bij Flex")).to_be_visible()
    page.get_by_label("E-mail").fill(subscription.subscriber.user.email)
    page.get_by_label("Wachtwoord").fill("wrong")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Je abonnement")).to_be_visible()
    expect(page.get_by_role("cell", name="SN-BEAM-0042")).to_be_visible()
    expect(page.get_by_role("cell", name=subscription.invoices.get().number, exact=True)).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Your subscription")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Flex")).to_be_visible()


def test_staff_member_logs_in_to_the_admin_and_gives_notice_with_a_button(live_server, page):
    subscription = subscribe(AddressFactory().subscriber, delivered_on=date(2026, 1, 10))
    agent = UserFactory(role=roles.CUSTOMER_SERVICE)
    authenticator = TOTPDevice.objects.create(user=agent, name="phone")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("E-mail").fill(agent.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_text("Vul de code uit je authenticator-app in.")).to_be_visible()
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_label("Code uit je authenticator-app").fill(f"{TOTP(authenticator.bin_key).token():06d}")
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("link", name="Abonnementen").first.click()
    page.get_by_role("link", name=str(subscription.pk), exact=True).click()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Opzeggen", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("opzeggen uitgevoerd")
    subscription.refresh_from_db()
    assert subscription.status == "notice_given"


def test_the_admin_enrols_an_authenticator_by_qr_code_and_logs_in_with_it(live_server, page):
    admin = UserFactory(role=roles.ADMIN)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Stel je tweede factor in")).to_be_visible()
    expect(page.get_by_role("img", name="QR-code voor je authenticator-app")).to_be_visible()
    key = page.locator(".second-factor code").inner_text()
    page.get_by_label("Code uit je authenticator-app").fill(f"{TOTP(b32decode(key)).token():06d}")
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("link", name="Abonnementen").first).to_be_visible()


def test_the_warehouse_records_an_inspection_on_the_unit_page_under_the_content_security_policy(live_server, page):
    """The unit page with its inspection panel: nothing on it is blocked by the CSP (no inline styles)."""
    from devices.models import UnitStatus

    unit = DeviceUnitFactory(serial_number="SN-ERA-0007")
    for step in ("reserve", "ship", "deliver", "start_return", "receive", "start_inspection"):
        getattr(unit, step)()
    unit.save()
    assert unit.status == UnitStatus.INSPECTING
    clerk = UserFactory(role=roles.WAREHOUSE)
    authenticator = TOTPDevice.objects.create(user=clerk, name="phone")

    page.goto(f"{live_server.url}/admin/devices/deviceunit/{unit.pk}/change/")
    page.get_by_label("E-mail").fill(clerk.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_label("Code uit je authenticator-app").fill(f"{TOTP(authenticator.bin_key).token():06d}")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Inspectie: leg het oordeel vast (TERM-9)")).to_be_visible()
    assert page.locator(".inspection").evaluate("e => getComputedStyle(e).paddingTop") == "12px"
    page.get_by_label("getest, gereinigd en compleet").check()
    page.get_by_role("button", name="Inspectie vastleggen").click()
    expect(page.locator(".messagelist")).to_be_visible()
    unit.refresh_from_db()
    assert unit.inspection_passed is True
