"""CPU time of one partner API request, in-process through the production WSGI app (issue 13).

    .venv/bin/python bench/api_cpu.py --database-url postgres://postgres@127.0.0.1:5432/flex_api_bench
    .venv/bin/python bench/api_cpu.py --path "/api/v1/device-units/?limit=50" --profile 25

Calls `flex.wsgi.application` directly (no HTTP, no client) `--requests` times after a warm-up and reports
the Python CPU time per request (`time.process_time`: this process only, not PostgreSQL's or Redis's)
next to the wall time and the queries per request. CPU time is what limits the request rate; on a
machine shared with other work it still grows with contention (caches, frequency), so the requests are
timed in batches of 50 and the cheapest batch is reported beside the median batch. `--profile N`
prints cProfile's N most expensive functions (by own time and by cumulative time). Settings are
production's (DEBUG off) with the rate limit raised so that the measured requests are answered, not
refused with 429.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO_KEY = "demowhse.warehouse-demo-key-not-for-production"  # seed_demo's warehouse key (sandbox mode)


def environ(path: str, key: str) -> dict:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Api-Key {key}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default="/api/v1/device-units/")
    parser.add_argument("--key", default=DEMO_KEY)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flex_bench")
    )
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="flex.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        FLEX_SANDBOX="1",
        API_RATE="100000000/min",
    )
    from django.db import connection

    from flex.wsgi import application

    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1

    def one() -> int:
        body = b"".join(application(environ(args.path, args.key), start_response))
        return len(body)

    size = 0
    for _ in range(20):
        size = one()
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    cpu, wall = [], []
    with connection.execute_wrapper(count):
        for _ in range(args.requests):
            c, w = time.process_time(), time.perf_counter()
            one()
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - w) * 1000)
    batches = [statistics.mean(cpu[i : i + 50]) for i in range(0, len(cpu) - 49, 50)] or [statistics.mean(cpu)]
    print(
        f"{args.path}: {min(batches):.2f} ms CPU per request in the cheapest batch of 50, "
        f"{statistics.median(batches):.2f} in the median batch, "
        f"wall median {statistics.median(wall):.2f} ms, {queries / args.requests:.1f} queries, {size} bytes; "
        f"{args.requests} requests, statuses {statuses}, load average {os.getloadavg()[0]:.2f}"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            one()
        profiler.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile)
            print(out.getvalue())


if __name__ == "__main__":
    main()
