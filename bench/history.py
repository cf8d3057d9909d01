"""What row-level history (django-pghistory triggers) costs per row, table by table (issue 13).

    .venv/bin/python bench/history.py                 # 20,000 rows per measurement
    .venv/bin/python bench/history.py --rows 5000 --no-write

On a fresh database `flex_bench` (dropped and re-created, migrated, demo data), each table's rows are
written set-based in one transaction (INSERT … SELECT, then an UPDATE of every row), the way a bulk job
writes them, once with the table's history triggers and once with them disabled for that transaction;
best of 3, rolled back each time. Reports µs per row with and without history, and the bytes each
history row adds on disk. Writes the figures between the BENCH markers in docs/performance.md.
"""

from __future__ import annotations

import time

from harness import arguments, machine, start_django, write_block

RUNS = 3


def timed(statements: list[tuple[str, dict]], *, history: bool, table: str) -> float:
    """Seconds for the statements in one transaction (rolled back), best of RUNS."""
    from django.db import connection, transaction

    best = float("inf")
    for _ in range(RUNS):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if not history:
                    cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
                started = time.perf_counter()
                for sql, params in statements:
                    cursor.execute(sql, params)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred checks are part of the cost
                best = min(best, time.perf_counter() - started)
                raise RollbackError
        except RollbackError:
            pass
    return best


class RollbackError(Exception):
    pass


def main() -> None:
    args = arguments(__doc__, "rows", 20_000)
    start_django(args.database_url)
    from django.db import connection

    from billing.models import Subscription
    from devices.models import Product

    rows = args.rows
    product = Product.objects.first().pk
    subscription = Subscription.objects.select_related("subscriber").first()
    cases = {
        "device units": (
            "devices_deviceunit",
            [
                (
                    """INSERT INTO devices_deviceunit (serial_number, product_id, condition, status, status_changed_at,
                           inspection_note, registered_at)
                       SELECT 'HB-' || n, %(product)s, 'new', 'in_stock', now(), '', now()
                       FROM generate_series(1, %(rows)s) AS n""",
                    {"product": product, "rows": rows},
                ),
                ("UPDATE devices_deviceunit SET status = 'reserved' WHERE serial_number LIKE 'HB-%%'", {}),
            ],
        ),
        "invoices": (
            "billing_invoice",
            [
                (
                    """INSERT INTO billing_invoice (number, kind, status, issue_date, due_date, net_total, vat_total,
                           gross_total, subscription_id, subscriber_id)
                       SELECT 'H' || lpad(n::text, 9, '0'), 'monthly', 'open', current_date, current_date + 14,
                              47.11, 9.89, 57.00, %(subscription)s, %(subscriber)s
                       FROM generate_series(1, %(rows)s) AS n""",
                    {"subscription": subscription.pk, "subscriber": subscription.subscriber_id, "rows": rows},
                ),
                ("UPDATE billing_invoice SET status = 'paid', paid_at = now() WHERE number LIKE 'H%%'", {}),
            ],
        ),
    }
    results = []
    for name, (table, statements) in cases.items():
        with_history = timed(statements, history=True, table=table)
        without = timed(statements, history=False, table=table)
        # what the history rows take on disk: write once more, for real, and measure the event table
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size(%s)", [f"{table}event"])
            before = cursor.fetchone()[0]
            for sql, params in statements:
                cursor.execute(sql, params)
            cursor.execute("ANALYZE")
            cursor.execute("SELECT pg_total_relation_size(%s)", [f"{table}event"])
            size = (cursor.fetchone()[0] - before) / (2 * rows)
        per_row = lambda seconds: seconds / (2 * rows) * 1e6  # noqa: E731 (an insert and an update per row)
        results.append(
            f"| {name} | {per_row(without):.1f} µs | {per_row(with_history):.1f} µs | "
            f"+{per_row(with_history) - per_row(without):.1f} µs ({with_history / without:.1f}×) | {size:.0f} B |"
        )
        print(results[-1])
    table = "\n".join(
        [
            f"Run `.venv/bin/python bench/history.py --rows {rows}` ({rows:,} rows inserted and then updated in one "
            f"transaction, best of {RUNS}; {machine()}).",
            "",
            "| table | per row written, no history | with history | history's cost | history on disk per event |",
            "| --- | --- | --- | --- | --- |",
            *results,
        ]
    )
    if not args.no_write:
        write_block(
            "history",
            table,
            "## What history costs (`bench/history.py`)\n\nRow-level history (django-pghistory) writes one event "
            "row per insert and per update of a tracked table, in the same transaction.",
        )


if __name__ == "__main__":
    main()
