"""The subscriber's payment method page: the mandate in force, and a new one for a new IBAN (PAY-1)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from billing import selectors, services
from billing.direct_debit.mandate_text import mandate_text
from billing.models import MandateStatus
from flex.audit.trail import Actor
from flex.client_ip import client_ip
from flex.refusals import Refused

SESSION_REFERENCE = "new_mandate_reference"


class NewMandateForm(forms.Form):
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    account_holder = forms.CharField(label=_("Account holder"), max_length=200)
    agree = forms.BooleanField(label=_("I agree to the mandate above"), required=False)


@login_required
def payment_method(request):
    """How the monthly fees are paid: the active mandate (reference, masked IBAN, since when), and a
    form to give a new mandate for a new account, with the mandate text agreed to (PAY-1, REG-7)."""
    subscriber = getattr(request.user, "subscriber", None)
    subscription = selectors.current_subscription(subscriber) if subscriber else None
    if subscription is None:
        raise Http404("no subscription")
    mandates = list(subscription.mandates.order_by("-signed_at", "-id")[:5])
    active = next((m for m in mandates if m.status == MandateStatus.ACTIVE), None)
    # The reference is reserved before the text is shown, so that what is agreed to is what is kept.
    reference = request.session.get(SESSION_REFERENCE) or services.reserve_mandate_reference()
    request.session[SESSION_REFERENCE] = reference
    form = NewMandateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_iban(
                subscription.pk,
                iban=form.cleaned_data["iban"],
                account_holder=form.cleaned_data["account_holder"],
                agreed=form.cleaned_data["agree"],
                ip_address=client_ip(request),
                actor=Actor.of_user(request.user),
                reference=reference,
                language=translation.get_language(),
            )
        except Refused as refused:
            refusal = refused.refusal
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
        else:
            del request.session[SESSION_REFERENCE]
            messages.success(
                request, _("Thank you: your new mandate is in force; the next collection uses your new account.")
            )
            return redirect("portal:payment_method")
    context = {
        "subscription": subscription,
        "active": active,
        "mandates": mandates,
        "form": form,
        "mandate_text": mandate_text(reference=reference),
        "reference": reference,
        "is_sepa": subscription.payment_method == "sepa_direct_debit",
    }
    return render(request, "billing/payment_method.html", context)
