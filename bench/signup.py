"""Sign-up benchmark: accept and allocate many applications through the task pipeline on PostgreSQL.

    make bench                      # or: .venv/bin/python bench/signup.py --applications 10000

On a fresh database `flex_bench` (dropped and re-created), applications under review with every check
passed and the prepayment paid are set up in bulk (not measured). Measured: for each one,
`accept_application` as a reviewer, and everything it enqueues on commit, run in-process as the worker
would run it: Radio HD activation, allocation of units from stock (row locks, SKIP LOCKED), the
shipment and its order at the (sandbox) warehouse with the disclosure log, and the decision e-mail.
Reports throughput, queries per application, CPU time per application (this process, and the database
server's backend when it runs on this machine: steadier than throughput on a shared machine), and the
process's peak resident memory. Writes the figures between the BENCH markers in docs/performance.md.

`--workers N` shares the applications among N processes, as a worker pool of that concurrency would
(allocations then race for units through SKIP LOCKED); the default is one process, one after another.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import timedelta
from decimal import Decimal

from harness import QueryCounter, arguments, machine, people, start_django, write_block


def set_up(count: int):
    """Applications awaiting review, with stock for all of them, in bulk."""
    from billing.models import (
        Application,
        ApplicationCheck,
        CheckKind,
        Invoice,
        InvoiceLine,
        Payment,
        PaymentAllocation,
        TermsVersion,
    )
    from devices.models import DeviceUnit, Plan
    from devices.services import configured_partner
    from flex import clock

    plan = Plan.objects.get(code="compact")  # one Ray soundbar
    product = plan.items.get().product
    warehouse = configured_partner("warehouse")  # units belong to the warehouse that registered them
    DeviceUnit.objects.bulk_create(
        [
            DeviceUnit(serial_number=f"BENCH-{n:06d}", product=product, condition="new", warehouse=warehouse)
            for n in range(count)
        ],
        batch_size=2000,
    )
    terms = TermsVersion.objects.get()
    now = clock.now()
    subscribers = people(
        count, "applicants.bench.example", verified_identity=lambda n: f"bench-{n}", identity_verified_at=now
    )
    Application.objects.bulk_create(
        [
            Application(
                reference=f"BENCH{n:07d}",
                subscriber=s,
                plan=plan,
                status="awaiting_review",
                payment_method="sepa_direct_debit",
                iban="NL91ABNA0417164300",
                account_holder=f"Bench {n}",
                mandate_reference=f"FLEX-BENCH{n:07d}",
                mandate_signed_at=now,
                terms_version=terms,
                terms_accepted_at=now,
                terms_accepted_ip="192.0.2.1",
                submitted_at=now,
            )
            for n, s in enumerate(subscribers)
        ],
        batch_size=2000,
    )
    applications = list(Application.objects.filter(reference__startswith="BENCH").order_by("id"))
    ApplicationCheck.objects.bulk_create(
        [
            ApplicationCheck(application=a, kind=kind, outcome="passed", checked_at=now, attempts=1)
            for a in applications
            for kind in CheckKind.values
        ],
        batch_size=5000,
    )
    gross = plan.monthly_fee * 3
    net = (gross / Decimal("1.21")).quantize(Decimal("0.01"))
    invoices = Invoice.objects.bulk_create(
        [
            Invoice(
                number=f"B{n:08d}",
                subscriber_id=a.subscriber_id,
                application=a,
                kind="prepayment",
                status="paid",
                issue_date=now.date(),
                due_date=now.date() + timedelta(days=14),
                net_total=net,
                vat_total=gross - net,
                gross_total=gross,
                paid_at=now,
            )
            for n, a in enumerate(applications)
        ],
        batch_size=2000,
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=i,
                description="Compact × 3 months",
                quantity=3,
                unit_price=plan.monthly_fee,
                vat_rate=21,
                net=net,
                vat=gross - net,
                gross=gross,
            )
            for i in invoices
        ],
        batch_size=2000,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                subscriber_id=i.subscriber_id,
                invoice=i,
                amount=gross,
                method="ideal",
                provider_reference=f"BENCH-{i.number}",
                received_at=now,
                booked_on=now.date(),
            )
            for i in invoices
        ],
        batch_size=2000,
    )
    PaymentAllocation.objects.bulk_create(
        [PaymentAllocation(payment=p, invoice=p.invoice, amount=gross, allocated_at=now) for p in payments],
        batch_size=2000,
    )
    return [a.pk for a in applications]


def backend_cpu_seconds() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend; None when the server runs
    elsewhere or its process is not readable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def accept_all(ids: list[int], *, progress: bool) -> dict[str, float]:
    """Accept `ids` one after another in this process, as one worker would, with everything enqueued
    run in-process: queries, seconds taken, CPU seconds of this process and of its database backend."""
    from django.db import connection

    from accounts.models import User
    from billing import services
    from flex.audit.trail import Actor

    reviewer = Actor.of_user(User.objects.get(email="service@flex.example"))
    counter = QueryCounter()
    server_start = backend_cpu_seconds()
    start, cpu_start = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(counter):
        for done, pk in enumerate(ids, 1):
            services.accept_application(pk, actor=reviewer)
            if progress and done % 1000 == 0:
                print(f"{done} accepted, {done / (time.perf_counter() - start):.0f}/s", file=sys.stderr, flush=True)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    server_end = backend_cpu_seconds()
    server = server_end - server_start if server_start is not None and server_end is not None else None
    return {"queries": counter.count, "elapsed": elapsed, "cpu": cpu, "server": server}


def accept_in_workers(ids: list[int], workers: int) -> dict[str, float]:
    """`workers` processes (forked, each with its own connection) share the applications, as a worker
    pool with that concurrency would; the figures are summed, the time is the pool's."""
    from django.db import connections

    connections.close_all()  # each process opens its own
    start = time.perf_counter()
    children = []
    for n in range(workers):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            figures = accept_all(ids[n::workers], progress=n == 0)
            connections.close_all()
            with os.fdopen(write, "w") as out:
                json.dump(figures, out)
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    totals = {"queries": 0, "cpu": 0.0, "server": 0.0}
    for pid, read in children:
        with os.fdopen(read) as answer:
            figures = json.load(answer)
        _, status = os.waitpid(pid, 0)
        assert status == 0, f"worker {pid} failed"
        for key in totals:
            totals[key] = None if totals[key] is None or figures[key] is None else totals[key] + figures[key]
    return {**totals, "elapsed": time.perf_counter() - start}


def main() -> None:
    def workers(parser):
        parser.add_argument(
            "--workers", type=int, default=1, help="processes sharing the applications (a worker pool's concurrency)"
        )

    args = arguments(__doc__, "applications", 10_000, workers)
    # A worker runs with DEBUG off: no query log kept in memory, no debug logging per query.
    start_django(
        args.database_url,
        DEBUG="0",
        SECRET_KEY="bench-only-not-a-secret",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        FLEX_SANDBOX_AUTOPILOT="0",
    )
    from billing.models import Application

    ids = set_up(args.applications)
    figures = accept_all(ids, progress=True) if args.workers == 1 else accept_in_workers(ids, args.workers)
    count, elapsed = args.applications, figures["elapsed"]
    server = f"{1000 * figures['server'] / count:.1f} ms" if figures["server"] is not None else "n/a"
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))

    allocated = Application.objects.filter(pk__in=ids, status="allocated", shipment__status="ordered").count()
    assert allocated == len(ids), f"only {allocated} of {len(ids)} allocated and ordered"
    pool = "one process" if args.workers == 1 else f"{args.workers} worker processes"
    lines = [
        f"Run `make bench` ({count} applications; {machine()}; "
        f"tasks in-process in {pool}, sandbox partners without latency).",
        "",
        "| path | figure |",
        "| --- | --- |",
        f"| accept + Radio HD + allocate + ship order + e-mail | {count / elapsed:.0f} applications "
        f"per second, {figures['queries'] / count:.1f} queries each |",
        f"| CPU per application: the benchmark's process(es), database server | "
        f"{1000 * figures['cpu'] / count:.1f} ms, {server} |",
        f"| all {count} allocated and ordered at the warehouse | {allocated} in {elapsed:.0f} s |",
        f"| peak resident memory of a process (setup included) | {peak_kib / 1024:.0f} MiB |",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_block(
            "signup",
            table,
            "## Sign-up to delivery (`bench/signup.py`)\n\n"
            "Target: accepting and allocating an application stays a fixed number of queries, and one worker\n"
            "handles a day's applications (thousands) in minutes.",
        )


if __name__ == "__main__":
    main()
