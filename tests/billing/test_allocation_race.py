"""PLAN-2: two acceptances racing for the last units; one wins, the other waits for stock."""

import threading

import pytest
from django.db import connection

from billing import services
from billing.models import ApplicationStatus
from devices import services as device_services
from devices.models import DeviceUnit
from flex.audit.trail import Actor
from flex.celery import held_tasks
from tests.signup import signup_world, submitted


@pytest.fixture
def two_accepted(transactional_db, settings):
    world = signup_world(settings)
    DeviceUnit.objects.filter(product=world.speaker).order_by("-id")[:1].get().delete()  # stock for one plan only
    applications = [submitted(world, n) for n in (1, 2)]
    with held_tasks():  # allocation is raced below, not run on commit
        for application in applications:
            services.accept_application(application.pk, actor=world.reviewer)
    return applications


def test_two_allocations_for_the_last_units_one_wins_one_waits(two_accepted, monkeypatch):
    first, second = two_accepted
    units_locked, may_commit = threading.Event(), threading.Event()
    real_create_shipment = device_services.create_shipment

    def create_shipment_after_the_race(*args, **kwargs):
        units_locked.set()  # the first allocation holds its units, uncommitted
        assert may_commit.wait(10)
        return real_create_shipment(*args, **kwargs)

    monkeypatch.setattr(device_services, "create_shipment", create_shipment_after_the_race)
    errors = []

    def allocate_first():
        try:
            services.allocate_application(first.pk, actor=Actor.system("worker-1"))
        except Exception as error:  # surfaced in the assertion below
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=allocate_first)
    worker.start()
    assert units_locked.wait(10)
    monkeypatch.setattr(device_services, "create_shipment", real_create_shipment)
    services.allocate_application(second.pk, actor=Actor.system("worker-2"))  # races while the units are locked
    may_commit.set()
    worker.join(10)

    assert errors == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ApplicationStatus.ALLOCATED
    assert second.status == ApplicationStatus.AWAITING_STOCK
    assert DeviceUnit.objects.filter(status="reserved").count() == 2
    assert DeviceUnit.objects.filter(allocations__isnull=False).distinct().count() == 2
    assert not second.subscription.units.exists()  # nothing half-allocated
