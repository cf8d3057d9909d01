"""E-mails about money (PAY-8, terms art. 12.4: all information about the subscription goes out by e-mail)."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from billing.models import Invoice
from flex import clock


def send_invoice(invoice_id: int) -> bool:
    """Send the invoice to the subscriber's registered address once; False when it was already sent."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("subscription__subscriber", "subscription__plan")
            .get(pk=invoice_id)
        )
        if invoice.emailed_at is not None:
            return False
        subscriber = invoice.subscription.subscriber
        with translation.override("nl"):
            body = render_to_string(
                "billing/email/invoice.txt",
                {"invoice": invoice, "lines": invoice.lines.all(), "subscriber": subscriber},
            )
        EmailMessage(subject=f"Flex factuur {invoice.number}", body=body, to=[subscriber.email]).send()
        invoice.emailed_at = clock.now()
        invoice.save(update_fields=["emailed_at"])
    return True
