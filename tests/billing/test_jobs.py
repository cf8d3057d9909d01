import threading
from datetime import date

import pytest
from django.db import connection

from billing import services
from billing.models import SubscriptionStatus
from flex import clock
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from tests.factories import subscribe


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_move_each_subscription_once(travel):
    with travel("2026-01-10"):
        subscriptions = [subscribe(delivered_on=date(2026, 1, 10)) for _ in range(6)]
    with travel("2026-06-01"):
        for subscription in subscriptions:
            services.give_notice(subscription.pk, actor=Actor.system("test"))
    clock.set_frozen(date(2026, 7, 1))
    moved, errors = [], []

    def worker():
        try:
            moved.append(services.request_due_returns(actor=Actor.system("race")))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.set_frozen(None)
    assert errors == []
    assert sum(moved) == 6
    assert AuditEvent.objects.filter(action="request_return").count() == 6
    assert {s.status for s in type(subscriptions[0]).objects.all()} == {SubscriptionStatus.AWAITING_RETURN}


@pytest.mark.django_db
def test_invoice_email_goes_out_once_even_if_the_task_runs_twice():
    from django.core import mail

    from billing.tasks import send_invoice_email

    invoice = subscribe().invoices.get()  # its e-mail job ran after the commit
    send_invoice_email.apply(args=[invoice.pk])
    assert [m.to for m in mail.outbox if invoice.number in m.subject] == [[invoice.subscription.subscriber.email]]
