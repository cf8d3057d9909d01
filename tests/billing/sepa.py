"""Open invoices to collect, made the way the monthly billing run will make them: issued 14 days
before the period start and due on it (the invoice e-mail is the SEPA pre-notification).

Until the billing run lands, they are issued with the invoicing helper the prepayment and credit notes
use (`billing.services.subscriptions._issue`: a numbered invoice with its lines, gapless)."""

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
        return _issue(subscription, None, InvoiceKind.MONTHLY, issue_date, [line])
