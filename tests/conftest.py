import os

import pytest
from django.conf import settings

from flex import clock

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


def pytest_configure(config):
    if not settings.IS_POSTGRES and not os.environ.get("FLEX_ALLOW_SQLITE_TESTS"):
        raise pytest.UsageError(
            "The test suite runs on PostgreSQL: set DATABASE_URL or use `make test`, which provides one."
        )


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    """Files Flex writes (direct-debit files) go to the test's own folder, not the developer's .local."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _language_of_its_own():
    """Each test starts in the project's default language, whatever a request in an earlier test left
    active in this thread (the locale middleware activates the visitor's language and keeps it)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _invoice_issuer(request):
    """The invoice issuer (and the reason-code policies) the migrations make: a transactional test's
    flush empties every table, so tests that reach the database get them back (as a migrated database
    has them)."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from datetime import date

    from billing.models import InvoiceIssuer

    if not InvoiceIssuer.objects.exists():
        InvoiceIssuer.objects.create(valid_from=date(2000, 1, 1), source="tests", **settings.FLEX_ISSUER)
    # Likewise the reason-code policies migration billing/0018 seeds (PAY-1).
    from billing.models import ReturnReasonPolicy

    if not ReturnReasonPolicy.objects.exists():
        import importlib

        from django.apps import apps

        importlib.import_module("billing.migrations.0020_reason_code_policies").seed(apps, None)


@pytest.fixture
def travel():
    """Move the project clock: `travel("2026-03-01")` freezes it for the rest of the test, and
    `with travel("2026-03-01"): ...` for the block only."""
    from datetime import date, datetime

    trips = []  # held until teardown: a dropped trip would unfreeze the clock when garbage-collected

    class Trip:
        def __init__(self, moment):
            if isinstance(moment, str):
                moment = date.fromisoformat(moment) if len(moment) == 10 else datetime.fromisoformat(moment)
            self._frozen = clock.travel_to(moment)
            self._frozen.__enter__()
            trips.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._frozen.__exit__(*exc)

    yield Trip
    trips.clear()
    clock.set_frozen(None)
