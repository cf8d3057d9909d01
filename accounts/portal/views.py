"""Logging in and out and resetting a password: Django's own views with Flex's templates."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views import i18n

from accounts import rules, services
from flex.audit.trail import Actor
from flex.refusals import Refused


def set_language(request):
    """Django's language switch; a logged-in subscriber's choice also sets the language of their e-mail."""
    response = i18n.set_language(request)
    subscriber = getattr(request.user, "subscriber", None) if request.user.is_authenticated else None
    language = request.POST.get("language", "")
    if subscriber is not None and request.method == "POST" and language != subscriber.language:
        try:
            services.choose_language(subscriber.pk, language=language, actor=Actor.of_user(request.user))
        except Refused as refused:
            messages.error(request, str(refused.refusal))
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class MoveForm(forms.Form):
    moved_in_on = forms.DateField(label=_("Move date"), widget=forms.DateInput(attrs={"type": "date"}))
    postcode = forms.CharField(label=_("Postcode"), max_length=7)
    house_number = forms.IntegerField(label=_("House number"), min_value=1, max_value=rules.MAX_HOUSE_NUMBER)
    house_number_suffix = forms.CharField(label=_("Suffix"), max_length=10, required=False)
    street = forms.CharField(label=_("Street"), max_length=200)
    city = forms.CharField(label=_("City"), max_length=100)


@login_required
def report_move(request):
    """The subscriber reports a new physical address with its move date; late reports are flagged (REG-8)."""
    subscriber = getattr(request.user, "subscriber", None)
    if subscriber is None:
        raise Http404("only subscribers have an address")
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address = services.report_move(subscriber, actor=Actor.of_user(request.user), **form.cleaned_data)
        except Refused as refused:
            refusal = refused.refusal
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
        else:
            if address.is_reported_late:
                messages.warning(
                    request,
                    _(
                        "Thank you. Please note: a move must be reported within 4 weeks (REG-8, terms art. 2.3.4); "
                        "this report was late and our team has been told."
                    ),
                )
            else:
                messages.success(request, _("Thank you: your new address has been recorded."))
            return redirect("portal:dashboard")
    addresses = list(subscriber.addresses.order_by("-moved_in_on", "-id"))
    return render(request, "accounts/report_move.html", {"form": form, "addresses": addresses})
