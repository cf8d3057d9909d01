"""The sandbox partners' own pages, as the applicant sees them at the bank and the payment provider.

Mounted under /sandbox/ only in sandbox mode (FLEX_SANDBOX) while a sandbox implementation is
configured; a real provider serves these pages itself.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.core import signing
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.adapters.identity import SANDBOX_SALT, SandboxIdentityProvider
from accounts.rules import MAX_HOUSE_NUMBER
from billing.adapters.payments import SandboxPaymentProvider, payment_provider
from devices.models import Shipment, TrackingEvent


class BankConsentForm(forms.Form):
    name = forms.CharField(max_length=200)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    postcode = forms.CharField(max_length=7)
    house_number = forms.IntegerField(min_value=1, max_value=MAX_HOUSE_NUMBER)


@require_http_methods(["GET", "POST"])
def identity(request):
    session = request.GET.get("session", "")
    try:
        claimed = signing.loads(session, salt=SANDBOX_SALT, max_age=3600)
    except signing.BadSignature:
        raise Http404("unknown or expired identity session") from None
    if request.method == "POST":
        form = BankConsentForm(request.POST)
        if request.POST.get("decision") == "cancel":
            return HttpResponseRedirect(
                SandboxIdentityProvider.complete(
                    session, confirmed=False, name="", date_of_birth=date.min, postcode="", house_number=0
                )
            )
        if form.is_valid():
            return HttpResponseRedirect(SandboxIdentityProvider.complete(session, confirmed=True, **form.cleaned_data))
    else:
        form = BankConsentForm(
            initial={
                "name": claimed["name"],
                "date_of_birth": claimed["date_of_birth"],
                "postcode": claimed["postcode"],
                "house_number": claimed["house_number"],
            }
        )
    return render(request, "sandbox/identity.html", {"form": form, "claimed": claimed})


@require_http_methods(["GET", "POST"])
def payment(request, payment_id: str):
    provider = payment_provider()
    if not isinstance(provider, SandboxPaymentProvider):
        raise Http404("the payment provider is not the sandbox")
    state = provider.checkout(payment_id)
    if state is None:
        raise Http404("unknown or expired checkout")
    if request.method == "POST":
        method = {"ideal": "ideal", "card": "card"}.get(request.POST.get("decision", ""))
        return HttpResponseRedirect(provider.pay(payment_id, method=method))
    return render(request, "sandbox/payment.html", {"state": state, "payment_id": payment_id})


def tracking(request, tracking_code: str):
    """The carrier's public tracking page: the events it reported for this parcel, newest first."""

    events = list(
        TrackingEvent.objects.filter(shipment__tracking_code=tracking_code)
        .select_related("shipment")
        .order_by("-occurred_at", "-id")
    )
    if not events and not Shipment.objects.filter(tracking_code=tracking_code).exists():
        raise Http404("unknown tracking code")
    return render(request, "sandbox/tracking.html", {"tracking_code": tracking_code, "events": events})


urlpatterns = [
    path("identity/", identity, name="identity"),
    path("track/<str:tracking_code>/", tracking, name="tracking"),
    path("payments/<str:payment_id>/", payment, name="payment"),
]
