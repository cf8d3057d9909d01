"""Writing and validating a SEPA direct-debit file (pain.008.001.02) for N collections (issue 8).

    .venv/bin/python bench/direct_debit.py                        # 1,000,000 collections
    .venv/bin/python bench/direct_debit.py --collections 100000 --no-write

Streams N collections (half first, half recurring; one name in 20 with accents or "&" to transliterate,
one debtor in 3 without a BIC) through the same writer the daily job uses
(`billing.direct_debit.pain008.write`: every value through the EPC checks, then to disk), then
validates the file against the official XSD while streaming it (`pain008.validate`). Reports seconds
for each, the file's size and the process's peak memory (resident set, which includes Python, Django
and lxml: the floor is measured before the run). Needs no database. Writes the figures between the
BENCH markers in docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from harness import ROOT, write_block

sys.path.insert(0, str(ROOT))

NAMES = ["Anna de Vries", "Jan Jansen", "Fatima El Amrani", "Pieter Bakker", "Sanne Visser", "Daan Smit"]
ODD_NAMES = ["Café De Hoek B.V.", "Bakker & Zn", "Zoë Müller", "Ærø Handel", "Søren Łukasz"]
AMOUNTS = [Decimal("19.00"), Decimal("45.00"), Decimal("99.00"), Decimal("64.00")]
IBANS = ["NL91ABNA0417164300", "NL44RABO0123456789", "NL69INGB0123456789"]
BICS = ["ABNANL2A", "RABONL2U", ""]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def collections(pain008, sequence: str, count: int, offset: int):
    for n in range(offset, offset + count):
        yield pain008.Transaction(
            end_to_end_id=f"F2026-{n:07d}-1",
            amount=AMOUNTS[n % 4],
            mandate_id=f"FLEX-APP{n:07d}",
            mandate_signed_on=date(2025, 1 + n % 12, 1 + n % 28),
            debtor_name=ODD_NAMES[n % 5] if n % 20 == 0 else f"{NAMES[n % 6]} {n}",
            debtor_iban=IBANS[n % 3],
            debtor_bic=BICS[n % 3],
            remittance=f"Flex factuur/invoice F2026-{n:07d}",
        )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collections", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
    os.environ.setdefault("FLEX_SANDBOX", "1")
    import django

    django.setup()
    from billing.direct_debit import epc, pain008

    epc.iban(IBANS[0], field="warm-up")  # schwifty's registry loads once per process, not per file
    pain008.schema()
    floor = peak_mib()
    total = args.collections
    first = total // 2
    amount_of = [sum(AMOUNTS[n % 4] for n in range(a, a + c)) for a, c in ((0, first), (first, total - first))]
    groups = [
        pain008.PaymentGroup(
            "BENCH-FRST", "FRST", date(2026, 3, 2), first, amount_of[0], collections(pain008, "FRST", first, 0)
        ),
        pain008.PaymentGroup(
            "BENCH-RCUR",
            "RCUR",
            date(2026, 3, 2),
            total - first,
            amount_of[1],
            collections(pain008, "RCUR", total - first, first),
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="flex-bench-dd-") as folder:
        path = Path(folder) / "bench.xml"
        started = time.perf_counter()
        written = pain008.write(
            path,
            message_id="FLEX-DD-BENCH",
            created_at=datetime(2026, 2, 26, 5, 30),
            creditor=pain008.Creditor("Flex B.V.", "NL69ZZZ123456780000", "NL91ABNA0417164300", "ABNANL2A"),
            groups=[g for g in groups if g.count],
        )
        write_seconds = time.perf_counter() - started
        started = time.perf_counter()
        facts = pain008.validate(path)
        validate_seconds = time.perf_counter() - started
    assert facts.count == total and facts.control_sum == written.control_sum
    peak = peak_mib()
    per_million = 1_000_000 / total
    size = f"{written.size / 2**20:,.0f} MiB"
    write_cell = f"{write_seconds:.1f} s ({write_seconds / total * 1e6:.1f} µs each)"
    validate_cell = f"{validate_seconds:.1f} s ({validate_seconds / total * 1e6:.1f} µs each)"
    memory = f"{peak:.0f} MiB (before: {floor:.0f} MiB)"
    rows = [
        "| collections | file | write (EPC checks + file) | validate (XSD, streaming) | peak memory (RSS) |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {total:,} | {size} | {write_cell} | {validate_cell} | {memory} |",
    ]
    if total != 1_000_000:
        rows.append(
            "\nExtrapolated to 1,000,000 (the cost is linear, the memory flat): "
            f"write {write_seconds * per_million:.0f} s, validate {validate_seconds * per_million:.0f} s."
        )
    load = os.getloadavg()[0]  # other work on the machine slows this single-threaded run in proportion
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, lxml, {os.cpu_count()} cores, "
        f"load average {load:.1f} while measuring"
    )
    table = "\n".join(rows) + f"\n\nMeasured {datetime.now():%Y-%m-%d} on {machine}."  # noqa: TID251
    print(table)
    if not args.no_write:
        write_block(
            "direct_debit",
            table,
            "## SEPA direct-debit file (`bench/direct_debit.py`)\n\n"
            "One pain.008.001.02 file for N collections, written as a stream through the EPC checks and validated "
            "against the official XSD as a stream (`billing/direct_debit/pain008.py`). Target (issue 8): a million "
            "collections written in at most 60 s without holding them in memory. "
            "`.venv/bin/python bench/direct_debit.py --collections N` (default 1,000,000; no database needed).",
        )


if __name__ == "__main__":
    main()
