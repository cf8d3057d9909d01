"""Celery against a real Redis broker: tasks are enqueued after the commit and run on a worker; the
beat schedule only names tasks that exist."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from billing.models import Invoice
from flex.celery import app
from tests.factories import subscribe


@pytest.fixture
def redis_worker():
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("broker tests need REDIS_URL; `make test` provides a Redis server")
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(task_always_eager=False, broker_url=redis_url, result_backend=redis_url)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
            yield
    finally:
        app.conf.update(saved)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_invoice_mail_is_queued_after_commit_and_sent_by_a_worker(redis_worker):
    invoice = subscribe().invoices.get()  # committed: the on_commit hook put the mail task on Redis
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Invoice.objects.get(pk=invoice.pk).emailed_at:
        time.sleep(0.1)
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is not None
    assert [message.to for message in mail.outbox] == [[invoice.subscription.subscriber.email]]


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing(redis_worker):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        subscribe()
        raise RuntimeError("crash before commit")
    time.sleep(1)
    assert Invoice.objects.count() == 0
    assert mail.outbox == []


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
