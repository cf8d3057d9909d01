"""`make run`: the development server plus the scheduled jobs, in-process (flex.demo_scheduler)."""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve the demo and run the scheduled jobs in this process (the embedded default, sandbox mode)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        if not settings.FLEX_SANDBOX:
            raise CommandError("run_demo is the demo server: production runs a web server, `celery beat` and workers.")
        # The autoreloader serves from a child process (RUN_MAIN=true): the scheduler lives there, once.
        if os.environ.get("RUN_MAIN") == "true":
            from flex.celery import app
            from flex.demo_scheduler import DemoScheduler

            DemoScheduler(app.conf.beat_schedule).start()
            self.stdout.write("Scheduled jobs run in this process: " + ", ".join(app.conf.beat_schedule))
        call_command("runserver", options["addrport"])
