"""The subscriber's dashboard: their subscription, devices and invoices."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from billing import selectors


@login_required
def dashboard(request):
    subscriber = getattr(request.user, "subscriber", None)
    subscription = selectors.current_subscription(subscriber) if subscriber else None
    context = {
        "subscriber": subscriber,
        "subscription": subscription,
        "units": list(selectors.subscription_units(subscription)) if subscription else [],
        "addons": list(selectors.active_addons(subscription)) if subscription else [],
        "monthly_fee": selectors.monthly_fee(subscription) if subscription else None,
        "invoices": list(selectors.subscriber_invoices(subscriber)) if subscriber else [],
        "application": selectors.open_application(subscriber) if subscriber else None,
    }
    return render(request, "billing/dashboard.html", context)
