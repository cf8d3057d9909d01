"""Celery against a real Redis broker: tasks are enqueued after the commit and run on a worker; the
beat schedule only names tasks that exist."""

import os
import time
from io import StringIO

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

from billing import services
from billing.management.demo_applications import verify_identity
from billing.models import Invoice
from flex.celery import app
from tests.signup import APPLICANT, draft, signup_world


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


@pytest.fixture
def publications():
    """Every task published to the broker, with whether a database transaction was still open then."""
    published = []

    def remember(sender=None, **kwargs):
        published.append((sender, connection.in_atomic_block))

    before_task_publish.connect(remember, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(remember)


def prepayment_started(settings):
    """An applicant with a verified identity opens the checkout: the prepayment invoice is issued and its
    e-mail is a job for the worker."""
    world = signup_world(settings)
    application = draft(world)
    services.choose_payment(application.pk, method="card", accepts_terms=True, ip_address=None, actor=APPLICANT)
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    services.start_prepayment(application.pk, return_url="/return", actor=APPLICANT)
    return application


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_invoice_mail_is_queued_after_commit_and_sent_by_a_worker(redis_worker, publications, settings):
    application = prepayment_started(settings)
    invoice = application.invoices.get()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Invoice.objects.get(pk=invoice.pk).emailed_at:
        time.sleep(0.1)
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is not None
    assert [message.to for message in mail.outbox] == [[application.subscriber.email]]
    assert ("billing.tasks.send_invoice_email", False) in publications
    assert all(not in_transaction for _, in_transaction in publications), publications


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing(redis_worker, publications, settings):
    with pytest.raises(RuntimeError), transaction.atomic():
        prepayment_started(settings)
        raise RuntimeError("crash before commit")
    time.sleep(1)
    assert Invoice.objects.count() == 0
    assert publications == []
    assert mail.outbox == []


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_seed_demo_gives_the_documented_states_with_a_worker_running(redis_worker, publications):
    from tests.test_settings_and_seed import assert_states_the_readme_lists

    call_command("seed_demo", stdout=StringIO())
    time.sleep(1)  # anything sent to the worker would have moved an application on by now
    assert_states_the_readme_lists()
    assert app.conf.task_always_eager is False  # the seed gave the worker back its queue

    # Joke withdraws in the portal; the refund is a job the worker runs against the sandbox provider
    # that took her prepayment during the seed.
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from billing.models import Application, Payment

    cache.clear()
    joke = Application.objects.get(subscriber__email="joke@example.nl")
    client = Client()
    client.force_login(joke.subscriber.user)
    assert client.post(reverse("portal:signup_withdraw", args=[joke.reference])).status_code == 302
    payment = Payment.objects.get(invoice__application=joke, invoice__kind="prepayment")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Payment.objects.get(pk=payment.pk).status != "refunded":
        time.sleep(0.2)
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    assert ("billing.tasks.refund_prepayment", False) in publications


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
