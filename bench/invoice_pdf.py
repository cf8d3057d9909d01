"""Invoice PDFs per second: how fast `billing.pdf` renders invoices on demand (issue 8).

    .venv/bin/python bench/invoice_pdf.py                    # 200 invoices, one process
    .venv/bin/python bench/invoice_pdf.py --invoices 1000 --processes 2 --no-write

On a fresh database `flex_bench` (dropped and re-created, migrated, demo data), `--invoices` monthly
invoices of two lines each (a plan and an add-on) are written in bulk as the monthly run leaves them
(not measured). Measured, for each: reading it as the download views do (`selectors.invoice_document`,
2 queries) and rendering its PDF in the subscriber's language (`billing.pdf.render_invoice_pdf`),
the way a portal or admin download does. The first document of a process is timed apart: it pays for
importing WeasyPrint and parsing the stylesheet once. Reports PDFs per second (all processes
together), milliseconds per PDF, the size of a PDF and the peak resident memory of a process; writes
the figures between the BENCH markers in docs/performance.md.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time

from harness import arguments, machine, start_django, write_block


def more(parser) -> None:
    parser.add_argument("--processes", type=int, default=1, help="render in this many processes at once")


def set_up(count: int) -> list[int]:
    """`count` monthly invoices with a plan line and an add-on line, half Dutch and half English readers."""
    from datetime import date, timedelta
    from decimal import Decimal

    from accounts.models import Subscriber
    from billing.models import Invoice, InvoiceKind, InvoiceLine, Subscription
    from billing.services.invoicing import issuer_on
    from flex.money import split_gross, vat_rate_on

    subscription = Subscription.objects.select_related("subscriber").filter(start_date__isnull=False).first()
    Subscriber.objects.filter(pk=subscription.subscriber_id).update(language="nl")
    issued, rate = date(2026, 4, 16), vat_rate_on(date(2026, 4, 30))
    fees = [
        ("Stereo (2× Era 100) – maandtarief", Decimal("45.00")),
        ("Uitbreiding Sub Mini – maandbedrag", Decimal("9.00")),
    ]
    invoices = [
        Invoice(
            number=f"B2026-{n:06d}",
            subscriber_id=subscription.subscriber_id,
            subscription=subscription,
            kind=InvoiceKind.MONTHLY,
            issue_date=issued,
            due_date=issued + timedelta(days=14),
            period_start=date(2026, 4, 30) + timedelta(days=31 * n),
            period_end=date(2026, 5, 29) + timedelta(days=31 * n),
            net_total=Decimal("44.63"),
            vat_total=Decimal("9.37"),
            gross_total=Decimal("54.00"),
            customer_name="Anna de Vries",
            customer_address="Keizersgracht 123\n1015 CX Amsterdam",
            issuer=issuer_on(issued),
        )
        for n in range(count)
    ]
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    lines = []
    for invoice in invoices:
        for description, gross in fees:
            net, vat = split_gross(gross, rate)
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    description=description,
                    quantity=1,
                    unit_price=gross,
                    vat_rate=rate * 100,
                    net=net,
                    vat=vat,
                    gross=gross,
                )
            )
    InvoiceLine.objects.bulk_create(lines, batch_size=5000)
    return [invoice.pk for invoice in invoices]


def render(ids: list[int]) -> dict:
    """Render each invoice once, in this process; the first one timed apart (cold)."""
    from billing import pdf, selectors
    from billing.models import Invoice

    timings, cpu, sizes = [], [], []
    for pk in ids:
        started, started_cpu = time.perf_counter(), time.process_time()
        document = selectors.invoice_document(Invoice.objects.filter(pk=pk))
        sizes.append(len(pdf.render_invoice_pdf(document)))
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {
        "cold": timings[0],
        "warm": timings[1:],
        "warm_cpu": cpu[1:],
        "sizes": sizes,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    args = arguments(__doc__, "invoices", 200, more)
    start_django(args.database_url)
    ids = set_up(args.invoices)
    shares = [ids[n :: args.processes] for n in range(args.processes)]
    started = time.perf_counter()
    if args.processes == 1:
        results = [render(ids)]
    else:
        from django.db import connection

        connection.close()  # each forked process opens a connection of its own
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            results = pool.map(render, shares)
    elapsed = time.perf_counter() - started
    warm = [t for result in results for t in result["warm"]]
    warm_cpu = [t for result in results for t in result["warm_cpu"]]
    cold = max(result["cold"] for result in results)
    sizes = [size for result in results for size in result["sizes"]]
    per_second = len(ids) / elapsed
    warm_ms = statistics.median(warm) * 1000
    p95_ms = sorted(warm)[int(len(warm) * 0.95) - 1] * 1000
    peak = max(result["peak_mib"] for result in results)
    cpu_ms = statistics.median(warm_cpu) * 1000
    month = 1_000_000 * cpu_ms / 1000 / 3600
    rows = [
        f"| PDFs per second, {args.processes} process(es), first one included | {per_second:.1f} |",
        f"| per PDF once warm: median, p95 (read + render) | {warm_ms:.1f} ms, {p95_ms:.1f} ms |",
        f"| CPU per PDF once warm, median (steadier on a shared machine) | {cpu_ms:.1f} ms |",
        f"| the first PDF of a process (imports WeasyPrint, parses the stylesheet) | {cold * 1000:.0f} ms |",
        f"| size of a PDF (1 page, 2 lines) | {statistics.median(sizes) / 1024:.1f} KiB |",
        f"| peak resident memory of a process (setup included) | {peak:.0f} MiB |",
        f"| a million PDFs at that CPU time, one core | {month:.1f} hours |",
    ]
    print("\n".join(rows))
    table = "\n".join(
        [
            f"Run `.venv/bin/python bench/invoice_pdf.py --invoices {args.invoices} --processes {args.processes}` "
            f"({machine()}; WeasyPrint {weasyprint_version()}).",
            "",
            "| what | figure |",
            "| --- | --- |",
            *rows,
        ]
    )
    if not args.no_write:
        write_block(
            "invoice_pdf",
            table,
            "## Invoice PDFs (`bench/invoice_pdf.py`)\n\nInvoices and credit notes are rendered on demand "
            "(`billing.pdf`, WeasyPrint), when a subscriber or staff member downloads one; nothing is stored, "
            "because an issued invoice never changes.",
        )
    print(f"pdfs_per_second {per_second:.1f}")


def weasyprint_version() -> str:
    import weasyprint

    return weasyprint.__version__


if __name__ == "__main__":
    os.environ.setdefault("FLEX_SANDBOX_LATENCY_MS", "0")
    main()
