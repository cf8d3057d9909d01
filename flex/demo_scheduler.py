"""The scheduled jobs of `make run`, without a broker: Celery beat's own schedule
(`flex.celery.app.conf.beat_schedule`), read by a thread in the demo server's process that runs each job
in-process when its crontab comes round, as a worker would. So a demo left running bills (PAY-1), sends
returns (TERM-3) and retries stock, on the same timetable as production.

Only for the embedded default: in production beat and the workers run (`make beat`, `make worker`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from flex import clock

logger = logging.getLogger(__name__)


class DemoScheduler:
    def __init__(self, schedule: dict, *, tick_seconds: float = 30.0) -> None:
        self.schedule = schedule
        self.tick_seconds = tick_seconds
        self.last_run: dict[str, datetime] = {}
        self._stop = threading.Event()

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Run every job whose crontab has come round since it last ran (or since the start); their names."""
        from flex.celery import app

        now = now or clock.now()
        ran = []
        for name, entry in self.schedule.items():
            last = self.last_run.setdefault(name, now)
            # The next time after the last run, by the crontab alone (not Celery's wall clock: the project
            # clock decides, so a travelling demo or test sees the job come round).
            start, delta, _ = entry["schedule"].remaining_delta(last)
            if start + delta <= now:
                self.last_run[name] = now
                try:
                    app.tasks[entry["task"]].apply(args=entry.get("args", ()), throw=True)
                    ran.append(name)
                except Exception:
                    # A failing job is logged and tried again at its next time; the demo keeps serving.
                    logger.exception("scheduled job %s failed", name)
        return ran

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="demo-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        from django.db import close_old_connections

        while not self._stop.wait(self.tick_seconds):
            close_old_connections()
            self.run_due()
