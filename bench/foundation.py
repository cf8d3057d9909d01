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

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flex_bench")
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()

    fresh_database(args.database_url)
    os.environ.update(
        DATABASE_URL=args.database_url,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_SETTINGS_MODULE="flex.settings",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="testserver",
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.models import Address, Subscriber, User
    from billing import services
    from devices.models import Plan
    from flex.audit.trail import Actor

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    plans = list(Plan.objects.filter(is_available=True))
    actor = Actor.system("bench")

    people = []
    for n in range(args.subscriptions):
        user = User(email=f"bench{n}@example.nl", full_name=f"Bench {n}")
        user.set_unusable_password()
        people.append(user)
    User.objects.bulk_create(people, batch_size=1000)
    users = list(User.objects.filter(email__startswith="bench").order_by("id"))
    Subscriber.objects.bulk_create(
        [
            Subscriber(user=u, first_name="Bench", last_name=str(n), email=u.email, date_of_birth="1980-01-01")
            for n, u in enumerate(users)
        ],
        batch_size=1000,
    )
    subscribers = list(Subscriber.objects.filter(email__startswith="bench").order_by("id"))
    Address.objects.bulk_create(
        [
            Address(
                subscriber=s,
                street="Damrak",
                house_number=n + 1,
                postcode="1012 LG",
                city="Amsterdam",
                moved_in_on="2020-01-01",
                reported_on="2020-01-01",
            )
            for n, s in enumerate(subscribers)
        ],
        batch_size=1000,
    )

    # A wrapper rather than CaptureQueriesContext: the debug query log is a bounded deque, so after
    # 9000 queries its slices come back empty and the count would be silently wrong.
    query_count = 0

    def count_queries(execute, sql, params, many, context):
        nonlocal query_count
        query_count += 1
        return execute(sql, params, many, context)

    start = time.perf_counter()
    for n, subscriber in enumerate(subscribers):
        with connection.execute_wrapper(count_queries):
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
        f"Run `make bench` ({args.subscriptions} subscriptions; {platform.python_implementation()} "
        f"{platform.python_version()}, PostgreSQL {connection.cursor().connection.info.server_version // 10000}, "
        f"{os.cpu_count()} cores).",
        "",
        "| path | figure |",
        "| --- | --- |",
        f"| accept a subscription + record its prepayment | {args.subscriptions / elapsed:.0f} per second, "
        f"{query_count / args.subscriptions:.1f} queries each |",
    ]
    for name, (ms, queries) in results.items():
        lines.append(f"| {name} | {ms:.1f} ms median, {queries} queries |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text()
        head, _, rest = text.partition("<!-- BENCH foundation -->")
        _, _, tail = rest.partition("<!-- /BENCH foundation -->")
        doc.write_text(f"{head}<!-- BENCH foundation -->\n{table}\n<!-- /BENCH foundation -->{tail}")


if __name__ == "__main__":
    main()
