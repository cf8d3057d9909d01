"""Invoice and credit-note PDFs carry what Wet OB 1968 art. 35a asks, in the subscriber's language (PAY-8),
and say how the invoice gets paid (PAY-1, PAY-2)."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest

from accounts.services import choose_language
from billing import pdf, selectors, services
from billing.models import Invoice, InvoiceKind
from flex.audit.trail import Actor
from tests.factories import PlanFactory, ProductFactory, subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("billing_run")


def pdf_text(invoice: Invoice) -> str:
    """The words of the invoice's PDF as a reader (pdftotext, poppler) finds them, spaces normalised."""
    data = pdf.render_invoice_pdf(selectors.invoice_document(Invoice.objects.filter(pk=invoice.pk)))
    assert data.startswith(b"%PDF-")
    # -layout keeps a label and its value on one line, as a reader sees them side by side.
    reader = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True)
    return " ".join(reader.stdout.decode().split())


def monthly_invoice(travel, *, language="nl", payment_method="sepa_direct_debit") -> Invoice:
    """Period 4 of a subscription delivered on 31 January 2026 (a plan of € 45 and an add-on of € 9 a
    month), invoiced by the monthly run on 16 April 2026 (PAY-1), for a subscriber reading `language`."""
    subscription = subscribe(
        plan=PlanFactory(monthly_fee=Decimal("45.00"), items=[(ProductFactory(name="Era 100"), 2)]),
        addons=[ProductFactory(name="Sub Mini", is_addon_eligible=True, price__addon_monthly_fee=Decimal("9.00"))],
        delivered_on=date(2026, 1, 31),
        payment_method=payment_method,
    )
    if language != subscription.subscriber.language:
        choose_language(subscription.subscriber_id, language=language, actor=Actor.system("test"))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    return subscription.invoices.get(kind=InvoiceKind.MONTHLY)


def supplier_and_customer(invoice: Invoice) -> list[str]:
    """Art. 35a lid 1 sub c and e: the supplier's VAT identification number, its name and address (and
    its KvK number), the customer's name and address as at issue."""
    issuer = invoice.issuer
    return [
        issuer.name,
        *issuer.address.splitlines(),
        issuer.vat_number,
        issuer.kvk_number,
        invoice.customer_name,
        *invoice.customer_address.splitlines(),
    ]


def test_a_dutch_monthly_invoice_pdf_carries_every_field_art_35a_asks(travel):
    invoice = monthly_invoice(travel, language="nl")
    text = pdf_text(invoice)
    assert text.startswith("Flex")
    for expected in [
        "FACTUUR",
        f"Factuurnummer {invoice.number}",  # sub b
        "Factuurdatum 16-04-2026",  # sub a
        "Leveringsperiode 30-04-2026 t/m 30-05-2026",  # sub g: the period of supply (PAY-1)
        "Btw-nummer NL000099998B57",
        "KvK-nummer 99999999",
        # sub f, h, i: description, quantity, unit price excl. VAT, the VAT rate; the lines as issued (Dutch)
        "Omschrijving Aantal Prijs per stuk excl. btw Btw-tarief Bedrag excl. btw Bedrag incl. btw",
        "(2× Era 100) – maandtarief 1 € 37,19 21% € 37,19 € 45,00",
        "Uitbreiding Sub Mini – maandbedrag 1 € 7,44 21% € 7,44 € 9,00",
        # sub h, j: the amount charged per rate and its VAT; the totals
        "Totaal excl. btw € 44,63",
        "Btw 21% over € 44,63 € 9,37",
        "Totaal incl. btw € 54,00",
        "Vervaldatum 30-04-2026",  # PAY-2
        "Het bedrag van € 54,00 wordt geïncasseerd op 30-04-2026 (SEPA-incasso)",
        "Pagina 1 van 1",
        *supplier_and_customer(invoice),
    ]:
        assert expected in text, expected
    assert "Creditnota" not in text and "Corrigeert" not in text


def test_an_english_monthly_invoice_pdf_has_its_fixed_texts_in_english_and_its_lines_as_issued(travel):
    invoice = monthly_invoice(travel, language="en")
    text = pdf_text(invoice)
    for expected in [
        "INVOICE",
        f"Invoice number {invoice.number}",
        "Invoice date 16-04-2026",
        "Due date 30-04-2026",
        "Period of supply 30-04-2026 to 30-05-2026",
        "VAT no. NL000099998B57",
        "KvK no. 99999999",
        "Description Quantity Unit price excl. VAT VAT rate Amount excl. VAT Amount incl. VAT",
        "(2× Era 100) – monthly fee 1 € 37,19 21% € 37,19 € 45,00",  # issued in English: the run wrote it so
        "Add-on Sub Mini – monthly fee 1 € 7,44 21% € 7,44 € 9,00",
        "Total excl. VAT € 44,63",
        "VAT 21% on € 44,63 € 9,37",
        "Total incl. VAT € 54,00",
        "The amount of € 54,00 will be collected by SEPA direct debit on 30-04-2026",
        "Page 1 of 1",
        *supplier_and_customer(invoice),
    ]:
        assert expected in text, expected
    assert "Factuur" not in text and "btw" not in text


def test_the_lines_stay_as_issued_when_the_subscriber_later_switches_language(travel):
    invoice = monthly_invoice(travel, language="nl")
    choose_language(invoice.subscriber_id, language="en", actor=Actor.system("test"))
    text = pdf_text(invoice)
    assert "Invoice number" in text and "Uitbreiding Sub Mini – maandbedrag" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            ["CREDITNOTA", "Creditnotanummer", "Datum creditnota 20-04-2026", "Corrigeert factuur", "van 16-04-2026"],
        ),
        (
            "en",
            ["CREDIT NOTE", "Credit note number", "Credit note date 20-04-2026", "Corrects invoice", "of 16-04-2026"],
        ),
    ],
)
def test_a_credit_note_pdf_names_the_invoice_it_corrects(travel, language, expected):
    invoice = monthly_invoice(travel, language=language)
    with travel("2026-04-20"):
        credit = services.issue_credit_note(invoice)
    text = pdf_text(credit)
    for part in [*expected, credit.number, invoice.number, "€ -44,63", "€ -9,37", "€ -54,00"]:
        assert part in text, part
    assert text.index(invoice.number) > text.index(expected[3])  # the number follows "corrects invoice"
    assert ("30-04-2026 t/m 30-05-2026" if language == "nl" else "30-04-2026 to 30-05-2026") in text
    for part in supplier_and_customer(credit):
        assert part in text, part
    # Nothing was paid on the corrected invoice: the credit note cancels it, no money goes back.
    assert ("je hoeft die niet te betalen" if language == "nl" else "you need not pay it") in text
    assert ("Vervaldatum" if language == "nl" else "Due date") not in text


def test_pay_1_a_card_payers_open_invoice_says_it_is_charged_to_the_card_on_the_due_date(travel):
    invoice = monthly_invoice(travel, payment_method="card")
    text = pdf_text(invoice)
    assert "Het bedrag van € 54,00 wordt op 30-04-2026 van je kaart afgeschreven" in text
    assert "op rekening (IBAN)" not in text  # no transfer asked of a card payer
    assert "geïncasseerd" not in text


def test_a_paid_invoice_says_so():
    """The prepayment, paid at the checkout during sign-up (TERM-1)."""
    prepayment = subscribe().invoices.get(kind=InvoiceKind.PREPAYMENT)
    text = pdf_text(prepayment)
    assert f"Betaald op {prepayment.paid_at:%d-%m-%Y}" in text
    assert "Betaal €" not in text and "geïncasseerd" not in text


def test_a_business_customers_vat_number_is_printed_when_the_invoice_has_one(travel):
    """Art. 35a lid 1 sub d. Sign-up asks no VAT number yet, so no invoice has one; the document shows it
    the day one does (the invoice read as issued, with the number it would carry; nothing is saved)."""
    invoice = selectors.invoice_document(Invoice.objects.filter(pk=monthly_invoice(travel).pk))
    invoice.customer_vat_number = "NL123456789B01"
    html = pdf.render_invoice_html(invoice)
    assert "Btw-nummer NL123456789B01" in " ".join(html.split())


def test_rendering_a_pdf_takes_two_queries(travel, django_assert_num_queries):
    invoice = monthly_invoice(travel)
    with django_assert_num_queries(2):  # the invoice with issuer, customer and payments; its lines
        document = selectors.invoice_document(Invoice.objects.filter(pk=invoice.pk))
        pdf.render_invoice_pdf(document)


@pytest.mark.parametrize(
    ("rate", "shown"), [(Decimal("21.00"), "21%"), (Decimal("9.00"), "9%"), (Decimal("5.50"), "5,5%")]
)
def test_vat_rates_are_shown_the_dutch_way(rate, shown):
    assert pdf.format_rate(rate) == shown


def test_iban_is_printed_in_groups_of_four():
    assert pdf.grouped_iban("nl91abna0417164300") == "NL91 ABNA 0417 1643 00"
