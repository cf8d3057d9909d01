"""`make run` runs the scheduled jobs in-process: a demo left running bills (PAY-1) on beat's timetable."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from billing.models import BillingRun, Invoice
from flex import clock
from flex.celery import app
from flex.demo_scheduler import DemoScheduler
from tests.factories import subscribe

pytestmark = pytest.mark.django_db
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_a_demo_left_running_bills_when_the_nightly_job_comes_round_pay_1(settings):
    settings.CELERY_RESULT_BACKEND = None  # the embedded default: no broker, no result store
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    scheduler = DemoScheduler(app.conf.beat_schedule)
    with clock.travel_to(datetime(2026, 4, 16, 1, 0, tzinfo=AMSTERDAM)):
        assert scheduler.run_due() == []  # started at 01:00: nothing has come round yet
    with clock.travel_to(datetime(2026, 4, 16, 1, 59, tzinfo=AMSTERDAM)):
        assert "run-monthly-billing" not in scheduler.run_due()
    with clock.travel_to(datetime(2026, 4, 16, 2, 0, 30, tzinfo=AMSTERDAM)):
        assert "run-monthly-billing" in scheduler.run_due()
        assert "run-monthly-billing" not in scheduler.run_due()  # once per night
    assert BillingRun.objects.get().status == "finished"
    assert Invoice.objects.filter(subscription=subscription, kind="monthly").count() == 1
