"""Invoices and credit notes as PDF documents, rendered on demand from HTML templates with WeasyPrint.

What the document says comes from the invoice as issued (Wet OB 1968 art. 35a: number, date, the
supplier's and the customer's names and addresses and VAT numbers, the period of supply, each line's
description, quantity, unit price excl. VAT and VAT rate, the VAT per rate and the totals; for a credit
note the invoice it corrects); only the fixed texts are written in the subscriber's language (PAY-8),
the lines stay in the words they were issued in. The payment block says how the invoice gets paid as
it stands when the PDF is made: collected by SEPA direct debit or charged to the card on the due date,
to be transferred with the invoice number as payment reference, paid, or (a credit note) paid back.

Rendering is on demand, ~30 ms a page (bench/invoice_pdf.py), so nothing is stored: the document is
the same every time because the invoice never changes (the database refuses it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control

from billing.models import Invoice, InvoiceKind, InvoiceStatus, PaymentMethod
from flex.money import to_money

STYLESHEET = Path(__file__).resolve().parents[1] / "templates" / "billing" / "pdf" / "invoice.css"


@dataclass(frozen=True)
class VatGroup:
    """Art. 35a lid 1 sub h-j: per VAT rate, the amount it is charged on, the rate and the VAT."""

    rate: Decimal
    net: Decimal
    vat: Decimal

    @property
    def rate_display(self) -> str:
        return format_rate(self.rate)


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: int
    unit_price_excl: Decimal
    vat_rate: Decimal
    net: Decimal
    gross: Decimal

    @property
    def rate(self) -> str:
        return format_rate(self.vat_rate)


def format_rate(rate: Decimal) -> str:
    """21.00 → 21%, 5.50 → 5,5% (Dutch notation, as the amounts)."""
    text = f"{rate.normalize():f}".replace(".", ",")
    return f"{text}%"


def vat_groups(lines) -> list[VatGroup]:
    """The lines' net amounts and VAT added up per rate, highest rate first (each line was rounded once)."""
    net: dict[Decimal, Decimal] = defaultdict(Decimal)
    vat: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        net[line.vat_rate] += line.net
        vat[line.vat_rate] += line.vat
    return [VatGroup(rate, net[rate], vat[rate]) for rate in sorted(net, reverse=True)]


def unit_price_excl(line) -> Decimal:
    """Art. 35a lid 1 sub h asks the unit price excl. VAT; our prices are set incl. VAT (consumer prices),
    so it is the line's unit price without the VAT at its rate, to the cent."""
    return to_money(line.unit_price / (1 + line.vat_rate / 100))


def is_collected_by_direct_debit(invoice: Invoice) -> bool:
    """A monthly invoice of a SEPA payer is collected on its due date (PAY-1, PAY-2); the prepayment and
    other charges are paid at the checkout or by transfer."""
    return (
        invoice.kind == InvoiceKind.MONTHLY
        and invoice.subscription is not None
        and invoice.subscription.payment_method == PaymentMethod.SEPA_DIRECT_DEBIT
    )


def is_charged_to_card(invoice: Invoice) -> bool:
    """A monthly invoice of a card payer is charged to the card on its due date (PAY-1)."""
    return (
        invoice.kind == InvoiceKind.MONTHLY
        and invoice.subscription is not None
        and invoice.subscription.payment_method == PaymentMethod.CARD
    )


def payment_instruction(invoice: Invoice) -> str:
    """Which payment block the document shows: direct_debit, card, transfer, paid or credited for an invoice;
    refund or cancelled for a credit note."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        # Money comes back only where money was paid; otherwise the credit note just cancels the invoice.
        return "refund" if getattr(invoice, "corrected_amount_paid", 0) > 0 else "cancelled"
    if invoice.status == InvoiceStatus.PAID or (invoice.status == InvoiceStatus.OPEN and invoice.amount_open <= 0):
        return "paid"
    if invoice.status != InvoiceStatus.OPEN:
        return "credited"
    if is_collected_by_direct_debit(invoice):
        return "direct_debit"
    return "card" if is_charged_to_card(invoice) else "transfer"


def grouped_iban(iban: str) -> str:
    """NL91ABNA0417164300 → NL91 ABNA 0417 1643 00, as banks print it."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[n : n + 4] for n in range(0, len(compact), 4))


def period_of_supply(invoice: Invoice) -> tuple | None:
    """Art. 35a lid 1 sub g: the period the fees are for; a credit note's is the one it corrects."""
    for document in (invoice, invoice.corrects):
        if document is not None and document.period_start:
            return document.period_start, document.period_end
    return None


def document_context(invoice: Invoice) -> dict:
    lines = list(invoice.lines.all())
    return {
        "period": period_of_supply(invoice),
        "invoice": invoice,
        "issuer": invoice.issuer,
        "issuer_iban": grouped_iban(invoice.issuer.iban) if invoice.issuer else "",
        "issuer_address_line": ", ".join(invoice.issuer.address.splitlines()) if invoice.issuer else "",
        "refund_amount": abs(invoice.gross_total),
        "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
        "lines": [
            DocumentLine(
                description=line.description,
                quantity=line.quantity,
                unit_price_excl=unit_price_excl(line),
                vat_rate=line.vat_rate,
                net=line.net,
                gross=line.gross,
            )
            for line in lines
        ],
        "vat_groups": vat_groups(lines),
        "payment": payment_instruction(invoice),
        "creditor": settings.FLEX_CREDITOR,
    }


def render_invoice_html(invoice: Invoice) -> str:
    """The document as HTML, in the subscriber's language. `invoice` comes from
    `billing.selectors.invoice_document` (issuer, lines and the amount paid loaded with it)."""
    with translation.override(invoice.subscriber.language):
        return render_to_string("billing/pdf/invoice.html", document_context(invoice))


# WeasyPrint is imported where a PDF is made, not with this module: importing it takes seconds (its
# font and CSS machinery), which every web process, worker and manage.py command would pay at start-up.
@cache
def _weasyprint():
    """Parsed once per process: the stylesheet and the fonts it names are the same for every document."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    fonts = FontConfiguration()
    return HTML, URLFetcher, CSS(filename=str(STYLESHEET), font_config=fonts), fonts


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as an A4 PDF (Wet OB 1968 art. 35a), in the subscriber's language."""
    HTML, URLFetcher, stylesheet, fonts = _weasyprint()  # noqa: N806 - the classes, by their names
    # The template needs nothing from outside: no URL in a document makes the server fetch anything.
    nothing = URLFetcher(allowed_protocols=())
    document = HTML(string=render_invoice_html(invoice), url_fetcher=nothing)
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


def download(invoice: Invoice) -> HttpResponse:
    """The PDF as a download named after its number; personal data, so no shared cache keeps it."""
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename(invoice)}"'
    patch_cache_control(response, private=True, no_store=True)
    return response
