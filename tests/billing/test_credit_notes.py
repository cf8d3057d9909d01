"""Finance corrects an invoice only with a credit note (Wet OB 1968 art. 35a, PAY-1): never by editing
an amount. What was paid on the credited invoice becomes the subscriber's credit for the next one."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing import selectors, services
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.services import payments
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import PlanFactory, UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("billing_run")


@pytest.fixture
def monthly_invoice(travel) -> Invoice:
    subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), delivered_on=date(2026, 1, 31))
    subscription.subscriber.language = "nl"
    subscription.subscriber.save(update_fields=["language"])
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    return subscription.invoices.get(kind=InvoiceKind.MONTHLY)


def finance() -> Actor:
    return Actor.of_user(UserFactory(role=roles.FINANCE))


def test_a_credit_note_cancels_the_invoice_line_by_line_in_the_customers_language(monthly_invoice):
    credit = services.credit_invoice(monthly_invoice.pk, reason="wrong plan billed", actor=finance())
    assert (credit.kind, credit.corrects_id, credit.gross_total) == (
        "credit_note",
        monthly_invoice.pk,
        Decimal("-45.00"),
    )
    assert [line.description.split(":")[0] for line in credit.lines.all()] == [
        f"Creditering van {monthly_invoice.number}"
    ]
    monthly_invoice.refresh_from_db()
    assert monthly_invoice.status == InvoiceStatus.CREDITED
    event = AuditEvent.objects.get(action="credit_invoice")
    assert (event.rule, event.reason, event.data["credit_note"]) == ("PAY-1", "wrong plan billed", credit.number)


def test_what_was_paid_on_a_credited_invoice_becomes_credit_pay_1(monthly_invoice):
    payments.receive_payment(
        subscriber_id=monthly_invoice.subscriber_id,
        amount=Decimal("45.00"),
        method="bank_transfer",
        reference="TRF-CREDIT",
        invoice_id=monthly_invoice.pk,
        actor=Actor.partner("bank"),
    )
    assert payments.credit_balance(monthly_invoice.subscriber_id) == Decimal("0.00")
    services.credit_invoice(monthly_invoice.pk, reason="goodwill", actor=finance())
    assert payments.credit_balance(monthly_invoice.subscriber_id) == Decimal("45.00")
    row = selectors.with_amount_open(Invoice.objects.filter(pk=monthly_invoice.pk)).get()
    assert (row.status, row.amount_paid) == ("credited", Decimal("0.00"))


@pytest.mark.parametrize(
    ("case", "field"),
    [("no reason", "reason"), ("credited twice", "invoice"), ("a credit note", "invoice")],
)
def test_crediting_is_refused_naming_the_field_and_nothing_is_issued(monthly_invoice, case, field):
    target, reason = monthly_invoice, "correction"
    if case == "no reason":
        reason = "  "
    elif case == "credited twice":
        services.credit_invoice(monthly_invoice.pk, reason="first", actor=finance())
    else:
        target = services.credit_invoice(monthly_invoice.pk, reason="first", actor=finance())
    before = Invoice.objects.count()
    with pytest.raises(Refused) as refused:
        services.credit_invoice(target.pk, reason=reason, actor=finance())
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("PAY-1", field)
    assert Invoice.objects.count() == before


def test_finance_issues_the_credit_note_from_the_invoice_page_and_others_may_not(monthly_invoice):
    page = reverse("admin:billing_invoice_change", args=[monthly_invoice.pk])
    credit_url = reverse("admin:billing_invoice_credit", args=[monthly_invoice.pk])
    agent = log_in_staff(Client(), UserFactory(role=roles.CUSTOMER_SERVICE))
    assert credit_url not in agent.get(page).content.decode()
    assert agent.post(credit_url, {"reason": "x"}).status_code == 403
    client = log_in_staff(Client(), UserFactory(role=roles.FINANCE))
    assert credit_url in client.get(page).content.decode()
    response = client.post(credit_url, {"reason": "double billed"}, follow=True)
    assert "issued for" in response.content.decode() or "gecrediteerd" in response.content.decode().lower()
    assert Invoice.objects.filter(corrects=monthly_invoice, kind="credit_note").count() == 1
    # Pressed again (a stale tab): refused with the rule, no second credit note.
    response = client.post(credit_url, {"reason": "double billed"}, follow=True)
    assert "PAY-1" in response.content.decode()
    assert Invoice.objects.filter(corrects=monthly_invoice, kind="credit_note").count() == 1
