"""Drive the partner API at a fixed rate and report the latency percentiles (issue 13).

    .venv/bin/python bench/api_load.py --rate 100 --seconds 30
    .venv/bin/python bench/api_load.py --rate 200 --path "/api/v1/device-units/?limit=50"

An open-model load generator: request i is sent at start + i / rate whether or not the earlier ones
have been answered (a closed loop would slow down with the server and hide the queueing). Latency is
measured from the moment a request was due, so time spent waiting behind a saturated server counts.
The server is gunicorn on 127.0.0.1 with the project's production WSGI app, on the database named by
--database-url (load it first with bench/scale.py, or any seeded database); loopback traffic only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_KEY = "demowhse.warehouse-demo-key-not-for-production"  # seed_demo's warehouse key (sandbox mode)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def drive(url: str, key: str, rate: float, seconds: float) -> tuple[list[float], dict[int, int], int]:
    import httpx

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers={"Authorization": f"Api-Key {key}"}) as client:
        start = time.perf_counter()
        total = int(rate * seconds)

        async def one(due: float) -> None:
            nonlocal errors
            try:
                response = await client.get(url)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append((time.perf_counter() - due) * 1000)

        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
    return latencies, statuses, errors


def wait_until_up(url: str, key: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers={"Authorization": f"Api-Key {key}"}, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer at {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--path", default="/api/v1/device-units/")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8071)
    parser.add_argument("--key", default=DEMO_KEY)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flex_bench")
    )
    args = parser.parse_args()

    environment = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "flex.settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "FLEX_SANDBOX": "1",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "flex.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
    )
    url = f"http://127.0.0.1:{args.port}{args.path}"
    try:
        wait_until_up(url, args.key)
        latencies, statuses, errors = asyncio.run(drive(url, args.key, args.rate, args.seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    if not latencies:
        sys.exit(f"no answers; statuses {statuses}, {errors} connection errors")
    achieved = len(latencies) / args.seconds
    print(
        f"{args.path} at {args.rate:.0f} req/s for {args.seconds:.0f} s ({args.workers} gunicorn workers): "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms; "
        f"{achieved:.0f} answers/s, statuses {dict(sorted(statuses.items()))}, {errors} connection errors"
    )


if __name__ == "__main__":
    main()
