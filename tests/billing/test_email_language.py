"""PAY-8: every e-mail goes out in the subscriber's language: the one they signed up in, or switched to."""

from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Subscriber
from billing import services
from billing.management.demo_applications import verify_identity
from tests.signup import APPLICANT, draft


def prepayment_invoice_mail(world, n=0):
    application = draft(world, n)
    services.choose_payment(application.pk, method="card", accepts_terms=True, ip_address=None, actor=APPLICANT)
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    mail.outbox.clear()
    services.start_prepayment(application.pk, return_url="/return", actor=APPLICANT)
    (message,) = mail.outbox
    return application, message


def test_pay_8_an_english_sign_up_gets_english_e_mail(signup):
    with translation.override("en"):
        application, message = prepayment_invoice_mail(signup)
    assert application.subscriber.language == "en"
    invoice = application.invoices.get()
    assert message.subject == f"Flex invoice {invoice.number}"
    assert "Here is your invoice" in message.body and "Total incl. VAT" in message.body


def test_pay_8_a_dutch_sign_up_gets_dutch_e_mail_whatever_language_the_sender_runs_in(signup):
    with translation.override("nl"):
        application = draft(signup)
    services.choose_payment(application.pk, method="card", accepts_terms=True, ip_address=None, actor=APPLICANT)
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    mail.outbox.clear()
    with translation.override("en"):  # a worker's own language does not decide
        services.start_prepayment(application.pk, return_url="/return", actor=APPLICANT)
    (message,) = mail.outbox
    assert message.subject.startswith("Flex-factuur ")
    assert "Totaal incl. btw" in message.body


def test_pay_8_switching_the_portal_to_english_switches_the_e_mail_too(signup):
    with translation.override("nl"):
        application = draft(signup)
    client = Client()
    assert client.login(email=application.subscriber.email, password="Een-goed-wachtwoord-1")
    client.post(reverse("set_language"), {"language": "en", "next": reverse("portal:dashboard")})
    assert Subscriber.objects.get(pk=application.subscriber.pk).language == "en"
    client.post(reverse("set_language"), {"language": "xx", "next": reverse("portal:dashboard")})
    assert Subscriber.objects.get(pk=application.subscriber.pk).language == "en"


def test_pay_8_the_invoice_lines_are_written_in_the_subscribers_language(signup):
    with translation.override("nl"):
        application, message = prepayment_invoice_mail(signup)
    descriptions = list(application.invoices.get().lines.values_list("description", flat=True))
    assert descriptions == ["Stereo – maandbedrag × 3 maanden (minimale looptijd)"]
    assert descriptions[0] in message.body
