"""A subscriber pays an open invoice online and downloads its PDF, in a real browser (issue 8)."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import services
from billing.models import InvoiceKind, InvoiceStatus
from flex.audit.trail import Actor
from tests.factories import PlanFactory, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def test_subscriber_pays_an_open_invoice_with_ideal_and_downloads_its_pdf(live_server, page, travel):
    subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=Actor.system("billing_run"))
    travel("2026-04-20")
    invoice = subscription.invoices.get(kind=InvoiceKind.MONTHLY)

    page.goto(f"{live_server.url}/portal/invoices/")
    page.get_by_label("E-mail").fill(subscription.subscriber.user.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Facturen")).to_be_visible()
    row = page.locator(f"#invoice-{invoice.number}")
    expect(row.locator(".badge")).to_have_text("open")

    row.get_by_role("button", name="Nu betalen").click()
    expect(page.get_by_role("heading", name="Betalen: € 45,00")).to_be_visible()  # the sandbox checkout
    page.get_by_role("button", name="Betalen met iDEAL").click()

    expect(page.get_by_text(f"Dank je wel: factuur {invoice.number} is betaald.")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("betaald")
    expect(row.get_by_role("button", name="Nu betalen")).to_have_count(0)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payments.count() == 1

    with page.expect_download() as download_info:
        row.get_by_role("link", name=f"PDF van {invoice.number}").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    text = subprocess.run(["pdftotext", "-layout", download.path(), "-"], capture_output=True, check=True).stdout
    words = " ".join(text.decode().split())
    assert f"Factuurnummer {invoice.number}" in words and "Betaald op 20-04-2026" in words
