"""Drive the partner API at a fixed rate and report the latency percentiles (issue 13).

    .venv/bin/python bench/api_load.py --rate 100 --seconds 30
    .venv/bin/python bench/api_load.py --rate 200 --path "/api/v1/device-units/?limit=50"
    REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/api_load.py --database-url postgres://…/flex_api_bench

An open-model load generator: request i is sent at start + i / rate whether or not the earlier ones
have been answered (a closed loop would slow down with the server and hide the queueing). Latency is
measured from the moment a request was due, so time spent waiting behind a saturated server counts.
The first `--warmup` seconds run at the same rate and are not counted (each worker loads its code).

The server is gunicorn on 127.0.0.1 with the project's production WSGI app and production settings
(DEBUG off), on the database named by --database-url (load it first with bench/scale.py, or any seeded
database), with the throttle counters in Redis when REDIS_URL is set (as in production; otherwise in
each process's memory) and the per-key rate limit raised so that the requests are answered, not
counted out with 429. Loopback traffic only; one connection per request, as gunicorn's sync workers
close it after each answer.

The generator is asyncio on raw sockets, not an HTTP library: on a 2-core machine it shares the CPU
with the server, so it must cost little. Besides the percentiles it reports the CPU per request of
the generator, of gunicorn (master and workers) and of PostgreSQL (the backends on the bench
database), and how busy the whole machine was: other benchmarks on a shared machine show up there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DEMO_KEY = "demowhse.warehouse-demo-key-not-for-production"  # seed_demo's warehouse key (sandbox mode)
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def request_bytes(port: int, path: str, key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n"
        f"Authorization: Api-Key {key}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")


async def get(port: int, request: bytes, timeout: float) -> int:
    """Send one request on a new connection; the status code once the whole answer has arrived."""

    async def exchange() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            answer = await reader.read()  # until the server closes: the whole answer
        finally:
            writer.close()
        if not answer.startswith(b"HTTP/1."):
            raise ConnectionError("no HTTP answer")
        return int(answer[9:12])

    return await asyncio.wait_for(exchange(), timeout)


async def drive(port: int, request: bytes, rate: float, seconds: float, warmup: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    counted_from = time.perf_counter() + warmup

    async def one(due: float) -> None:
        nonlocal errors
        try:
            status = await get(port, request, timeout=30.0)
        except (TimeoutError, OSError):
            errors += due >= counted_from
            return
        if due >= counted_from:
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * (warmup + seconds))):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - counted_from
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "elapsed": elapsed}


def wait_until_up(port: int, request: bytes, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if asyncio.run(get(port, request, timeout=5.0)) < 500:
                return
        except (TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer on port {port}")


def process_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes; gone processes count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:  # the parent's pid
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def database_backends(database_url: str) -> list[int]:
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    return [pid for (pid,) in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the same rate, not counted")
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
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + "k" * 50),
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; production terminates TLS in front
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "FLEX_SANDBOX": "1",
        "API_RATE": "100000000/min",  # still counted per request, as in production; never refused
    }
    if not environment.get("REDIS_URL"):
        print("REDIS_URL is not set: throttle counters live in each worker's memory, not in Redis as in production")
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
    request = request_bytes(args.port, args.path, args.key)
    try:
        wait_until_up(args.port, request)
        servers = [server.pid, *children(server.pid)]
        # Each worker answers once so that it has connected to the database before the backends are listed.
        for _ in range(4 * args.workers):
            asyncio.run(get(args.port, request, timeout=10.0))
        backends = database_backends(args.database_url)
        load_before = os.getloadavg()[0]
        started = (
            resource.getrusage(resource.RUSAGE_SELF),
            process_seconds(servers),
            process_seconds(backends),
            machine_busy(),
        )
        result = asyncio.run(drive(args.port, request, args.rate, args.seconds, args.warmup))
        # A backend that connected during the run (a worker reconnected) counts whole; one that ended
        # during it is lost, so the PostgreSQL figure is a lower bound.
        fresh = [pid for pid in database_backends(args.database_url) if pid not in backends]
        ended = (
            resource.getrusage(resource.RUSAGE_SELF),
            process_seconds(servers),
            process_seconds(backends) + process_seconds(fresh),
            machine_busy(),
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    latencies, statuses, errors = result["latencies"], result["statuses"], result["errors"]
    if not latencies:
        sys.exit(f"no answers; statuses {statuses}, {errors} connection errors")
    # The CPU figures cover the warm-up too: divide by every request sent.
    sent = int(args.rate * (args.warmup + args.seconds))
    generator = (ended[0].ru_utime + ended[0].ru_stime - started[0].ru_utime - started[0].ru_stime) / sent * 1000
    gunicorn = (ended[1] - started[1]) / sent * 1000
    database = (ended[2] - started[2]) / sent * 1000
    busy = (ended[3][0] - started[3][0]) / max(1, ended[3][1] - started[3][1]) * (os.cpu_count() or 1)
    print(
        f"{args.path} at {args.rate:.0f} req/s for {args.seconds:.0f} s ({args.workers} gunicorn workers): "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms; "
        f"{len(latencies) / result['elapsed']:.0f} answers/s, statuses {dict(sorted(statuses.items()))}, "
        f"{errors} connection errors"
    )
    print(
        f"CPU per request: gunicorn {gunicorn:.1f} ms, PostgreSQL {database:.1f} ms, generator {generator:.1f} ms; "
        f"machine busy {busy:.2f} of {os.cpu_count()} cores during the run "
        f"(ours ≈ {(gunicorn + database + generator) * args.rate / 1000:.2f}), load average {load_before:.2f} before"
    )


if __name__ == "__main__":
    main()
