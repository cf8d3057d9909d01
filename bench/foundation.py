"""Foundation benchmark: how the core paths behave with many subscriptions on PostgreSQL.

    make bench                      # or: .venv/bin/python bench/foundation.py --subscriptions 5000

(About 200 queries and a few subscriptions a second on 2 cores: 5000 take half an hour or more; try
`--subscriptions 50 --no-write` first.)

Measures, on a fresh database `flex_bench` (dropped and re-created, seeded, with stock registered by
the warehouse for every subscription; not measured):
  * a subscription the way production makes one (`billing.management.demo_applications.walk_to`):
    sign-up, terms and SEPA mandate, identity at the sandbox bank, prepayment at the sandbox checkout,
    the checks as jobs, acceptance by a reviewer, allocation, the warehouse order, and the sandbox
    warehouse's shipped confirmation and carrier's delivery through the partner services, every job
    in-process: throughput and queries each;
  * the admin subscription list, the subscriber dashboard and the partner API's unit list with that
    many rows: median latency and query count.
Writes the figures between the BENCH markers in docs/performance.md.
"""

from __future__ import annotations

import statistics
import time

from harness import QueryCounter, arguments, machine, start_django, write_block


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


def stock_up(plans) -> None:
    """The warehouse reports the units for these plans (one entry per subscription) arriving in stock."""
    from collections import Counter

    from devices import services as device_services
    from flex.audit.trail import Actor

    demand: Counter = Counter()
    for plan, subscriptions in Counter(plans).items():
        for item in plan.items.select_related("product"):
            demand[item.product.sku] += item.quantity * subscriptions
    warehouse = Actor.partner("warehouse")
    for sku, quantity in sorted(demand.items()):
        serials = [f"BENCH-{sku}-{n:06d}" for n in range(quantity)]
        device_services.register_stock(
            sku=sku,
            serial_numbers=serials,
            condition="new",
            actor=warehouse,
            warehouse=device_services.configured_partner("warehouse"),
        )


def main() -> None:
    args = arguments(__doc__, "subscriptions", 5000)
    start_django(
        args.database_url, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", ALLOWED_HOSTS="testserver"
    )
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from billing.management.demo_applications import walk_to
    from billing.models import Subscription
    from devices.models import Plan

    plans = list(Plan.objects.filter(is_available=True).order_by("code"))
    stock_up([plans[n % len(plans)] for n in range(args.subscriptions)])

    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        for n in range(args.subscriptions):
            walk_to(
                "delivered",
                email=f"bench{n}@subscriptions.bench.example",
                first_name="Bench",
                last_name=f"Subscriber {n}",  # a person of their own: the bank's pseudonym is name + birth date
                plan=plans[n % len(plans)],
                addons=[],
                payment_method="sepa_direct_debit",
                password=None,
                house_number=n + 1,
            )
    elapsed = time.perf_counter() - start
    active = Subscription.objects.filter(subscriber__email__endswith="@subscriptions.bench.example", status="active")
    assert active.count() == args.subscriptions, f"only {active.count()} of {args.subscriptions} active"

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
        f"| a subscription from sign-up to delivery (every job in-process) | {args.subscriptions / elapsed:.1f} "
        f"per second, {counter.count / args.subscriptions:.1f} queries each |",
    ]
    for name, (ms, queries) in results.items():
        lines.append(f"| {name} | {ms:.1f} ms median, {queries} queries |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_block("foundation", table, "## Foundation (`bench/foundation.py`)")


if __name__ == "__main__":
    main()
