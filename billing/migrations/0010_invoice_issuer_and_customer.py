"""The first invoice issuer from the settings; invoices issued before this migration get the issuer and
the customer's name and address as they are now (the best record left of them at issue); active
subscriptions are invoiced from period 4 (TERM-1: the prepayment covers periods 1-3)."""

import calendar
from datetime import date

from django.conf import settings
from django.db import migrations


def _add_months(day, months):
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        import pgtrigger

        # Filling in what these invoices lacked, once; from here on the trigger refuses any change.
        with pgtrigger.ignore("billing.Invoice:issued_invoices_never_change"):
            _fill(apps)
    else:
        _fill(apps)


def _fill(apps):
    InvoiceIssuer = apps.get_model("billing", "InvoiceIssuer")
    Invoice = apps.get_model("billing", "Invoice")
    Subscription = apps.get_model("billing", "Subscription")
    Address = apps.get_model("accounts", "Address")
    issuer = InvoiceIssuer.objects.create(
        valid_from=date(2000, 1, 1), source="settings.FLEX_ISSUER at migration", **settings.FLEX_ISSUER
    )
    for invoice in Invoice.objects.filter(issuer__isnull=True).select_related("subscriber").iterator(chunk_size=2000):
        subscriber = invoice.subscriber
        if subscriber.kind == "organisation":
            name = subscriber.organisation_name
        else:
            name = f"{subscriber.first_name} {subscriber.last_name}".strip()
        address = Address.objects.filter(subscriber_id=subscriber.pk).order_by("-moved_in_on", "-id").first()
        lines = (
            f"{address.street} {address.house_number}{address.house_number_suffix}\n{address.postcode} {address.city}"
            if address
            else ""
        )
        Invoice.objects.filter(pk=invoice.pk).update(issuer=issuer, customer_name=name, customer_address=lines)
    for subscription in Subscription.objects.filter(start_date__isnull=False, invoiced_until__isnull=True):
        Subscription.objects.filter(pk=subscription.pk).update(invoiced_until=_add_months(subscription.start_date, 3))


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_monthly_invoicing"), ("accounts", "0008_disclosure_log_without_copies")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
