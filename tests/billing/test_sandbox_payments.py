"""The sandbox payment provider behaves like one provider for every process: a checkout opened by one
process (the seed, a web process) is known to another (a worker, the next web process), and it
refunds as a provider does."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from billing.adapters.payments import payment_provider
from flex.celery import held_tasks
from flex.partners import PartnerRejected

ROOT = Path(__file__).resolve().parents[2]


def in_another_process(code: str) -> str:
    """Run `code` in a fresh Django process on the test database: no memory shared with this one."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": url, "FLEX_SANDBOX_LATENCY_MS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def open_checkout(amount="57.00"):
    return payment_provider().create_checkout(
        reference="F2026-000001",
        amount=Decimal(amount),
        description="Flex F2026-000001",
        customer_email="sam@example.nl",
        return_url="/back",
    )


@pytest.mark.django_db(transaction=True)
def test_a_payment_made_in_one_process_is_known_and_refunded_in_another():
    checkout = open_checkout()
    with held_tasks():  # the webhook job is not the point here
        payment_provider().pay(checkout.payment_id, method="ideal")
    cache.clear()  # nothing this process keeps in memory or cache reaches the other one

    answer = in_another_process(
        "from decimal import Decimal; from billing.adapters.payments import payment_provider; "
        f"p = payment_provider(); s = p.status({checkout.payment_id!r}); "
        f"print(s.status, s.amount, p.refund({checkout.payment_id!r}, Decimal('57.00'))[:3])"
    )

    assert answer == "paid 57.00 re_"
    # The other process's refund is on the provider's books here too: nothing more can be refunded.
    with pytest.raises(PartnerRejected, match="exceed"):
        payment_provider().refund(checkout.payment_id, Decimal("0.01"))


@pytest.mark.django_db
def test_sandbox_refunds_only_a_paid_payment_and_never_more_than_was_paid():
    provider = payment_provider()
    checkout = open_checkout()
    with pytest.raises(PartnerRejected, match="not paid"):
        provider.refund(checkout.payment_id, Decimal("1.00"))
    with held_tasks():
        provider.pay(checkout.payment_id, method="card")
    assert provider.refund(checkout.payment_id, Decimal("50.00")).startswith("re_")
    with pytest.raises(PartnerRejected, match="exceed"):
        provider.refund(checkout.payment_id, Decimal("7.01"))
    assert provider.refund(checkout.payment_id, Decimal("7.00")).startswith("re_")
    with pytest.raises(PartnerRejected, match="unknown payment"):
        provider.refund("tr_doesnotexist", Decimal("1.00"))


@pytest.mark.django_db
def test_paying_twice_settles_once_and_sends_one_webhook():
    provider = payment_provider()
    checkout = open_checkout()
    with held_tasks() as sent:
        provider.pay(checkout.payment_id, method="ideal")
        provider.pay(checkout.payment_id, method=None)  # a second click, or a second process
    assert provider.status(checkout.payment_id).status == "paid"
    assert [name for name, *_ in sent] == ["billing.tasks.deliver_sandbox_payment_webhook"]


@pytest.mark.django_db
def test_an_open_checkout_expires_after_a_day_a_paid_payment_stays(monkeypatch):
    import time

    provider = payment_provider()
    stale, paid = open_checkout(), open_checkout()
    with held_tasks():
        provider.pay(paid.payment_id, method="ideal")
    later = time.time() + provider.TTL + 60  # noqa: TID251 - the provider's wall clock
    monkeypatch.setattr(time, "time", lambda: later)
    assert provider.checkout(stale.payment_id) is None
    with pytest.raises(PartnerRejected):
        provider.pay(stale.payment_id, method="ideal")
    assert provider.status(paid.payment_id).is_paid
