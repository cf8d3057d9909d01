"""Foundation benchmark: how the core paths behave with many subscriptions on PostgreSQL.

    make bench                      # or: .venv/bin/python bench/foundation.py --subscriptions 5000

Measures, on a fresh database `flex_bench` (dropped and re-created):
  * accepting a subscription through `billing.services.create_subscription` plus its prepayment
    (invoice with gapless number, audit event, row history, e-mail task): throughput and queries each;
  * the admin subscription list, the subscriber dashboard and the partner API's unit list with that
    many rows: median latency and query count.
Writes the figures between the BENCH markers in docs/performance.md.
"""

from __future__ import annotations

import statistics
import time

from harness import QueryCounter, arguments, machine, people, start_django, write_block


def timed(fn, repeat: int) -> tuple[float, int]:
    """Median milliseconds and the query count of one call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    connection.queries_log.clear()
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        fn()
    return statistics.median(samples), len(queries.captured_queries)


def main() -> None:
    args = arguments(__doc__, "subscriptions", 5000)
    start_django(
        args.database_url, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", ALLOWED_HOSTS="testserver"
    )
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from billing import services
    from devices.models import Plan
    from flex.audit.trail import Actor

    plans = list(Plan.objects.filter(is_available=True))
    actor = Actor.system("bench")

    subscribers = people(args.subscriptions, "subscriptions.bench.example")

    counter = QueryCounter()
    start = time.perf_counter()
    for n, subscriber in enumerate(subscribers):
        with connection.execute_wrapper(counter):
            subscription = services.create_subscription(
                subscriber, plans[n % len(plans)], payment_method="sepa_direct_debit", actor=actor
            )
            invoice = subscription.invoices.get()
            services.record_payment(
                invoice.pk,
                amount=invoice.gross_total,
                method="sepa_direct_debit",
                provider_reference=f"BENCH-{invoice.number}",
                actor=actor,
            )
    elapsed = time.perf_counter() - start

    admin = User.objects.get(email="admin@flex.example")
    staff = Client()
    staff.force_login(admin)
    subscriber_client = Client()
    subscriber_client.force_login(User.objects.get(email="anna@example.nl"))
    api = Client(HTTP_AUTHORIZATION="Api-Key demowhse.warehouse-demo-key-not-for-production")

    def ok(response):
        assert response.status_code == 200, response.status_code
        return response

    pages = {
        "admin subscription list (100 rows of all)": lambda: ok(staff.get("/admin/billing/subscription/")),
        "admin invoice list (100 rows of all)": lambda: ok(staff.get("/admin/billing/invoice/")),
        "portal dashboard": lambda: ok(subscriber_client.get("/portal/")),
        "API GET /api/v1/device-units/ (50 per page)": lambda: ok(api.get("/api/v1/device-units/")),
    }
    results = {name: timed(fn, repeat=15) for name, fn in pages.items()}

    lines = [
        f"Run `make bench` ({args.subscriptions} subscriptions; {machine()}).",
        "",
        "| path | figure |",
        "| --- | --- |",
        f"| accept a subscription + record its prepayment | {args.subscriptions / elapsed:.0f} per second, "
        f"{counter.count / args.subscriptions:.1f} queries each |",
    ]
    for name, (ms, queries) in results.items():
        lines.append(f"| {name} | {ms:.1f} ms median, {queries} queries |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_block("foundation", table, "## Foundation (`bench/foundation.py`)")


if __name__ == "__main__":
    main()
