from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import DateField, ExpressionWrapper, F, OuterRef, Subquery
from rest_framework_api_key.admin import APIKeyModelAdmin

from accounts import services
from accounts.models import ADDRESS_REPORT_PERIOD, Address, IdempotentRequest, Partner, PartnerApiKey, Subscriber, User
from flex.audit.trail import Actor
from flex.records_admin import RecordAdmin, RecordInline
from flex.window_admin import WindowAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]


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
    search_fields = ["first_name", "last_name", "organisation_name", "email", "kvk_number", "addresses__postcode"]
    list_select_related = ["user"]
    inlines = [AddressInline]
    editable_fields = ("phone",)

    def get_queryset(self, request):
        latest = Address.objects.filter(subscriber=OuterRef("pk")).order_by("-moved_in_on", "-id")
        return super().get_queryset(request).annotate(current_postcode=Subquery(latest.values("postcode")[:1]))

    @admin.display(description="postcode", ordering="current_postcode")
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
    list_filter = [LateReportFilter, "city"]
    search_fields = ["postcode", "street", "city", "subscriber__last_name", "subscriber__organisation_name"]
    list_select_related = ["subscriber"]
    date_hierarchy = "moved_in_on"

    @admin.display(boolean=True, description="late (REG-8)")
    def reported_late(self, address):
        return address.is_reported_late


class ApiKeyInline(admin.TabularInline):
    model = PartnerApiKey
    extra = 0
    fields = ["name", "prefix", "scopes", "revoked", "expiry_date", "created"]
    readonly_fields = ["prefix", "created"]
    can_delete = False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    inlines = [ApiKeyInline]


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "partner", "scopes"]
    list_select_related = ["partner"]
    search_fields = [*APIKeyModelAdmin.search_fields, "partner__name"]


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
class LoginLockoutAdmin(admin.ModelAdmin):
    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "path_info"]
    search_fields = ["username", "ip_address"]
    list_filter = ["attempt_time"]
    ordering = ["-attempt_time"]
    fields = ["username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info"]
    readonly_fields = fields
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_unlock_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Unlock: let this e-mail log in again from this address", permissions=["unlock"])
    def unlock(self, request, queryset):
        lifted = services.unlock_logins(list(queryset.values_list("pk", flat=True)), actor=Actor.of_user(request.user))
        self.message_user(request, f"{lifted} log-in lock(s) lifted.", messages.SUCCESS)
