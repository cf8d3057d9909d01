"""Running Flex: the embedded default with nothing configured, production settings that pass
`check --deploy`, and demo data that can be loaded any number of times."""

import os
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts import roles
from accounts.models import User
from billing.models import Subscription
from devices.models import Plan, Product

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120
    )


def test_with_nothing_set_flex_runs_on_sqlite_eager_tasks_and_mail_files(tmp_path):
    probe = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.DEBUG)"
    )
    result = manage("shell", "-c", probe, FLEX_LOCAL_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    engine, eager, mail, debug = result.stdout.splitlines()[-1].split()
    assert engine == "django.db.backends.sqlite3"
    assert eager == "True"
    assert mail == "django.core.mail.backends.filebased.EmailBackend"
    assert debug == "True"


PARTNER_KINDS = ["identity", "credit_bureau", "payments", "warehouse", "carrier", "radio"]


def production(**extra) -> dict[str, str]:
    """Production's environment: DEBUG off, real services, and no FLEX_SANDBOX."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "flex.example",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flex"),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        **extra,
    }


def real_partners() -> dict[str, str]:
    # The creditor and the bank of the direct-debit files (billing.E001, billing.E002) are configured too.
    env = {
        "FLEX_CREDITOR_ID": "NL51ZZZ405365330000",
        "FLEX_CREDITOR_IBAN": "NL91ABNA0417164300",
        "FLEX_CREDITOR_BIC": "ABNANL2A",
        "FLEX_BANK": "directory",
        "FLEX_BANK_OUTBOX": "/srv/flex/bank-outbox",
    }
    for kind in PARTNER_KINDS:
        prefix = f"FLEX_PARTNER_{kind.upper()}"
        env |= {
            prefix: "http",
            f"{prefix}_URL": f"https://{kind}.partner.example/",
            f"{prefix}_KEY": secrets.token_urlsafe(20),
            f"{prefix}_SECRET": secrets.token_urlsafe(32),
        }
    return env


def test_production_settings_pass_check_deploy_without_a_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production(**real_partners()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_reports_every_partner_without_real_configuration_as_an_error():
    result = manage("check", "--deploy", **production())
    assert result.returncode != 0
    for kind in PARTNER_KINDS:
        assert f"(flex.E002) partner {kind!r} has no real configuration" in result.stderr, kind


def test_check_deploy_reports_a_fake_creditor_id_and_an_unconfigured_bank_as_errors():
    env = production(**(real_partners() | {"FLEX_CREDITOR_ID": "NL00ZZZ000000000000", "FLEX_BANK": ""}))
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "(billing.E001) FLEX_CREDITOR_ID is not usable in a SEPA direct-debit file" in result.stderr
    assert "(billing.E002) the bank for direct-debit files has no real configuration" in result.stderr


def test_check_deploy_reports_a_sandbox_partner_in_production_as_an_error():
    result = manage("check", "--deploy", **production(**(real_partners() | {"FLEX_PARTNER_PAYMENTS": "sandbox"})))
    assert result.returncode != 0
    assert "(flex.E001) FLEX_PARTNER_PAYMENTS=sandbox while sandbox mode is off" in result.stderr
    assert "identity" not in result.stderr  # the configured partners pass


def test_production_server_refuses_to_start_with_a_partner_unconfigured():
    code = "import flex.wsgi"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")} | production(**real_partners())
    env.pop("FLEX_PARTNER_CARRIER_SECRET")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: flex.E002: partner 'carrier'" in result.stderr
    env |= {"FLEX_PARTNER_CARRIER_SECRET": "s3cret"}
    started = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr


def test_production_has_no_sandbox_secret_sandbox_pages_or_demo_data():
    probe = (
        "from django.conf import settings as s; from django.urls import resolve, Resolver404\n"
        "p = s.FLEX_PARTNERS['payments']\n"
        "print(s.FLEX_SANDBOX, repr(p.implementation), repr(p.secret))\n"
        "try:\n    resolve('/sandbox/payments/tr_1/'); print('mounted')\n"
        "except Resolver404:\n    print('not mounted')\n"
    )
    # Even with the payment provider left on "sandbox" (which the system check refuses to start with).
    result = manage("shell", "-c", probe, **production(FLEX_PARTNER_PAYMENTS="sandbox"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-3:-1] == ["False 'sandbox' ''", "not mounted"]

    seeded = manage("seed_demo", **production(**real_partners()))
    assert seeded.returncode != 0
    assert "seed_demo runs only in sandbox mode" in seeded.stderr


def test_make_run_and_make_test_are_in_sandbox_mode(tmp_path):
    probe = "from django.conf import settings as s; print(s.FLEX_SANDBOX, s.FLEX_PARTNERS['payments'].implementation)"
    embedded = manage("shell", "-c", probe, FLEX_LOCAL_DIR=str(tmp_path))
    assert embedded.stdout.split()[-2:] == ["True", "sandbox"], embedded.stderr
    # The suite runs on PostgreSQL with sandbox mode switched on explicitly (tests/settings.py).
    from django.conf import settings

    assert settings.FLEX_SANDBOX and settings.IS_POSTGRES


def test_production_hashes_passwords_with_argon2():
    probe = "from django.contrib.auth.hashers import make_password; print(make_password('x').split('$')[0])"
    result = manage("shell", "-c", probe, **production(**real_partners()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "argon2"


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0", ALLOWED_HOSTS="flex.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_seed_demo_loads_every_group_and_several_states_and_is_idempotent(settings):
    call_command("seed_demo", stdout=StringIO())
    counted = [
        "accounts.User",
        "accounts.Subscriber",
        "accounts.Address",
        "devices.Product",
        "devices.Plan",
        "devices.DeviceUnit",
        "billing.Subscription",
        "billing.Invoice",
        "billing.Payment",
        "accounts.PartnerApiKey",
        "billing.Application",
        "accounts.Disclosure",
        "devices.Shipment",
        "billing.Mandate",
        "billing.DirectDebitBatch",
        "billing.DirectDebitCollection",
    ]
    first = {label: apps.get_model(label).objects.count() for label in counted}
    call_command("seed_demo", stdout=StringIO())
    assert {label: apps.get_model(label).objects.count() for label in counted} == first

    assert {"Roam 2", "One", "Sub Mini", "Era 100", "Era 300"} <= set(
        Product.objects.filter(is_addon_eligible=True).values_list("name", flat=True).distinct()
    )
    assert Plan.objects.count() >= 3
    assert set(Subscription.objects.values_list("status", flat=True)) >= {
        "pending_delivery",
        "active",
        "notice_given",
        "terminated",
        "withdrawn",
    }
    from billing.models import Application, ApplicationStatus

    assert set(Application.objects.values_list("status", flat=True)) == set(ApplicationStatus.values)
    assert_states_the_readme_lists()
    assert Application.objects.filter(shipment__status="delivered", subscription__status="active").exists()
    assert Application.objects.get(subscriber__last_name="Wanbetaler").refusal_rule == "REG-5"
    # PAY-1: a direct-debit batch with first and recurring collections, its file written and at the bank.
    from billing.models import DirectDebitBatch

    assert DirectDebitBatch.objects.filter(first_count__gt=0, recurring_count__gt=0, status="submitted").exists()
    for role in roles.ROLE_PERMISSIONS:
        assert User.objects.filter(groups__name=role, is_staff=True).exists(), role
    assert_a_seeded_applicant_can_withdraw_and_is_refunded()


def assert_a_seeded_applicant_can_withdraw_and_is_refunded():
    """The web process is not the seeding process: the sandbox provider that took Joke's prepayment
    during the seed still knows it, and "Withdraw my application" refunds it."""
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from billing.models import Application, Payment

    cache.clear()  # nothing of the seeding process's memory or cache reaches the web process
    joke = Application.objects.get(subscriber__email="joke@example.nl")
    client = Client()
    client.force_login(joke.subscriber.user)
    page = client.post(reverse("portal:signup_withdraw", args=[joke.reference]), follow=True)
    assert page.status_code == 200
    assert Application.objects.get(pk=joke.pk).status == "withdrawn"
    payment = Payment.objects.get(invoice__application=joke, invoice__kind="prepayment")
    assert payment.status == "refunded" and payment.refund_reference.startswith("re_")


# What the README's "Where to click" table promises, by log-in.
README_SUBSCRIPTIONS = {
    "anna@example.nl": "active",
    "bram@example.nl": "pending_delivery",
    "daan@example.nl": "notice_given",
    "eva@example.nl": "terminated",
    "femke@example.nl": "withdrawn",
    "info@cafedehoek.nl": "active",
}
README_APPLICATIONS = {
    "gijs@example.nl": "draft",
    "hanna@example.nl": "submitted",
    "ivo@example.nl": "checking",
    "joke@example.nl": "awaiting_review",
    "kees@example.nl": "refused",
    "lotte@example.nl": "withdrawn",
    "milan@example.nl": "accepted",
    "noor@example.nl": "awaiting_stock",
    "olaf@example.nl": "allocated",
    "puck@example.nl": "allocated",
}


def assert_states_the_readme_lists():
    from billing.models import Application

    subscriptions = dict(Subscription.objects.values_list("subscriber__email", "status"))
    assert {email: subscriptions.get(email) for email in README_SUBSCRIPTIONS} == README_SUBSCRIPTIONS
    applications = dict(Application.objects.values_list("subscriber__email", "status"))
    assert {email: applications.get(email) for email in README_APPLICATIONS} == README_APPLICATIONS
    puck = Application.objects.get(subscriber__email="puck@example.nl")
    assert puck.shipment.status == "delivered" and puck.subscription.status == "active"


def test_make_run_seeds_quietly_and_a_seeded_applicant_withdraws_from_another_process(tmp_path):
    """`make run` with nothing set: SQLite, jobs in-process, a per-process cache. The seed prints a
    short summary, not a line per job; the web process (another process) can then withdraw a seeded
    application, and the sandbox provider, which took the prepayment during the seed, refunds it."""
    local = {"FLEX_LOCAL_DIR": str(tmp_path)}
    assert manage("migrate", "--noinput", "-v0", **local).returncode == 0
    seeded = manage("seed_demo", **local)
    assert seeded.returncode == 0, seeded.stderr
    output = (seeded.stdout + seeded.stderr).strip().splitlines()
    assert len(output) <= 3, output
    assert "Demo data ready" in output[-1]

    withdraw = (
        "from billing import services; from billing.models import Application, Payment; "
        "from flex.audit.trail import Actor; "
        "joke = Application.objects.get(subscriber__email='joke@example.nl'); "
        "services.withdraw_application(joke.pk, actor=Actor.system('test'), reason='by the applicant'); "
        "print(Payment.objects.get(invoice__application=joke, invoice__kind='prepayment').status)"
    )
    web = manage("shell", "-c", withdraw, **local)
    assert web.returncode == 0, web.stderr
    assert web.stdout.strip().splitlines()[-1] == "refunded"

    # The privacy officer's search works on the embedded default too (PRIV-3): it finds the seeded
    # subscriber's e-mail in the live tables, and says how the register classifies each column.
    found = manage("find_personal_data", "--email", "joke@example.nl", **local)
    assert found.returncode == 0, found.stderr
    assert "accounts_subscriber.email" in found.stdout and "personal: contact" in found.stdout
