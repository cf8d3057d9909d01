"""The back office's admin site: Django's, with a second factor (TOTP) for staff.

Staff need it in production and the admin role always (`accounts.login_security.needs_second_factor`).
A staff member who has an authenticator enters its code on the log-in form with the password; one who
must have one but has none yet logs in with the password and is sent to enrol before any admin page
opens: first the one-time enrolment code an administrator issued (so whoever holds the password alone
cannot claim the second factor), then the QR code and one code from the app. In sandbox mode the
enrolment code is not asked for. A session that logged in elsewhere (the portal's log-in) with the
password alone never opens the admin.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.login_security import needs_second_factor
from accounts.services import redeem_enrolment_code
from flex.audit.trail import Actor, record


class StaffAuthenticationForm(AdminAuthenticationForm):
    """E-mail, password and, for staff with an authenticator, the code it shows now."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("Enter the code from your authenticator app."),
        "otp_invalid": _("That code is wrong or has expired; enter the code your authenticator app shows now."),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not any(True for _device in devices_for_user(user, confirmed=True)):
            return  # no authenticator yet: the site sends those who need one to enrol
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if not token:
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        device = match_token(user, token)  # TOTP devices throttle repeated wrong codes
        if device is None:
            raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        user.otp_device = device  # django-otp marks the session verified on log-in


class EnrolForm(forms.Form):
    otp_token = forms.CharField(label=_("Code from your authenticator app"), max_length=16)


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(label=_("Enrolment code from an administrator"), max_length=200)
    error_messages = {
        "invalid": _("That enrolment code is wrong or was used already; ask an administrator for a new one."),
    }


ENROLMENT_SESSION_KEY = "flex_enrolment_device"


@dataclass(frozen=True)
class AdminPage:
    """A page of an app that is not a model's list (a dashboard) at `<app_label>/<route>`, listed with
    the app's models on the index and in the side bar for whoever holds `permission`; the view checks
    the permission itself too."""

    app_label: str
    route: str
    name: str
    url_name: str
    permission: str
    view: Callable[[HttpRequest], HttpResponse]


class FlexAdminSite(admin.AdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/flex/login.html"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[AdminPage] = []

    def register_page(self, page: AdminPage) -> None:
        self._pages.append(page)

    def get_app_list(self, request: HttpRequest, app_label=None):
        app_dict = self._build_app_dict(request, app_label)
        for page in self._pages:
            app = app_dict.get(page.app_label)
            if app is None or not request.user.has_perm(page.permission):
                continue
            app["models"].append(
                {
                    "model": None,
                    "name": page.name,
                    "object_name": page.url_name,
                    "perms": {"view": True},
                    "admin_url": reverse(f"{self.name}:{page.url_name}", current_app=self.name),
                    "add_url": None,
                    "view_only": True,
                }
            )
        app_list = sorted(app_dict.values(), key=lambda app: app["name"].lower())
        for app in app_list:
            app["models"].sort(key=lambda model: model["name"])
        return app_list

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not needs_second_factor(request.user) or request.user.is_verified()

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        user = request.user
        if (
            request.method == "GET"
            and user.is_authenticated
            and needs_second_factor(user)
            and not user.is_verified()
            and not any(True for _device in devices_for_user(user, confirmed=True))
        ):
            return HttpResponseRedirect(reverse("admin:second_factor"))
        return super().login(request, extra_context)

    def get_urls(self):
        pages = [
            path(f"{page.app_label}/{page.route}", self.admin_view(page.view), name=page.url_name)
            for page in self._pages
        ]
        return [path("second-factor/", self.second_factor, name="second_factor"), *pages, *super().get_urls()]

    def _start_enrolment(self, request: HttpRequest, user) -> TOTPDevice:
        """A fresh key for this session only: a key shown before the enrolment code was given could be
        copied by whoever held the password."""
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
        request.session[ENROLMENT_SESSION_KEY] = device.pk
        return device

    def _enrolment_code(self, request: HttpRequest, user) -> HttpResponse:
        """Before any key is shown: the one-time code an admin issued (Users → action "Issue a
        second-factor enrolment code"), so the password alone cannot claim the second factor."""
        form = EnrolmentCodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device := redeem_enrolment_code(user.pk, form.cleaned_data["enrolment_code"]):
                request.session[ENROLMENT_SESSION_KEY] = device.pk
                return HttpResponseRedirect(reverse("admin:second_factor"))
            form.add_error("enrolment_code", EnrolmentCodeForm.error_messages["invalid"])
        context = {**self.each_context(request), "title": _("Set up your second factor"), "code_form": form}
        return render(request, "admin/flex/second_factor.html", context)

    @method_decorator([never_cache, csrf_protect])
    def second_factor(self, request: HttpRequest) -> HttpResponse:
        """Enrol an authenticator: the QR code (and its key for typing in), then one code to confirm."""
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return HttpResponseRedirect(reverse("admin:login"))
        if user.is_verified() or any(True for _device in devices_for_user(user, confirmed=True)):
            return HttpResponseRedirect(reverse("admin:index"))
        device = TOTPDevice.objects.filter(
            pk=request.session.get(ENROLMENT_SESSION_KEY) or 0, user=user, confirmed=False
        ).first()
        if device is None and settings.FLEX_SANDBOX:
            device = self._start_enrolment(request, user)  # the demo: no admin to hand out a code
        if device is None:
            return self._enrolment_code(request, user)
        form = EnrolForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["otp_token"].strip()):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                request.session.pop(ENROLMENT_SESSION_KEY, None)
                otp_login(request, device)
                record(Actor.of_user(user), "enrol_second_factor", user, reason="TOTP authenticator confirmed")
                return HttpResponseRedirect(reverse("admin:index"))
            form.add_error("otp_token", StaffAuthenticationForm.error_messages["otp_invalid"])
        qr = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
        context = {
            **self.each_context(request),
            "title": _("Set up your second factor"),
            "form": form,
            "qr_svg": mark_safe(qr.to_string(encoding="unicode")),  # noqa: S308 - our own generated SVG
            "key": b32encode(device.bin_key).decode(),
        }
        return render(request, "admin/flex/second_factor.html", context)
