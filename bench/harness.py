"""What every benchmark shares: arguments, a fresh PostgreSQL database with Django and the demo data,
a query counter that cannot overflow, and writing a result block into docs/performance.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def arguments(
    description: str, count: str, default: int, more: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """The options every benchmark takes; `more` adds a benchmark's own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(f"--{count}", type=int, default=default)
    if more is not None:
        more(parser)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flex_bench")
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    return parser.parse_args()


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')


def start_django(database_url: str, **environment: str) -> None:
    """Django on a fresh database, migrated and seeded; tasks run in-process (no broker)."""
    fresh_database(database_url)
    # Benchmarks seed demo data and talk to the sandbox partners: sandbox mode, as on a developer's machine.
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="flex.settings",
        LOG_LEVEL="WARNING",
        FLEX_SANDBOX="1",
        **environment,
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)


class QueryCounter:
    """Counts every query through an execute wrapper. Not CaptureQueriesContext: Django's debug query
    log is a bounded deque, so after 9000 queries its slices come back empty and counts go wrong."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        server = cursor.connection.info.server_version // 10000
    return (
        f"{platform.python_implementation()} {platform.python_version()}, PostgreSQL {server}, {os.cpu_count()} cores"
    )


def write_block(name: str, table: str, section: str) -> None:
    """Replace the block between `<!-- BENCH name -->` markers, adding the section when it is new."""
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    start, end = f"<!-- BENCH {name} -->", f"<!-- /BENCH {name} -->"
    if start not in text:
        text = f"{text.rstrip()}\n\n{section.strip()}\n\n{start}\n{end}\n"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    doc.write_text(f"{head}{start}\n{table}\n{end}{tail}")


def people(count: int, domain: str, **subscriber_fields):
    """`count` subscribers with a login and an Amsterdam address, inserted in bulk (set-up, not measured)."""
    from accounts.models import Address, Subscriber, User

    users = [User(email=f"bench{n}@{domain}", full_name=f"Bench {n}") for n in range(count)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, batch_size=2000)
    users = list(User.objects.filter(email__endswith=f"@{domain}").order_by("id"))
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                user=u,
                first_name="Bench",
                last_name=str(n),
                email=u.email,
                date_of_birth="1980-01-01",
                **{k: (v(n) if callable(v) else v) for k, v in subscriber_fields.items()},
            )
            for n, u in enumerate(users)
        ],
        batch_size=2000,
    )
    subscribers = list(Subscriber.objects.filter(email__endswith=f"@{domain}").order_by("id"))
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
        batch_size=2000,
    )
    return subscribers
