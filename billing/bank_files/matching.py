"""Finding our invoice numbers in what a payer wrote with a transfer (the remittance information,
structured or free text): "F2026-000123", "f2026 000123", "Factuur F2026000123" all name F2026-000123."""

from __future__ import annotations

import re

# billing/services/invoicing.py numbers invoices F<year>-<6 digits> (8 digits from 2027).
_INVOICE_NUMBER = re.compile(r"(?<![A-Z0-9])F\s*(\d{4})\s*[-/ .]?\s*(\d{6}(?:\d{2})?)(?!\d)", re.IGNORECASE)


def invoice_numbers_in(*texts: str) -> list[str]:
    """Every invoice number in `texts`, in the order written, each once, in our spelling."""
    found: list[str] = []
    for text in texts:
        for year, sequence in _INVOICE_NUMBER.findall(text or ""):
            number = f"F{year}-{sequence}"
            if number not in found:
                found.append(number)
    return found
