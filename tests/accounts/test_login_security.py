"""Log-in security on the portal and the admin: lockout after repeated failures, the staff unlock,
Argon2 hashes (PRIV-9) and the staff session's working day."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts import roles
from flex.audit.models import AuditEvent
from tests.factories import UserFactory, log_in_staff
from tests.settings import PRODUCTION_AUTHENTICATION_BACKENDS, PRODUCTION_PASSWORD_HASHERS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN_PAGES = [reverse("portal:login"), reverse("admin:login")]
CHANGELIST = reverse("admin:axes_accessattempt_changelist")


def log_in(client, url, email, password, address="203.0.113.7"):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=address)


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_after_repeated_wrong_passwords_even_the_right_one_is_refused(url, settings):
    user = UserFactory(role=roles.CUSTOMER_SERVICE)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, url, user.email, "wrong").status_code == 200  # the form, with its error
    for _ in range(30 - settings.AXES_FAILURE_LIMIT + 1):  # the 30 wrong passwords
        assert log_in(client, url, user.email, "wrong").status_code == 429
    locked = log_in(client, url, user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Inloggen geblokkeerd" in locked.text
    assert logged_in_user_id(client) is None


def test_fewer_failures_than_the_limit_do_not_lock(settings):
    user = UserFactory()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, LOGIN_PAGES[0], user.email, "wrong")
    assert log_in(client, LOGIN_PAGES[0], user.email, PASSWORD).status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def test_changing_the_case_of_the_e_mail_does_not_reset_the_count(settings):
    UserFactory(email="anna@example.nl")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, LOGIN_PAGES[0], "Anna@Example.nl" if n % 2 else " anna@example.nl", "wrong")
    assert log_in(client, LOGIN_PAGES[0], "ANNA@example.nl", PASSWORD).status_code == 429
    assert logged_in_user_id(client) is None


def test_the_lock_is_per_address_so_others_cannot_lock_a_person_out(settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), LOGIN_PAGES[0], user.email, "wrong", address="6.6.6.6")
    client = Client()
    assert log_in(client, LOGIN_PAGES[0], user.email, PASSWORD, address="203.0.113.7").status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def lock_out(user, settings, address="203.0.113.7"):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), LOGIN_PAGES[0], user.email, "wrong", address=address)
    assert log_in(Client(), LOGIN_PAGES[0], user.email, PASSWORD, address=address).status_code == 429


def test_customer_service_unlocks_a_locked_log_in_and_the_unlock_is_audited(settings):
    subscriber_user = UserFactory()
    lock_out(subscriber_user, settings)
    agent = UserFactory(role=roles.CUSTOMER_SERVICE)
    staff = log_in_staff(Client(), agent)
    page = staff.get(CHANGELIST)
    assert page.status_code == 200 and subscriber_user.email in page.text
    attempt = AccessAttempt.objects.get(username=subscriber_user.email)

    done = staff.post(CHANGELIST, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True)
    assert "1 log-in lock(s) lifted." in done.text
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action="unlock_login")
    assert event.actor_user == agent and event.data["username"] == subscriber_user.email

    client = Client()
    assert log_in(client, LOGIN_PAGES[0], subscriber_user.email, PASSWORD).status_code == 302
    assert logged_in_user_id(client) == str(subscriber_user.pk)


def test_staff_who_may_only_see_the_attempts_cannot_unlock(settings):
    lock_out(UserFactory(), settings)
    assert log_in_staff(Client(), UserFactory(role=roles.WAREHOUSE)).get(CHANGELIST).status_code == 403
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_accessattempt"))
    staff = log_in_staff(Client(), viewer)
    page = staff.get(CHANGELIST)
    assert page.status_code == 200 and 'value="unlock"' not in page.text
    staff.post(
        CHANGELIST, {"action": "unlock", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True))}
    )
    assert AccessAttempt.objects.count() == 1


def test_production_authentication_checks_the_lockout_first(settings):
    settings.AUTHENTICATION_BACKENDS = PRODUCTION_AUTHENTICATION_BACKENDS
    lock_out(UserFactory(), settings)


def test_an_existing_pbkdf2_hash_becomes_argon2_at_the_next_log_in(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS  # PRIV-9, as production hashes
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    assert log_in(Client(), LOGIN_PAGES[0], user.email, PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_a_staff_session_lasts_a_working_day_a_subscribers_the_default(settings):
    staff = Client()
    log_in(staff, LOGIN_PAGES[1], UserFactory(role=roles.CUSTOMER_SERVICE).email, PASSWORD)
    assert staff.session.get_expiry_age() == settings.FLEX_STAFF_SESSION_SECONDS == 9 * 3600

    subscriber = Client()
    log_in(subscriber, LOGIN_PAGES[0], UserFactory().email, PASSWORD)
    assert logged_in_user_id(subscriber) is not None
    assert subscriber.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
