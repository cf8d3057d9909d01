"""History triggers cost the same per row however many rows a transaction writes (issue 13).

A benchmark-style test: it compares the time per row of N and 4N inserts in one transaction, each the
best of a few runs, and fails when the larger transaction pays more than a small factor per row. It is
a ratio within one run, not a timing target; figures for history's cost per row live in bench/.

The rows go in with one INSERT … SELECT, the way a set-based job writes (STYLE: bulk jobs), into a
table with a history trigger and a deferred foreign key: the combination that turned quadratic when
the `pgtrigger.ignore` setting was missing from the connection."""

import time

import pytest
from django.db import connection, transaction

from devices.models import DeviceUnit
from tests.factories import ProductFactory

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]


def seconds_per_row(product_id: int, rows: int, runs: int = 5) -> float:
    table = DeviceUnit._meta.db_table
    best = float("inf")
    for run in range(runs):
        prefix = f"SN-H{rows}-{run}-"
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {table} (serial_number, product_id, condition, status, status_changed_at,
                                         inspection_passed, inspection_note, registered_at)
                    SELECT %s || n, %s, 'new', 'in_stock', now(), NULL, '', now()
                    FROM generate_series(1, %s) AS n""",
                [prefix, product_id, rows],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks count too
        best = min(best, time.perf_counter() - started)
        DeviceUnit.objects.filter(serial_number__startswith=prefix).delete()
    return best / rows


def test_history_triggers_are_linear_in_the_rows_of_a_transaction():
    product = ProductFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [DeviceUnit._meta.db_table],
        )
        assert cursor.fetchone()[0] >= 1, "device units have no history trigger to measure"
    small, large = seconds_per_row(product.pk, 5_000), seconds_per_row(product.pk, 20_000)
    assert large / small < 1.6, f"{small * 1e6:.0f} µs/row at 5,000 rows, {large * 1e6:.0f} µs/row at 20,000"
