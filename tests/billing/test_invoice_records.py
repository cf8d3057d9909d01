"""An issued invoice is a tax record (Wet OB 1968 art. 35a) kept unaltered for 7 years (PRIV-6): its lines
cannot be changed, not even past the application, and every invoice names its customer."""

from datetime import date

import pytest
from django.db import DatabaseError, transaction

from billing.models import Invoice, InvoiceLine
from tests.factories import subscribe

pytestmark = pytest.mark.django_db


def test_an_issued_invoice_line_cannot_be_changed_even_by_a_bulk_update():
    """PRIV-6: tax and accounting records are kept, unaltered; a correction is a credit note."""
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    line = InvoiceLine.objects.filter(invoice__subscription=subscription).first()
    with pytest.raises(DatabaseError, match="issued_lines_never_change"), transaction.atomic():
        InvoiceLine.objects.filter(pk=line.pk).update(gross=0, description="changed")
    line.refresh_from_db()
    assert line.gross != 0 and line.description != "changed"


def test_every_invoice_names_its_customer_for_the_portal_and_the_admin():
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    invoice = Invoice.objects.get(subscription=subscription)
    assert invoice.subscriber == subscription.subscriber
