"""E-mails about money (PAY-8, terms art. 12.4: all information about the subscription goes out by e-mail),
written in the language the subscriber chose (signed up in, or switched to in the portal)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import Application, ApplicationStatus, Invoice, InvoiceKind, PaymentMethod
from flex import clock


def send_invoice(invoice_id: int) -> bool:
    """Send the invoice to the subscriber's registered address once; False when it was already sent."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("subscription__subscriber", "application__subscriber")
            .get(pk=invoice_id)
        )
        if invoice.emailed_at is not None:
            return False
        subscriber = (invoice.subscription or invoice.application).subscriber
        with translation.override(subscriber.language):
            # For a SEPA payer the invoice e-mail is the pre-notification: amount and collection date at
            # least 14 days ahead (SEPA Core rulebook, PT-03.10; terms art. 8.2), sent with the invoice.
            direct_debit = (
                invoice.kind == InvoiceKind.MONTHLY
                and invoice.subscription is not None
                and invoice.subscription.payment_method == PaymentMethod.SEPA_DIRECT_DEBIT
            )
            # A card payer's invoice is charged to the card on its due date (PAY-1), no pre-notification.
            card = (
                invoice.kind == InvoiceKind.MONTHLY
                and invoice.subscription is not None
                and invoice.subscription.payment_method == PaymentMethod.CARD
            )
            body = render_to_string(
                "billing/email/invoice.txt",
                {
                    "invoice": invoice,
                    "lines": invoice.lines.all(),
                    "subscriber": subscriber,
                    "direct_debit": direct_debit,
                    "card": card,
                    "creditor": settings.FLEX_CREDITOR,
                },
            )
            subject = _("Flex invoice %(number)s") % {"number": invoice.number}
        EmailMessage(subject=subject, body=body, to=[subscriber.email]).send()
        invoice.emailed_at = clock.now()
        invoice.save(update_fields=["emailed_at"])
    return True


def send_application_decision(application_id: int) -> bool:
    """Tell the applicant the decision by e-mail (PAY-8): the order confirmation with what ships and
    what it costs, or the refusal with the rule and article. Sent once per decision."""
    from flex.rulebook import article_of, localised_article

    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("subscriber", "plan")
            .get(pk=application_id)
        )
        accepted = application.status not in (ApplicationStatus.REFUSED, ApplicationStatus.WITHDRAWN)
        if application.decision_emailed_at is not None or application.decided_at is None:
            return False
        template = "billing/email/order_confirmation.txt" if accepted else "billing/email/refusal.txt"
        with translation.override(application.subscriber.language):
            context = {
                "application": application,
                "subscriber": application.subscriber,
                "addons": [a.product for a in application.addons.select_related("product").order_by("id")],
                "article": localised_article(article_of(application.refusal_rule)) if application.refusal_rule else "",
            }
            body = render_to_string(template, context)
            subject = (
                _("Flex: your order %(reference)s is accepted")
                if accepted
                else _("Flex: your application %(reference)s")
            ) % {"reference": application.reference}
        EmailMessage(subject=subject, body=body, to=[application.subscriber.email]).send()
        application.decision_emailed_at = clock.now()
        application.save(update_fields=["decision_emailed_at"])
    return True


def _portal(path: str) -> str:
    """A link into the portal for an e-mail (FLEX_SITE_URL: the portal's address as subscribers reach it)."""
    return settings.FLEX_SITE_URL.rstrip("/") + path


def send_recollection(collection_id: int) -> bool:
    """The new pre-notification of a collection tried once more after insufficient funds (AM04; PAY-8,
    SEPA Core rulebook PT-03.10): amount and new collection date, in the subscriber's language, at least
    the pre-notification period before that date (the import chose the date so)."""
    from django.urls import reverse

    from billing.models import DirectDebitCollection

    collection = DirectDebitCollection.objects.select_related("invoice__subscriber", "batch", "mandate").get(
        pk=collection_id
    )
    subscriber = collection.invoice.subscriber
    with translation.override(subscriber.language):
        body = render_to_string(
            "billing/email/recollection.txt",
            {
                "subscriber": subscriber,
                "collection": collection,
                "invoice": collection.invoice,
                "creditor": settings.FLEX_CREDITOR,
                "pay_url": _portal(reverse("portal:pay_invoice", args=[collection.invoice.number])),
            },
        )
        subject = _("Flex: we will collect invoice %(number)s again") % {"number": collection.invoice.number}
    EmailMessage(subject=subject, body=body, to=[subscriber.email]).send()
    return True


def send_collection_stopped(collection_id: int, ask_for_mandate: bool) -> bool:
    """The bank could not collect an invoice and Flex stops collecting it (PAY-1, PAY-2, PAY-8): the
    subscriber is asked to pay it in the portal, or (the mandate no longer works) to give a new one."""
    from django.urls import reverse

    from billing import selectors
    from billing.models import DirectDebitCollection

    collection = DirectDebitCollection.objects.select_related("invoice__subscriber", "mandate").get(pk=collection_id)
    invoice = selectors.with_amount_open(Invoice.objects.filter(pk=collection.invoice_id)).get()
    subscriber = collection.invoice.subscriber
    with translation.override(subscriber.language):
        body = render_to_string(
            "billing/email/collection_stopped.txt",
            {
                "subscriber": subscriber,
                "collection": collection,
                "invoice": invoice,
                "ask_for_mandate": ask_for_mandate,
                "pay_url": _portal(reverse("portal:pay_invoice", args=[invoice.number])),
                "mandate_url": _portal(reverse("portal:payment_method")),
            },
        )
        subject = _("Flex: please pay invoice %(number)s") % {"number": invoice.number}
    EmailMessage(subject=subject, body=body, to=[subscriber.email]).send()
    return True


def _send_in_language(subscriber, template: str, subject, context: dict) -> None:
    """Render and send in the subscriber's language (PAY-8)."""
    with translation.override(subscriber.language):
        body = render_to_string(template, {"subscriber": subscriber, **context})
        subject = str(subject())
    EmailMessage(subject=subject, body=body, to=[subscriber.email]).send()


def _pay_url(invoice: Invoice) -> str:
    from django.urls import reverse

    return _portal(reverse("portal:pay_invoice", args=[invoice.number]))


def send_card_charge_stopped(charge_id: int) -> bool:
    """The last attempt to charge an invoice to the card failed (PAY-1 retry policy): ask the subscriber
    to pay it online or update the card (PAY-8). Not sent when the invoice got paid meanwhile."""
    from billing import selectors
    from billing.models import CardCharge

    charge = CardCharge.objects.select_related("invoice", "subscriber").get(pk=charge_id)
    invoice = selectors.with_amount_open(Invoice.objects.filter(pk=charge.invoice_id)).get()
    if invoice.status != "open" or invoice.amount_open <= 0:
        return False
    _send_in_language(
        charge.subscriber,
        "billing/email/card_charge_stopped.txt",
        lambda: _("Flex: we could not charge invoice %(number)s to your card") % {"number": invoice.number},
        {"invoice": invoice, "charge": charge, "pay_url": _pay_url(invoice)},
    )
    return True


def send_card_chargeback(charge_id: int) -> bool:
    """A card payment of an invoice was charged back: the invoice is open again; ask the subscriber to
    pay it (PAY-8)."""
    from billing.models import CardCharge

    charge = CardCharge.objects.select_related("invoice", "subscriber").get(pk=charge_id)
    return _send_chargeback(charge.subscriber, [charge.invoice], charge.amount)


def send_payment_chargeback(payment_id: int) -> bool:
    """A payment made at the checkout was charged back: the invoices it paid are open again (PAY-8)."""
    from billing.models import Payment

    payment = Payment.objects.select_related("subscriber").get(pk=payment_id)
    invoices = list(Invoice.objects.filter(allocations__payment=payment).distinct().order_by("number"))
    return _send_chargeback(payment.subscriber, invoices, payment.amount)


def _send_chargeback(subscriber, invoices: list, amount) -> bool:
    reopened = [invoice for invoice in invoices if invoice.status == "open"]
    _send_in_language(
        subscriber,
        "billing/email/chargeback.txt",
        lambda: _("Flex: your card payment was reversed"),
        {"invoices": reopened, "amount": amount, "pay_urls": [(i, _pay_url(i)) for i in reopened]},
    )
    return True
