"""Open invoices to collect, shaped as the monthly billing run makes them: issued 14 days before the
period start and due on it (the invoice e-mail is the SEPA pre-notification). For a due date and an
amount of the test's choosing they are issued one at a time with the helper the prepayment and credit
notes use (`billing.services.subscriptions._issue`: numbered without gaps, with its lines); the run
itself is tested in test_monthly_invoicing.py."""

from datetime import date, timedelta
from decimal import Decimal

from billing.models import Invoice, InvoiceKind, InvoiceLine
from billing.services.subscriptions import _issue
from flex import clock
from flex.money import split_gross, to_money, vat_rate_on


def monthly_invoice(subscription, due_date: date, amount: str = "45.00") -> Invoice:
    issue_date = due_date - timedelta(days=14)
    gross = to_money(Decimal(amount))
    rate = vat_rate_on(issue_date)
    net, vat = split_gross(gross, rate)
    line = InvoiceLine(
        description=f"{subscription.plan.name} – monthly fee",
        quantity=1,
        unit_price=gross,
        vat_rate=rate * 100,
        net=net,
        vat=vat,
        gross=gross,
    )
    with clock.travel_to(issue_date):
        period = (due_date, clock.add_months(due_date, 1) - timedelta(days=1))
        return _issue(subscription, None, InvoiceKind.MONTHLY, issue_date, [line], period=period)
