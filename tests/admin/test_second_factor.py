"""The back office's second factor (TOTP): required for staff in production, for the admin role always;
enrolment with a QR code; a password alone never opens the admin where a factor is required."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from flex.audit.models import AuditEvent
from tests.factories import UserFactory, log_in_staff

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
ENROL = reverse("admin:second_factor")


def sent_to_log_in(response, page: str = INDEX) -> bool:
    """The admin refused the page and sent the browser to its own log-in, to come back afterwards."""
    return response.status_code == 302 and response.url == f"{LOGIN}?next={page}"


def code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def admin_log_in(client, user, otp_token=""):
    return client.post(f"{LOGIN}?next={INDEX}", {"username": user.email, "password": PASSWORD, "otp_token": otp_token})


def with_authenticator(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone")


def test_the_admin_role_without_an_authenticator_must_enrol_before_any_admin_page(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code makes the next try wait a second otherwise
    admin_user = UserFactory(role=roles.ADMIN)
    client = Client()
    page = admin_log_in(client, admin_user)
    page = client.get(page.url, follow=True)
    assert page.redirect_chain[-1][0] == ENROL
    assert "<svg" in page.text and "Stel je tweede factor in" in page.text
    users = reverse("admin:accounts_user_changelist")
    assert sent_to_log_in(client.get(users), users)
    assert client.get(LOGIN).url == ENROL  # and the log-in page sends on to enrolment

    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    wrong = client.post(ENROL, {"otp_token": "000000" if code(device) != "000000" else "111111"})
    assert "onjuist of verlopen" in wrong.text
    assert sent_to_log_in(client.get(INDEX))

    done = client.post(ENROL, {"otp_token": code(device)})
    assert done.url == INDEX
    assert client.get(INDEX).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="enrol_second_factor", actor_user=admin_user).exists()


def test_staff_with_an_authenticator_need_its_code_with_the_password():
    agent = UserFactory(role=roles.CUSTOMER_SERVICE)
    device = with_authenticator(agent)
    client = Client()

    without = admin_log_in(client, agent)
    assert without.status_code == 200 and "Vul de code uit je authenticator-app in." in without.text
    assert "_auth_user_id" not in client.session

    assert admin_log_in(client, agent, code(device)).url == INDEX
    assert client.get(INDEX).status_code == 200


def test_a_wrong_code_does_not_log_in():
    agent = UserFactory(role=roles.ADMIN)
    device = with_authenticator(agent)
    client = Client()
    wrong = admin_log_in(client, agent, "999999" if code(device) != "999999" else "888888")
    assert "onjuist of verlopen" in wrong.text
    assert "_auth_user_id" not in client.session
    assert sent_to_log_in(client.get(INDEX))


def test_a_password_only_session_from_the_portal_does_not_open_the_admin():
    admin_user = UserFactory(role=roles.ADMIN)
    with_authenticator(admin_user)
    client = Client()
    assert client.post(reverse("portal:login"), {"username": admin_user.email, "password": PASSWORD}).status_code == 302
    assert sent_to_log_in(client.get(INDEX))
    users = reverse("admin:accounts_user_changelist")
    assert sent_to_log_in(client.get(users), users)
    # the log-in page asks for the password and the code again (it has an authenticator: no enrolment)
    log_in = client.get(f"{LOGIN}?next={INDEX}")
    assert log_in.status_code == 200 and 'name="otp_token"' in log_in.text


def test_in_production_every_staff_member_needs_the_second_factor(settings):
    settings.FLEX_SANDBOX = False
    agent = UserFactory(role=roles.CUSTOMER_SERVICE)
    client = Client()
    admin_log_in(client, agent)
    assert sent_to_log_in(client.get(INDEX))
    assert client.get(LOGIN).url == ENROL


def test_in_sandbox_mode_other_roles_may_log_in_with_the_password_alone():
    agent = UserFactory(role=roles.CUSTOMER_SERVICE)
    client = Client()
    assert admin_log_in(client, agent).url == INDEX
    assert client.get(INDEX).status_code == 200


def test_the_demo_admin_logs_in_with_the_documented_demo_key():
    from io import StringIO

    from django.core.management import call_command

    from accounts.roles import ensure_staff_groups
    from billing.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_KEY, Command

    assert f"`{DEMO_TOTP_KEY}`" in (settings.BASE_DIR / "README.md").read_text()
    ensure_staff_groups()
    Command().staff()
    out = StringIO()
    call_command("demo_code", stdout=out, stderr=StringIO())
    client = Client()
    demo_admin = {"username": "admin@flex.example", "password": DEMO_PASSWORD, "otp_token": out.getvalue().strip()}
    assert client.post(f"{LOGIN}?next={INDEX}", demo_admin).url == INDEX
    assert client.get(INDEX).status_code == 200


@pytest.mark.parametrize("url", [reverse("portal:login"), LOGIN, reverse("portal:signup")])
def test_pages_carry_a_content_security_policy_without_inline_scripts(url):
    policy = Client().get(url)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_admin_never_shows_another_staff_members_authenticator_key():
    device = with_authenticator(UserFactory(role=roles.CUSTOMER_SERVICE))
    admin_client = log_in_staff(Client(), UserFactory(role=roles.ADMIN))
    page = admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.text
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk])).status_code in (403, 404)


def test_in_production_enrolment_needs_a_one_time_code_an_admin_issued(settings):
    """M2: whoever holds a password alone cannot claim the second factor; the key is shown only after
    the code an admin issued (audited), and the code works once, for that person only."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.messages import get_messages

    settings.FLEX_SANDBOX = False
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    clerk = UserFactory(role=roles.WAREHOUSE)
    other = UserFactory(role=roles.FINANCE)
    client = Client()
    admin_log_in(client, clerk)
    page = client.get(ENROL)
    assert "second-factor-qr" not in page.text and 'name="enrolment_code"' in page.text
    assert not TOTPDevice.objects.filter(user=clerk).exists()  # no key exists to copy yet
    assert 'class="errorlist' in client.post(ENROL, {"enrolment_code": "guess"}).text

    admin_user = UserFactory(role=roles.ADMIN)
    admin_client = log_in_staff(Client(), admin_user)
    users = reverse("admin:accounts_user_changelist")
    codes = {}
    for person in (clerk, other):
        response = admin_client.post(users, {"action": "issue_enrolment_code", ACTION_CHECKBOX_NAME: [person.pk]})
        shown = [str(m) for m in get_messages(response.wsgi_request) if person.email in str(m)]
        codes[person] = shown[-1].split(": ", 1)[1].split(". ")[0]
    issued = AuditEvent.objects.filter(action="issue_enrolment_code", actor_user=admin_user)
    assert sorted(issued.values_list("target_id", flat=True)) == sorted([str(clerk.pk), str(other.pk)])
    assert codes[clerk] not in str(list(issued.values_list("reason", "data")))

    assert 'name="enrolment_code"' in client.post(ENROL, {"enrolment_code": codes[other]}).text  # someone else's
    assert client.post(ENROL, {"enrolment_code": codes[clerk]}).url == ENROL
    page = client.get(ENROL)
    assert "second-factor-qr" in page.text
    device = TOTPDevice.objects.get(user=clerk, confirmed=False)
    assert client.post(ENROL, {"otp_token": code(device)}).url == INDEX
    assert client.get(INDEX).status_code == 200

    TOTPDevice.objects.filter(user=clerk).delete()  # later an admin removes the lost authenticator
    again = Client()  # and the old code is tried a second time (say, by whoever saw it)
    admin_log_in(again, clerk)
    assert 'name="enrolment_code"' in again.post(ENROL, {"enrolment_code": codes[clerk]}).text
    assert not TOTPDevice.objects.filter(user=clerk).exists()


def test_the_first_admin_gets_an_enrolment_code_from_the_command_and_others_are_refused():
    from io import StringIO

    from django.core.management import CommandError, call_command

    from accounts.services import redeem_enrolment_code

    first = UserFactory(role=roles.ADMIN)
    out = StringIO()
    call_command("issue_enrolment_code", first.email.upper(), stdout=out)
    assert redeem_enrolment_code(first.pk, out.getvalue()) is not None
    assert redeem_enrolment_code(first.pk, out.getvalue()) is None  # once
    with pytest.raises(CommandError):
        call_command("issue_enrolment_code", UserFactory().email, stdout=StringIO())  # not staff
