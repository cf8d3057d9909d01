"""The sign-up wizard and the application's status page.

Steps: 1 plan and add-ons → 2 details and address (creates the draft and the login) → 3 terms and
payment method → 4 identity (iDIN) → 5 prepayment → submit → status page. Every step calls one
service; a refusal is shown on the field it concerns, with its rule and article.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import rules as account_rules
from accounts.models import SubscriberKind
from billing import selectors, services
from billing.direct_debit.mandate_text import mandate_text
from billing.models import Application, ApplicationStatus, InvoiceKind, PaymentMethod
from devices.models import Plan, Product
from devices.selectors import plans_with_items, price_in_force, products_with_prices
from flex import clock
from flex.audit.trail import Actor
from flex.client_ip import client_ip
from flex.refusals import Refused
from flex.rulebook import article_of, localised_article

SESSION_KEY = "signup_choice"
STEPS = [
    (1, gettext_lazy("Plan")),
    (2, gettext_lazy("Details")),
    (3, gettext_lazy("Terms and payment")),
    (4, gettext_lazy("Identity")),
    (5, gettext_lazy("Prepayment")),
]


def _render(request, template: str, context: dict):
    return render(request, template, {"steps": STEPS, **context})


def _show_refusal(form: forms.Form, refused: Refused) -> None:
    refusal = refused.refusal
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, str(refusal))


def _addon_products():
    return list(products_with_prices().filter(is_addon_eligible=True, is_active=True).order_by("name", "colour"))


class ChoiceForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.filter(is_available=True), widget=forms.RadioSelect, label=gettext_lazy("Plan")
    )

    def __init__(self, *args, addons: list[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.addons = addons
        for product in addons:
            self.fields[f"addon_{product.pk}"] = forms.IntegerField(
                label=str(product), min_value=0, max_value=4, initial=0, required=False
            )

    def chosen_addons(self) -> list[Product]:
        chosen = []
        for product in self.addons:
            chosen += [product] * (self.cleaned_data.get(f"addon_{product.pk}") or 0)
        return chosen


def choose_plan(request):
    """Step 1: a plan and up to 4 add-ons, with the monthly total incl. VAT (PLAN-2, PLAN-4)."""
    addons = _addon_products()
    form = ChoiceForm(request.POST or None, addons=addons)
    if request.method == "POST" and form.is_valid():
        chosen = form.chosen_addons()
        try:
            services.validate_choice(form.cleaned_data["plan"], chosen)
        except Refused as refused:
            _show_refusal(form, refused)
        else:
            request.session[SESSION_KEY] = {"plan": form.cleaned_data["plan"].pk, "addons": [p.pk for p in chosen]}
            return redirect("portal:signup_details")
    today = clock.today()
    plans = list(plans_with_items().filter(is_available=True))
    context = {
        "form": form,
        "plans": plans,
        "addon_rows": [(form[f"addon_{p.pk}"], p, price_in_force(p, today)) for p in addons],
        "max_addons": settings.FLEX["MAX_ADDONS_HELD"],
        "step": 1,
    }
    return _render(request, "billing/signup/choose_plan.html", context)


class DetailsForm(forms.Form):
    kind = forms.ChoiceField(
        choices=SubscriberKind.choices,
        initial=SubscriberKind.PERSON,
        widget=forms.RadioSelect,
        label=gettext_lazy("I apply as"),
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100, required=False)
    date_of_birth = forms.DateField(
        label=gettext_lazy("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    organisation_name = forms.CharField(label=gettext_lazy("Organisation name"), max_length=200, required=False)
    kvk_number = forms.CharField(label=gettext_lazy("KvK number"), max_length=8, required=False)
    vat_number = forms.CharField(
        label=gettext_lazy("VAT number"),
        max_length=24,
        required=False,
        help_text=gettext_lazy(
            "For a business: the VAT identification number we print on your invoices, like NL123456789B01. "
            "Leave it empty if you have none."
        ),
    )
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=30, required=False)
    postcode = forms.CharField(label=gettext_lazy("Postcode"), max_length=7)
    house_number = forms.IntegerField(
        label=gettext_lazy("House number"), min_value=1, max_value=account_rules.MAX_HOUSE_NUMBER
    )
    house_number_suffix = forms.CharField(label=gettext_lazy("Suffix"), max_length=10, required=False)
    street = forms.CharField(label=gettext_lazy("Street"), max_length=200)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100)
    password = forms.CharField(label=gettext_lazy("Choose a password"), max_length=128, widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("kind") == SubscriberKind.PERSON:
            for name in ("first_name", "last_name", "date_of_birth"):
                if not data.get(name):
                    self.add_error(name, _("This field is required."))
        elif data.get("kind") == SubscriberKind.ORGANISATION:
            for name in ("organisation_name", "kvk_number"):
                if not data.get(name):
                    self.add_error(name, _("This field is required."))
        if data.get("vat_number") and (refusal := account_rules.vat_number_refusal(data["vat_number"])):
            self.add_error("vat_number", str(refusal))
        if data.get("password"):
            try:
                validate_password(data["password"])
            except ValidationError as error:
                self.add_error("password", error)
        return data


def _choice(request) -> tuple[Plan, list[Product]] | None:
    choice = request.session.get(SESSION_KEY)
    if not choice:
        return None
    plan = Plan.objects.filter(pk=choice["plan"]).first()
    products = {p.pk: p for p in Product.objects.filter(pk__in=choice["addons"])}
    if plan is None or any(pk not in products for pk in choice["addons"]):
        return None
    return plan, [products[pk] for pk in choice["addons"]]


def details(request):
    """Step 2: who applies, where they live (REG-1), and the login; creates the draft application."""
    choice = _choice(request)
    if choice is None:
        return redirect("portal:signup")
    plan, addons = choice
    subscriber = getattr(request.user, "subscriber", None) if request.user.is_authenticated else None
    # A logged-in subscriber applies with the details on file; anyone else fills in the form.
    form = DetailsForm(request.POST or None) if subscriber is None else None
    if request.method == "POST" and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {}
        try:
            application = services.start_application(
                services.Applicant(**{k: v for k, v in data.items() if k != "password" and v is not None})
                if form is not None
                else None,
                plan=plan,
                addons=addons,
                password=data.get("password"),
                user=request.user if subscriber is not None else None,
                actor=Actor.of_user(request.user) if subscriber is not None else Actor.system("signup"),
            )
        except Refused as refused:
            if form is None:
                messages.error(request, str(refused.refusal))
                return redirect("portal:dashboard")
            _show_refusal(form, refused)
        else:
            if subscriber is None:
                login(request, application.subscriber.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(SESSION_KEY, None)
            return redirect("portal:signup_payment", reference=application.reference)
    context = {
        "form": form,
        "plan": plan,
        "addons": addons,
        "monthly_total": services.monthly_total(plan, addons),
        "subscriber": subscriber,
        "step": 2,
    }
    return _render(request, "billing/signup/details.html", context)


def _own_application(request, reference: str) -> Application:
    subscriber = getattr(request.user, "subscriber", None)
    application = (
        Application.objects.select_related("plan", "subscriber", "subscription", "shipment")
        .filter(reference=reference, subscriber=subscriber)
        .first()
        if subscriber
        else None
    )
    if application is None:
        raise Http404("no such application of yours")
    return application


class PaymentForm(forms.Form):
    payment_method = forms.ChoiceField(
        choices=[
            (PaymentMethod.SEPA_DIRECT_DEBIT.value, PaymentMethod.SEPA_DIRECT_DEBIT.label),
            (PaymentMethod.CARD.value, PaymentMethod.CARD.label),
        ],
        widget=forms.RadioSelect,
        initial=PaymentMethod.SEPA_DIRECT_DEBIT,
        label=gettext_lazy("Monthly fees by"),
    )
    iban = forms.CharField(label=gettext_lazy("IBAN"), max_length=42, required=False)
    account_holder = forms.CharField(label=gettext_lazy("Account holder"), max_length=200, required=False)
    accept_terms = forms.BooleanField(label=gettext_lazy("I accept the general terms"), required=False)


@login_required
def payment(request, reference: str):
    """Step 3: the current terms (REG-2) and the payment method with its SEPA mandate (PAY-1, REG-7)."""
    application = _own_application(request, reference)
    if application.status != ApplicationStatus.DRAFT:
        return redirect("portal:application", reference=reference)
    form = PaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.choose_payment(
                application.pk,
                method=form.cleaned_data["payment_method"],
                iban=form.cleaned_data["iban"],
                account_holder=form.cleaned_data["account_holder"],
                accepts_terms=form.cleaned_data["accept_terms"],
                ip_address=client_ip(request),
                actor=Actor.of_user(request.user),
            )
        except Refused as refused:
            _show_refusal(form, refused)
        else:
            return redirect("portal:signup_identity", reference=reference)
    context = {
        "application": application,
        "form": form,
        "terms": services.current_terms(),
        "creditor": settings.FLEX_CREDITOR,
        "mandate_text": mandate_text(reference=f"FLEX-{application.reference}"),
        "step": 3,
    }
    return _render(request, "billing/signup/payment.html", context)


@login_required
def identity(request, reference: str):
    """Step 4: to the identity provider (iDIN, REG-7) and back."""
    application = _own_application(request, reference)
    if application.status != ApplicationStatus.DRAFT:
        return redirect("portal:application", reference=reference)
    if request.method == "POST":
        return_url = request.build_absolute_uri(reverse("portal:signup_identity_return", args=[reference]))
        try:
            url = services.start_identity_check(
                application.pk, return_url=return_url, actor=Actor.of_user(request.user)
            )
        except Refused as refused:
            messages.error(request, str(refused.refusal))
            return redirect("portal:signup_identity", reference=reference)
        return HttpResponseRedirect(url)
    return _render(request, "billing/signup/identity.html", {"application": application, "step": 4})


@login_required
def identity_return(request, reference: str):
    application = _own_application(request, reference)
    try:
        result = services.complete_identity_check(
            application.pk, transaction_id=request.GET.get("trxid", ""), actor=Actor.of_user(request.user)
        )
    except Refused as refused:
        messages.error(request, str(refused.refusal))
        return redirect("portal:signup_identity", reference=reference)
    if result is None:
        # PRIV-5: the applicant turned out to be under 16 and everything about them is gone.
        return _render(request, "billing/signup/refused_minor.html", {"rule": "REG-1"})
    if result.status == ApplicationStatus.REFUSED:
        return redirect("portal:application", reference=reference)
    return redirect("portal:signup_prepayment", reference=reference)


@login_required
def prepayment(request, reference: str):
    """Step 5: the first 3 monthly fees upfront (TERM-1, REG-7), then submit."""
    application = _own_application(request, reference)
    if application.status != ApplicationStatus.DRAFT:
        return redirect("portal:application", reference=reference)
    if request.method == "POST":
        return_url = request.build_absolute_uri(reverse("portal:signup_prepayment", args=[reference]))
        try:
            url = services.start_prepayment(application.pk, return_url=return_url, actor=Actor.of_user(request.user))
        except Refused as refused:
            messages.error(request, str(refused.refusal))
            return redirect("portal:signup_prepayment", reference=reference)
        return HttpResponseRedirect(url)
    if application.prepayment_reference:
        try:
            services.refresh_prepayment(application.pk, actor=Actor.of_user(request.user))
        except Refused as refused:
            messages.warning(request, str(refused.refusal))
    invoice = application.invoices.filter(kind=InvoiceKind.PREPAYMENT).prefetch_related("lines").first()
    addons = [a.product for a in application.addons.select_related("product")]
    context = {
        "application": application,
        "invoice": invoice,
        "monthly_total": services.monthly_total(application.plan, addons),
        "step": 5,
    }
    return _render(request, "billing/signup/prepayment.html", context)


@login_required
@require_POST
def submit(request, reference: str):
    application = _own_application(request, reference)
    try:
        services.submit_application(application.pk, actor=Actor.of_user(request.user))
    except Refused as refused:
        messages.error(request, str(refused.refusal))
        return redirect("portal:signup_prepayment", reference=reference)
    messages.success(request, _("Thank you: your application has been submitted."))
    return redirect("portal:application", reference=reference)


@login_required
def application_status(request, reference: str):
    """Where the application stands, in plain language: checks, review, decision, shipping, delivery."""
    application = _own_application(request, reference)
    context = {
        "application": application,
        "checks": list(application.checks.all()),
        "invoices": list(application.invoices.prefetch_related("lines").order_by("number")),
        "stage": selectors.application_stage(application),
        "refusal_article": localised_article(article_of(application.refusal_rule)) if application.refusal_rule else "",
    }
    return _render(request, "billing/signup/status.html", context)


@login_required
@require_POST
def withdraw(request, reference: str):
    application = _own_application(request, reference)
    try:
        services.withdraw_application(application.pk, actor=Actor.of_user(request.user), reason="by the applicant")
    except Refused as refused:
        messages.error(request, str(refused.refusal))
    else:
        messages.success(request, _("Your application has been withdrawn; a paid prepayment is refunded."))
    return redirect("portal:application", reference=reference)
