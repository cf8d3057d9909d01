"""The Celery app. The beat schedule lives here, in code, so that it is reviewed like code."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from celery import Celery, Task
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")

_held: ContextVar[list | None] = ContextVar("held_tasks", default=None)


class FlexTask(Task):
    """Our tasks, which a block can hold back (see `held_tasks`)."""

    def apply_async(self, args=None, kwargs=None, **options):
        held = _held.get()
        if held is not None:
            held.append((self.name, args, kwargs))
            return None
        return super().apply_async(args, kwargs, **options)


@contextmanager
def held_tasks() -> Iterator[list]:
    """Tasks enqueued in the block are neither run nor sent to a broker, only listed: the demo data
    shows an application "as a queue would leave it" (submitted, checks running, just accepted)
    whether jobs run in-process or on a worker that would otherwise take them at once."""
    held: list = []
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


app = Celery("flex", task_cls=FlexTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # PAY-1: every day, the monthly fees of the periods starting within the lead time are invoiced (and
    # any a missed day left); a run for a day already run issues nothing twice.
    "run-monthly-billing": {
        "task": "billing.tasks.run_monthly_billing",
        "schedule": crontab(hour=2, minute=0),
    },
    # TERM-3: when a notice period has run out, the subscriber gets return instructions and labels.
    "request-due-returns": {
        "task": "billing.tasks.request_due_returns",
        "schedule": crontab(hour=6, minute=0),
    },
    # PLAN-2: applications waiting for stock are also retried on a clock, in case a stock signal was
    # missed (a worker lost between the commit and the job).
    # PAY-1: SEPA collections whose date has come go into their batch, whose file goes to the bank.
    "collect-direct-debits": {
        "task": "billing.tasks.collect_direct_debits",
        "schedule": crontab(hour=5, minute=30),
    },
    # PAY-1: the bank's report files (rejects, returns, refunds, the batch credits, transfers) are
    # fetched and booked, after the bank's overnight statements and before the day's collections.
    "import-bank-files": {
        "task": "billing.tasks.import_bank_files",
        "schedule": crontab(hour=4, minute=30),
    },
    # SEPA Core rulebook: a mandate with no collection for 36 months lapses.
    "lapse-unused-mandates": {
        "task": "billing.tasks.lapse_unused_mandates",
        "schedule": crontab(hour=5, minute=0),
    },
    # PAY-1: card payers' invoices are charged on their due date, failed charges on their retry day.
    "charge-cards": {
        "task": "billing.tasks.charge_cards",
        "schedule": crontab(hour=7, minute=0),
    },
    # PAY-1, WD-2, TERM-4: refunds by credit transfer go to the bank in the day's pain.001 file.
    "pay-out-refunds": {
        "task": "billing.tasks.pay_out_refunds",
        "schedule": crontab(hour=7, minute=30),
    },
    "resume-awaiting-stock": {
        "task": "billing.tasks.resume_awaiting_stock",
        "schedule": crontab(minute="*/15"),
    },
}
