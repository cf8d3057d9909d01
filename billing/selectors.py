"""Reads about subscriptions and invoices that more than one caller needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import (
    LIVE_STATUSES,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Subscription,
    SubscriptionAddOn,
    SubscriptionUnit,
)
from devices.models import Product, ProductPrice
from flex import clock


def current_subscription(subscriber) -> Subscription | None:
    """The subscriber's pending or live subscription, else the latest one (REG-9: at most one live)."""
    subscriptions = Subscription.objects.filter(subscriber=subscriber).select_related("plan")
    return subscriptions.filter(status__in=LIVE_STATUSES).first() or subscriptions.first()


def subscription_units(subscription: Subscription) -> QuerySet[SubscriptionUnit]:
    return (
        SubscriptionUnit.objects.filter(subscription=subscription)
        .select_related("unit__product")
        .order_by("returned_at", "unit__product__name")
    )


def active_addons(subscription: Subscription) -> QuerySet[SubscriptionAddOn]:
    return subscription.addons.filter(removed_on__isnull=True).select_related("product")


def subscriber_invoices(subscriber) -> QuerySet[Invoice]:
    """The subscriber's invoices and credit notes, newest first (one index range on the invoice's customer)."""
    return Invoice.objects.filter(subscriber=subscriber).order_by("-issue_date", "-number")


def subscriber_payments(subscriber) -> QuerySet[Payment]:
    """The subscriber's payments, newest first (the index `payment_subscriber_order`), each with the
    invoices it paid (one more query for a page of them)."""
    return (
        Payment.objects.filter(subscriber=subscriber)
        .order_by("-received_at", "-id")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by("invoice__due_date", "id"),
            )
        )
    )


def price_on(product: Product, day: date) -> ProductPrice:
    """The price row in force on `day` (PAY-6: prices are dated)."""
    price = product.prices.filter(valid_from__lte=day).order_by("-valid_from").first()
    if price is None:
        raise LookupError(f"{product} has no price on {day}")
    return price


def monthly_fee(subscription: Subscription, day: date | None = None) -> Decimal:
    """Plan fee plus the fees of the add-ons held, incl. VAT."""
    day = day or clock.today()
    total = subscription.plan.monthly_fee
    for addon in active_addons(subscription):
        total += price_on(addon.product, day).addon_monthly_fee or Decimal("0")
    return total


def application_stage(application) -> dict[str, str]:
    """Where an application stands, for the applicant: a key for styling and a sentence."""
    from django.utils.translation import gettext as _

    from billing.models import ApplicationStatus

    shipment = application.shipment
    subscription = application.subscription
    if shipment is not None and shipment.status == "delivered":
        day = subscription.start_date if subscription else None
        return {
            "key": "delivered",
            "text": _("Delivered on %(day)s. Enjoy!") % {"day": f"{day:%d-%m-%Y}" if day else ""},
        }
    if shipment is not None and shipment.status == "shipped":
        from devices.adapters.carrier import carrier

        return {
            "key": "shipped",
            "text": _("Shipped with %(carrier)s, tracking code %(code)s.")
            % {"carrier": shipment.carrier, "code": shipment.tracking_code},
            "tracking_url": carrier().tracking_url(shipment.tracking_code),
        }
    AS = ApplicationStatus  # noqa: N806
    texts = {
        AS.DRAFT: _("Not submitted yet: finish the steps of the sign-up."),
        AS.SUBMITTED: _("Submitted: the checks start in a moment."),
        AS.CHECKING: _("Checks running: identity, credit, payment and address."),
        AS.AWAITING_REVIEW: _("Under review by our team; you hear from us by e-mail."),
        AS.ACCEPTED: _("Accepted: your subscription is concluded and your devices are being reserved."),
        AS.AWAITING_STOCK: _("Accepted: one of your devices is out of stock; we ship as soon as it arrives."),
        AS.ALLOCATED: _("Accepted: your devices are being packed at the warehouse."),
        AS.REFUSED: _("Refused."),
        AS.WITHDRAWN: _("Withdrawn by you."),
    }
    return {"key": application.status, "text": texts[application.status]}


def open_application(subscriber):
    """The subscriber's latest application that is not delivered yet, for the dashboard's link."""
    from billing.models import Application

    return (
        Application.objects.filter(subscriber=subscriber)
        .exclude(shipment__status="delivered")
        .order_by("-created_at", "-id")
        .first()
    )


MONEY = DecimalField(max_digits=12, decimal_places=2)


def _received_for(invoice_ref: str) -> Coalesce:
    """What the payments that still stand (received, not reversed or refunded) have put on the invoice
    `invoice_ref` points at (a payment can settle several invoices, an invoice be paid in parts)."""
    received = (
        PaymentAllocation.objects.filter(
            invoice=OuterRef(invoice_ref), payment__status=PaymentStatus.RECEIVED, released_on__isnull=True
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(received, output_field=MONEY), Value(Decimal("0.00")), output_field=MONEY)


def with_amount_open(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Each invoice with `amount_paid` (payments received and not reversed or refunded) and
    `amount_open` (what is left to pay), computed in the same query: a list page stays one query."""
    return invoices.annotate(amount_paid=_received_for("pk")).annotate(amount_open=F("gross_total") - F("amount_paid"))


def invoice_rows(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Invoices for a list the subscriber sees: what is open on each, and how it gets paid (the
    subscription's payment method), in the list's one query."""
    return with_amount_open(invoices).select_related("subscription")


def invoice_document(invoices: QuerySet[Invoice]) -> Invoice | None:
    """The one invoice of `invoices` with everything its PDF names, in two queries: the invoice with its
    issuer, the invoice it corrects, its customer's language and payment method, and what is paid
    on it (and on the invoice it corrects); then its lines."""
    return (
        with_amount_open(invoices)
        .annotate(corrected_amount_paid=_received_for("corrects"))
        .select_related("issuer", "corrects", "subscriber", "subscription", "application")
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("id")))
        .first()
    )
