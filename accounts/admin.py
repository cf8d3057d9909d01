from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import DateField, ExpressionWrapper, F, OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework_api_key.models import APIKey

from accounts import services
from accounts.models import ADDRESS_REPORT_PERIOD, Address, IdempotentRequest, Partner, PartnerApiKey, Subscriber, User
from flex.audit.trail import Actor, record
from flex.large_tables import DIGITS, EMAIL, NAME, POSTCODE, Finder, LargeTableAdmin, dutch_postcode
from flex.records_admin import RecordAdmin, RecordInline
from flex.window_admin import WindowAdmin


@admin.register(User)
class UserAdmin(LargeTableAdmin, DjangoUserAdmin):
    """Log-ins. Never deleted here: a subscriber leaves through erasure (PRIV-3, PRIV-6), which also
    clears the history, and a staff member is made inactive. A subscriber's log-in e-mail is their
    identity (PAY-8 mail goes there) and changes through the subscriber's own flows, so it is read-only
    here, as are the staff flags of a subscriber's log-in; every save and every password set here is
    written to the audit trail (field names only)."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "groups"]
    finders = (
        Finder(gettext_lazy("e-mail"), ("email__iexact",), shape=EMAIL),
        Finder(gettext_lazy("name"), ("full_name__icontains",), shape=NAME, words=True),
    )
    sortable_by = ["email"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    actions = ["issue_enrolment_code"]

    def has_enrol_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_user")

    @admin.action(description="Issue a second-factor enrolment code (shown once)", permissions=["enrol"])
    def issue_enrolment_code(self, request, queryset):
        for user in queryset.order_by("email"):
            try:
                code = services.issue_enrolment_code(user.pk, actor=Actor.of_user(request.user))
            except ValueError as refused:
                self.message_user(request, str(refused), messages.ERROR)
                continue
            self.message_user(
                request,
                _("Enrolment code for %(email)s: %(code)s. Give it to them in person or by phone; it works once.")
                % {"email": user.email, "code": code},
                messages.WARNING,
            )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and Subscriber.objects.filter(user=obj).exists():
            readonly += ["email", "is_staff", "is_superuser", "groups", "user_permissions"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changed = sorted(name for name in form.changed_data if name not in ("password1", "password2"))
        if not change:
            changed = sorted({*changed, "password"})
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            # Field names only: the values (an e-mail, a hash) are kept by the row's own history.
            record(Actor.of_user(request.user), "admin_change" if change else "admin_add", obj, fields=changed)

    def user_change_password(self, request, id, form_url=""):
        if Subscriber.objects.filter(user_id=id).exists():
            # A subscriber sets their own password (portal password reset); staff never know it.
            raise PermissionDenied
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                record(Actor.of_user(request.user), "admin_set_password", user, fields=["password"])
        return response


class AddressInline(RecordInline):
    """REG-7, REG-8: an address and its move and report dates change through the move service."""

    model = Address
    fields = [
        "street",
        "house_number",
        "house_number_suffix",
        "postcode",
        "city",
        "moved_in_on",
        "reported_on",
        "reported_late",
    ]

    @admin.display(boolean=True, description="reported late (REG-8)")
    def reported_late(self, address):
        return address.is_reported_late if address.pk else None


@admin.register(Subscriber)
class SubscriberAdmin(WindowAdmin):
    """A person or organisation: name, birth date, KvK number, e-mail and verified identity carry REG-1,
    REG-4 and PAY-8 and are read-only; the phone number carries no rule and is edited here, through the
    audit trail. Subscribers come from the sign-up journey and leave through erasure (PRIV-3)."""

    list_display = ["display_name", "kind", "email", "phone", "current_postcode", "created_at"]
    list_filter = ["kind"]
    finders = (
        Finder(gettext_lazy("e-mail"), ("email__iexact",), shape=EMAIL),
        Finder(
            gettext_lazy("name"),
            ("first_name__icontains", "last_name__icontains", "organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
        Finder(gettext_lazy("KvK number or id"), ("kvk_number", "pk"), shape=DIGITS),
        Finder(gettext_lazy("postcode"), ("addresses__postcode",), shape=POSTCODE, prepare=dutch_postcode),
    )
    list_select_related = ["user"]
    sortable_by = []  # the list is by name; a sort on another column would read every row (issue 13)
    inlines = [AddressInline]
    editable_fields = ("phone",)

    def get_queryset(self, request):
        latest = Address.objects.filter(subscriber=OuterRef("pk")).order_by("-moved_in_on", "-id")
        return super().get_queryset(request).annotate(current_postcode=Subquery(latest.values("postcode")[:1]))

    @admin.display(description="postcode")
    def current_postcode(self, subscriber):
        return subscriber.current_postcode


class LateReportFilter(admin.SimpleListFilter):
    title = "reported late (REG-8)"
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", "More than 4 weeks after the move"), ("no", "On time")]

    def queryset(self, request, queryset):
        deadline = ExpressionWrapper(F("moved_in_on") + ADDRESS_REPORT_PERIOD, output_field=DateField())
        queryset = queryset.annotate(report_deadline=deadline)
        if self.value() == "yes":
            return queryset.filter(reported_on__gt=F("report_deadline"))
        if self.value() == "no":
            return queryset.filter(reported_on__lte=F("report_deadline"))
        return queryset


@admin.register(Address)
class AddressAdmin(WindowAdmin):
    list_display = [
        "subscriber",
        "street",
        "house_number",
        "postcode",
        "city",
        "moved_in_on",
        "reported_on",
        "reported_late",
    ]
    list_filter = [LateReportFilter]
    ordering = ["-moved_in_on", "-id"]  # latest moves first; the model's order sorts by subscriber name
    finders = (
        Finder(gettext_lazy("postcode"), ("postcode",), shape=POSTCODE, prepare=dutch_postcode),
        Finder(
            gettext_lazy("subscriber's name"),
            ("subscriber__last_name__icontains", "subscriber__organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
    )
    list_select_related = ["subscriber"]
    sortable_by = []

    @admin.display(boolean=True, description="late (REG-8)")
    def reported_late(self, address):
        return address.is_reported_late


class ApiKeyInline(RecordInline):
    """A partner's keys, read-only: a key is issued and revoked on the Partner API keys page."""

    model = PartnerApiKey
    fields = ["name", "prefix", "scopes", "revoked", "expiry_date", "created"]


@admin.register(Partner)
class PartnerAdmin(WindowAdmin):
    """A partner system. Its code is what tracking events and the partner configuration match on, its
    kind decides what its API keys may reach: both are fixed once the row exists (it is created on
    first use, accounts.services.partner_for_code). Only the display name is edited here, audited; a
    partner is never deleted (its disclosures, shipments and keys refer to it)."""

    list_display = ["name", "code", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    inlines = [ApiKeyInline]
    editable_fields = ("name",)


class IssueApiKeyForm(forms.ModelForm):
    class Meta:
        model = PartnerApiKey
        fields = ["partner", "name", "scopes", "expiry_date"]

    def clean_scopes(self):
        scopes = self.cleaned_data["scopes"]
        if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
            raise forms.ValidationError(_('A list of scopes, e.g. ["units:read", "units:write"].'))
        return scopes


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    """Partner API keys: issued here (the full key is shown once; only its hash is stored) and revoked
    with the Revoke action; both audited. A key is never edited or deleted: revoking stops it, and the
    requests it made keep pointing at it."""

    list_display = ["prefix", "name", "partner", "scopes", "created", "expiry_date", "revoked"]
    list_filter = ["revoked", "partner__kind"]
    list_select_related = ["partner"]
    search_fields = ["name", "prefix", "partner__name"]
    readonly_fields = ["prefix", "partner", "name", "scopes", "expiry_date", "revoked", "created"]
    form = IssueApiKeyForm
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        return list(IssueApiKeyForm.Meta.fields) if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_partnerapikey")

    def save_model(self, request, obj, form, change):
        key, raw = services.issue_api_key(
            obj.partner_id,
            name=obj.name,
            scopes=obj.scopes,
            expiry_date=obj.expiry_date,
            actor=Actor.of_user(request.user),
        )
        obj.pk = key.pk
        self.message_user(
            request,
            _("The API key for %(name)s is: %(key)s. Store it somewhere safe: it is not shown again.")
            % {"name": key.name, "key": raw},
            messages.WARNING,
        )

    def save_related(self, request, form, formsets, change):
        pass  # the service saved the key; it has no related rows

    @admin.action(description="Revoke: the next call with these keys gets 401", permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = services.revoke_api_keys(
            list(queryset.values_list("pk", flat=True)), actor=Actor.of_user(request.user)
        )
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)


# The plain key model of djangorestframework-api-key is not used (partners hold PartnerApiKey rows).
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(RecordAdmin):
    list_display = ["key", "api_key", "method", "path", "response_status", "created_at"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "path"]
    list_select_related = ["api_key"]


# Log-in lockouts (django-axes): a window onto the failed attempts, and one way out: the Unlock action,
# which calls the service (audited). Staff do not edit or delete attempts directly.
for _axes_model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_axes_model):
        admin.site.unregister(_axes_model)


@admin.register(AccessAttempt)
class LoginLockoutAdmin(RecordAdmin):
    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "path_info"]
    search_fields = ["username", "ip_address"]
    list_filter = ["attempt_time"]
    ordering = ["-attempt_time"]
    fields = ["username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info"]
    readonly_fields = fields
    actions = ["unlock"]

    def has_unlock_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Unlock: let this e-mail log in again from this address", permissions=["unlock"])
    def unlock(self, request, queryset):
        lifted = services.unlock_logins(list(queryset.values_list("pk", flat=True)), actor=Actor.of_user(request.user))
        self.message_user(request, f"{lifted} log-in lock(s) lifted.", messages.SUCCESS)
