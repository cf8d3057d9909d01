"""The Celery app. The beat schedule lives here, in code, so that it is reviewed like code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")

app = Celery("flex")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # TERM-3: when a notice period has run out, the subscriber gets return instructions and labels.
    "request-due-returns": {
        "task": "billing.tasks.request_due_returns",
        "schedule": crontab(hour=6, minute=0),
    },
    # PLAN-2: applications waiting for stock are also retried on a clock, in case a stock signal was
    # missed (a worker lost between the commit and the job).
    "resume-awaiting-stock": {
        "task": "billing.tasks.resume_awaiting_stock",
        "schedule": crontab(minute="*/15"),
    },
}
