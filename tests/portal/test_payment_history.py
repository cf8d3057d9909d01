"""The subscriber's payment history (PAY-1, PAY-2): their own payments only, newest first, what each
paid, a reversal's reason in plain words in their language, their credit; in a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import PaidBy
from billing.services import payments
from flex.audit.trail import Actor
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db
BANK = Actor.partner("bank")


def pay(subscription, amount, reference, *, invoice=None, method=PaidBy.SEPA_DIRECT_DEBIT, booked_on=None):
    return payments.receive_payment(
        subscriber_id=subscription.subscriber_id,
        amount=Decimal(amount),
        method=method,
        reference=reference,
        invoice_id=invoice.pk if invoice else None,
        booked_on=booked_on,
        actor=BANK,
    )


@pytest.fixture
def history(travel):
    """Mine: two monthly invoices; the first collected and returned by the bank for insufficient funds
    (AM04), then both paid by one transfer of € 100 (€ 10 left as credit). Theirs: a payment of € 77."""
    mine = subscribe(delivered_on=date(2026, 1, 5))
    first = monthly_invoice(mine, date(2026, 4, 6))
    second = monthly_invoice(mine, date(2026, 5, 6))
    pay(mine, "45.00", "DD-MINE-1", invoice=first, booked_on=date(2026, 4, 8))
    payments.reverse_payment("DD-MINE-1", reason_code="AM04", on=date(2026, 4, 10), actor=BANK)
    pay(mine, "100.00", "TRF-MINE-2", method=PaidBy.BANK_TRANSFER, booked_on=date(2026, 5, 12))
    theirs = subscribe(delivered_on=date(2026, 1, 5))
    pay(theirs, "77.00", "TRF-THEIRS", method=PaidBy.BANK_TRANSFER, booked_on=date(2026, 5, 13))
    travel("2026-05-20")
    return mine, (first, second), theirs


def client_of(subscription, language="en"):
    client = Client()
    client.force_login(subscription.subscriber.user)
    client.cookies["django_language"] = language
    return client


def test_payment_history_shows_own_payments_what_they_paid_and_the_credit_pay_1(history, django_assert_max_num_queries):
    mine, (first, second), _theirs = history
    client = client_of(mine)
    with django_assert_max_num_queries(8):  # session, user, subscriber, count, page, allocations, credit
        page = client.get(reverse("portal:payments")).text
    assert "€ 100,00" in page and "€ 45,00" in page
    # the transfer paid both invoices (the first one again, after the return) and left € 10 credit
    assert page.index("12-05-2026") < page.index("08-04-2026")  # newest first
    assert f"{first.number}</a>: € 45,00" in page and f"{second.number}</a>: € 45,00" in page
    assert "€ 10,00 kept as credit" in page
    assert "You have € 10,00 credit" in page


def test_a_reversal_shows_its_reason_in_plain_words_not_the_code_pay_2(history):
    mine, _invoices, _theirs = history
    page = client_of(mine).get(reverse("portal:payments")).text
    assert "Reversed on 10-04-2026: insufficient funds." in page
    assert "AM04" not in page
    dutch = client_of(mine, "nl").get(reverse("portal:payments")).text
    assert "onvoldoende saldo" in dutch and "AM04" not in dutch


def test_another_subscribers_payments_never_show(history):
    mine, _invoices, theirs = history
    page = client_of(mine).get(reverse("portal:payments")).text
    assert "€ 77,00" not in page and "TRF-THEIRS" not in page
    theirs_page = client_of(theirs).get(reverse("portal:payments")).text
    assert "€ 77,00" in theirs_page and "€ 100,00" not in theirs_page and "insufficient funds" not in theirs_page


def test_the_page_costs_the_same_queries_with_more_payments(history, django_assert_max_num_queries):
    mine, _invoices, _theirs = history
    client = client_of(mine)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("portal:payments"))
    for n in range(5):
        pay(mine, "1.00", f"TRF-MORE-{n}", method=PaidBy.IDEAL, booked_on=date(2026, 5, 14))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("portal:payments"))


def test_payment_history_is_linked_from_the_dashboard_and_the_navigation(history):
    mine, _invoices, _theirs = history
    page = client_of(mine).get(reverse("portal:dashboard")).text
    assert page.count(f'href="{reverse("portal:payments")}"') == 2
