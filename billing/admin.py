from django.contrib import admin

from billing import services
from billing.models import (
    Invoice,
    InvoiceLine,
    Payment,
    Subscription,
    SubscriptionAddOn,
    SubscriptionUnit,
    TerminationGround,
)
from flex.transition_admin import TransitionAdminMixin


class AddOnInline(admin.TabularInline):
    model = SubscriptionAddOn
    extra = 0
    autocomplete_fields = ["product"]


class UnitInline(admin.TabularInline):
    model = SubscriptionUnit
    extra = 0
    fields = ["unit", "allocated_at", "returned_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit__product")


class InvoiceInline(admin.TabularInline):
    model = Invoice
    extra = 0
    fields = ["number", "kind", "issue_date", "due_date", "gross_total", "status"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(TransitionAdminMixin):
    list_display = [
        "id",
        "subscriber",
        "plan",
        "status",
        "start_date",
        "minimum_term_end",
        "end_date",
        "payment_method",
    ]
    list_filter = ["status", "payment_method", "plan", "notice_by", "termination_ground"]
    search_fields = ["subscriber__last_name", "subscriber__organisation_name", "subscriber__email", "=id"]
    list_select_related = ["subscriber", "plan"]
    date_hierarchy = "accepted_at"
    readonly_fields = [
        "status",
        "accepted_at",
        "start_date",
        "minimum_term_end",
        "notice_given_on",
        "notice_by",
        "end_date",
        "termination_ground",
        "ended_on",
    ]
    fields = ["subscriber", "plan", "payment_method", *readonly_fields]
    autocomplete_fields = ["subscriber"]
    inlines = [AddOnInline, UnitInline, InvoiceInline]
    transition_services = {
        "give_notice": services.give_notice,
        "withdraw": services.withdraw,
        "terminate_with_notice": services.terminate_with_notice,
        "terminate_immediately": services.terminate_immediately,
        "request_return": services.request_return,
        "end": services.end_subscription,
    }
    transition_choices = {"terminate_immediately": ("ground", TerminationGround.choices)}


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    readonly_fields = ["description", "quantity", "unit_price", "vat_rate", "net", "vat", "gross"]
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    readonly_fields = ["amount", "method", "provider_reference", "status", "received_at"]
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "subscriber", "kind", "issue_date", "due_date", "gross_total", "status", "emailed_at"]
    list_filter = ["status", "kind", "issue_date"]
    search_fields = ["number", "subscription__subscriber__last_name", "subscription__subscriber__organisation_name"]
    list_select_related = ["subscription__subscriber"]
    date_hierarchy = "issue_date"
    inlines = [InvoiceLineInline, PaymentInline]

    def get_readonly_fields(self, request, obj=None):
        # An issued invoice is a tax document: it is never edited (corrections are credit notes).
        return [f.name for f in Invoice._meta.fields]

    @admin.display(description="subscriber", ordering="subscription__subscriber__last_name")
    def subscriber(self, invoice):
        return invoice.subscription.subscriber


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ["invoice", "description", "quantity", "unit_price", "gross"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "description"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["provider_reference", "invoice", "amount", "method", "status", "received_at"]
    list_filter = ["method", "status"]
    search_fields = ["provider_reference", "invoice__number"]
    list_select_related = ["invoice"]
    date_hierarchy = "received_at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SubscriptionAddOn)
class SubscriptionAddOnAdmin(admin.ModelAdmin):
    list_display = ["subscription", "product", "added_on", "removed_on"]
    list_select_related = ["subscription__subscriber", "subscription__plan", "product"]
    search_fields = ["product__name", "subscription__subscriber__last_name"]


@admin.register(SubscriptionUnit)
class SubscriptionUnitAdmin(admin.ModelAdmin):
    list_display = ["unit", "subscription", "allocated_at", "returned_at"]
    list_select_related = ["unit__product", "subscription__subscriber", "subscription__plan"]
    search_fields = ["unit__serial_number", "subscription__subscriber__last_name"]
