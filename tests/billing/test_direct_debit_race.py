"""PAY-1: two workers gathering at once (real transactions, two connections) collect each invoice
once and make one batch: the first holds its inserted collections uncommitted while the second runs."""

import threading
from datetime import date

import pytest
from django.db import connection

from billing.models import DirectDebitBatch, DirectDebitCollection
from billing.services import direct_debit
from flex.audit.trail import Actor
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe


@pytest.mark.django_db(transaction=True)
def test_two_workers_gathering_at_once_collect_each_invoice_once(travel, monkeypatch):
    invoices = [monthly_invoice(subscribe(delivered_on=date(2026, 1, 5)), date(2026, 3, 5)) for _ in range(3)]
    travel("2026-03-03")
    inserted, may_commit = threading.Event(), threading.Event()
    manager = type(DirectDebitCollection.objects)
    real_bulk_create = manager.bulk_create

    def bulk_create_then_wait(self, objs, *args, **kwargs):
        created = real_bulk_create(self, objs, *args, **kwargs)
        if threading.current_thread().name == "worker-1" and objs:
            inserted.set()  # worker 1's collections exist, uncommitted
            assert may_commit.wait(10)
        return created

    monkeypatch.setattr(manager, "bulk_create", bulk_create_then_wait)
    errors = []

    def worker_1():
        try:
            direct_debit.gather_due_collections(actor=Actor.system("worker-1"))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=worker_1, name="worker-1")
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(
        target=lambda: (direct_debit.gather_due_collections(actor=Actor.system("worker-2")), connection.close())
    )
    second.start()
    second.join(1)  # worker 2 is now waiting on worker 1 (the batch's lock or the unique index)
    may_commit.set()
    first.join(10)
    second.join(10)

    assert errors == []
    assert DirectDebitBatch.objects.count() == 1
    for invoice in invoices:
        assert DirectDebitCollection.objects.filter(invoice=invoice).count() == 1
