"""The subscriber's invoices in the portal: each one's PDF (their own only), and paying an open invoice
online with iDEAL at the (sandbox) payment provider, recorded once (PAY-1, PAY-2)."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Disclosure
from billing import services
from billing.adapters.payments import payment_provider, webhook_body
from billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.celery import held_tasks
from flex.partners import sign
from tests.factories import PlanFactory, subscribe

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.PASSWORD
JOB = Actor.system("billing_run")


@pytest.fixture
def invoice(travel) -> Invoice:
    """An open monthly invoice of € 45,00 (period 4, issued on 16 April 2026, due 30 April, PAY-1/PAY-2);
    the clock then stands on 20 April."""
    subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    travel("2026-04-20")
    return subscription.invoices.get(kind=InvoiceKind.MONTHLY)


def logged_in(subscriber) -> Client:
    client = Client()
    assert client.login(email=subscriber.user.email, password=PASSWORD)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def checkouts_opened() -> int:
    return AuditEvent.objects.filter(action="start_invoice_payment").count()


# --- the PDF --------------------------------------------------------------------------------------


def test_subscriber_downloads_their_invoice_as_a_pdf_named_after_its_number(invoice, django_assert_num_queries):
    client = logged_in(invoice.subscriber)
    url = reverse("portal:invoice_pdf", args=[invoice.number])
    with django_assert_num_queries(5):  # session, user, subscriber; the invoice with all it names; its lines
        response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")


def test_another_subscribers_invoice_pdf_is_not_found(invoice):
    stranger = subscribe().subscriber
    client = logged_in(stranger)
    assert client.get(reverse("portal:invoice_pdf", args=[invoice.number])).status_code == 404
    assert client.get(reverse("portal:invoice_pdf", args=["F2026-999999"])).status_code == 404
    own = stranger.invoices.get()
    assert client.get(reverse("portal:invoice_pdf", args=[own.number])).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in_for_a_pdf(invoice):
    url = reverse("portal:invoice_pdf", args=[invoice.number])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login")) and "next=" in response["Location"]


def test_invoices_page_shows_each_status_the_pdf_and_a_pay_button_only_for_what_is_open(
    invoice, django_assert_max_num_queries
):
    client = logged_in(invoice.subscriber)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("portal:invoices")).text
    prepayment = invoice.subscription.invoices.get(kind=InvoiceKind.PREPAYMENT)
    for number in (invoice.number, prepayment.number):
        assert reverse("portal:invoice_pdf", args=[number]) in page
    assert reverse("portal:pay_invoice", args=[invoice.number]) in page
    assert reverse("portal:pay_invoice", args=[prepayment.number]) not in page  # paid at sign-up
    assert "open" in page and "betaald" in page
    assert "wordt geïncasseerd op 30-04-2026" in page  # a SEPA payer's invoice: collected on its due date


# --- paying online --------------------------------------------------------------------------------


def test_paying_an_open_invoice_online_end_to_end(invoice):
    client = logged_in(invoice.subscriber)
    response = client.post(reverse("portal:pay_invoice", args=[invoice.number]))
    checkout_url = response["Location"]
    assert checkout_url.startswith("/sandbox/payments/tr_")
    assert client.get(checkout_url).text.count("€ 45,00") >= 1  # the checkout asks for what is open
    assert Disclosure.objects.filter(reference=invoice.number, subscriber=invoice.subscriber).exists()  # PRIV-1

    back = client.post(checkout_url, {"decision": "ideal"})  # the payer pays; the provider's webhook follows
    assert back["Location"].endswith(reverse("portal:invoice_payment_return", args=[invoice.number]))
    landing = client.get(back["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == reverse("portal:invoices")
    assert f"Dank je wel: factuur {invoice.number} is betaald." in messages_of(landing)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    payment = invoice.payments.get()
    assert (payment.amount, payment.method) == (Decimal("45.00"), "ideal")
    assert reverse("portal:pay_invoice", args=[invoice.number]) not in landing.text


def test_a_webhook_delivered_twice_counts_once(invoice):
    client = logged_in(invoice.subscriber)
    checkout_url = client.post(reverse("portal:pay_invoice", args=[invoice.number]))["Location"]
    payment_id = checkout_url.rstrip("/").rsplit("/", 1)[1]
    client.post(checkout_url, {"decision": "ideal"})  # the provider delivers its webhook once ...
    provider = payment_provider()
    body = webhook_body(provider.status(payment_id))
    for _ in range(2):  # ... and twice more
        answer = Client().post(
            reverse("v1:payment-webhook"),
            body,
            content_type="application/json",
            HTTP_FLEX_SIGNATURE=sign(body, provider.cfg.secret),
        )
        assert answer.status_code == 200 and answer.json() == {"recorded": True, "payment": payment_id}
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_coming_back_before_the_webhook_records_the_payment_from_the_providers_status(invoice):
    client = logged_in(invoice.subscriber)
    checkout_url = client.post(reverse("portal:pay_invoice", args=[invoice.number]))["Location"]
    with held_tasks() as held:  # the webhook is still on its way
        back = client.post(checkout_url, {"decision": "ideal"})
    assert [name for name, *_ in held] == ["billing.tasks.deliver_sandbox_payment_webhook"]
    client.get(back["Location"])
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payments.count() == 1


def test_a_failed_payment_leaves_the_invoice_open_to_pay_again(invoice):
    client = logged_in(invoice.subscriber)
    checkout_url = client.post(reverse("portal:pay_invoice", args=[invoice.number]))["Location"]
    back = client.post(checkout_url, {"decision": "fail"})
    landing = client.get(back["Location"], follow=True)
    assert f"Factuur {invoice.number} is nog niet betaald" in messages_of(landing)[0]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and not invoice.payments.exists()
    assert reverse("portal:pay_invoice", args=[invoice.number]) in landing.text


def test_paying_a_paid_invoice_again_is_refused_pay_2(invoice):
    client = logged_in(invoice.subscriber)
    checkout_url = client.post(reverse("portal:pay_invoice", args=[invoice.number]))["Location"]
    client.get(client.post(checkout_url, {"decision": "ideal"})["Location"], follow=True)
    opened = checkouts_opened()
    response = client.post(reverse("portal:pay_invoice", args=[invoice.number]), follow=True)
    assert response.redirect_chain == [(reverse("portal:invoices"), 302)]
    [message] = messages_of(response)
    assert f"Factuur {invoice.number} is al betaald." in message and "PAY-2" in message
    assert checkouts_opened() == opened and invoice.payments.count() == 1


def test_paying_a_credited_invoice_is_refused_pay_2(invoice):
    services.issue_credit_note(invoice)
    response = logged_in(invoice.subscriber).post(reverse("portal:pay_invoice", args=[invoice.number]), follow=True)
    [message] = messages_of(response)
    assert f"Factuur {invoice.number} is gecrediteerd" in message and "PAY-2" in message
    assert checkouts_opened() == 0


def test_paying_a_credit_note_is_refused_pay_2_its_money_goes_the_other_way(invoice):
    credit = services.issue_credit_note(invoice)
    client = logged_in(invoice.subscriber)
    assert reverse("portal:pay_invoice", args=[credit.number]) not in client.get(reverse("portal:invoices")).text
    response = client.post(reverse("portal:pay_invoice", args=[credit.number]), follow=True)
    [message] = messages_of(response)
    assert f"Op {credit.number} staat niets meer open." in message and "PAY-2" in message
    assert checkouts_opened() == 0


def test_paying_someone_elses_invoice_is_refused_pay_1_without_telling_whether_it_exists(invoice):
    client = logged_in(subscribe().subscriber)
    answers = []
    for number in (invoice.number, "F2026-999999"):
        response = client.post(reverse("portal:pay_invoice", args=[number]), follow=True)
        [message] = messages_of(response)
        assert "PAY-1" in message
        answers.append(message.replace(number, "…"))
    assert answers[0] == answers[1] and "Je hebt geen factuur … om te betalen." in answers[0]
    assert checkouts_opened() == 0
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_paying_is_a_post_and_needs_a_log_in(invoice):
    url = reverse("portal:pay_invoice", args=[invoice.number])
    assert Client().post(url)["Location"].startswith(reverse("portal:login"))
    assert logged_in(invoice.subscriber).get(url).status_code == 405
    assert checkouts_opened() == 0


# --- the rule, at its boundaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "rule", "words"),
    [
        (
            {"is_own": False, "is_paid": False, "is_credited": False, "amount_open": Decimal("45.00")},
            "PAY-1",
            "geen factuur",
        ),
        (
            {"is_own": True, "is_paid": True, "is_credited": False, "amount_open": Decimal("0.00")},
            "PAY-2",
            "al betaald",
        ),
        (
            {"is_own": True, "is_paid": False, "is_credited": True, "amount_open": Decimal("45.00")},
            "PAY-2",
            "gecrediteerd",
        ),
        (
            {"is_own": True, "is_paid": False, "is_credited": False, "amount_open": Decimal("0.00")},
            "PAY-2",
            "niets meer open",
        ),
        (
            {"is_own": True, "is_paid": False, "is_credited": False, "amount_open": Decimal("-45.00")},
            "PAY-2",
            "niets meer open",
        ),
        ({"is_own": True, "is_paid": False, "is_credited": False, "amount_open": Decimal("0.01")}, None, ""),
    ],
)
def test_which_invoice_may_be_paid_online(facts, rule, words):
    from billing.rules import online_payment_refusal

    refusal = online_payment_refusal("F2026-000001", **facts)
    assert (refusal.rule if refusal else None) == rule
    if refusal:
        assert words in refusal.message


def test_an_invoice_in_a_direct_debit_batch_is_not_paid_online_too_pay_1(invoice, travel):
    from billing.services import direct_debit

    travel("2026-04-28")
    direct_debit.gather_due_collections(actor=Actor.system("direct_debits"))
    assert invoice.direct_debits.exists()  # the bank collects it on its due date
    response = logged_in(invoice.subscriber).post(reverse("portal:pay_invoice", args=[invoice.number]), follow=True)
    [message] = messages_of(response)
    assert "PAY-1" in message and invoice.number in message and "incasso" in message
    assert checkouts_opened() == 0 and not invoice.payments.exists()
