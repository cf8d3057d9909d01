"""The subscriber's pages: the dashboard (subscription, devices, latest invoices) and every invoice."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from billing import selectors
from billing.models import Invoice

DASHBOARD_INVOICES = 6
INVOICES_PER_PAGE = 24


@login_required
def dashboard(request):
    subscriber = getattr(request.user, "subscriber", None)
    subscription = selectors.current_subscription(subscriber) if subscriber else None
    invoices = selectors.subscriber_invoices(subscriber) if subscriber else None
    latest = list(invoices[: DASHBOARD_INVOICES + 1]) if invoices is not None else []
    context = {
        "subscriber": subscriber,
        "subscription": subscription,
        "units": list(selectors.subscription_units(subscription)) if subscription else [],
        "addons": list(selectors.active_addons(subscription)) if subscription else [],
        "monthly_fee": selectors.monthly_fee(subscription) if subscription else None,
        "invoices": latest[:DASHBOARD_INVOICES],
        "more_invoices": len(latest) > DASHBOARD_INVOICES,
        "application": selectors.open_application(subscriber) if subscriber else None,
    }
    return render(request, "billing/dashboard.html", context)


@login_required
def invoices(request):
    """Every invoice and credit note of the subscriber, newest first, a page at a time."""
    subscriber = getattr(request.user, "subscriber", None)
    queryset = selectors.subscriber_invoices(subscriber) if subscriber else Invoice.objects.none()
    page = Paginator(queryset, INVOICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "billing/invoices.html", {"page": page, "invoices": page.object_list})
