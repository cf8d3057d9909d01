from django.contrib import admin

from devices import services
from devices.models import DeviceUnit, Plan, PlanItem, Product, ProductPrice, Shipment, ShipmentItem, TrackingEvent
from flex.records_admin import RecordInline
from flex.transition_admin import TransitionAdminMixin


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "kind", "colour", "is_addon_eligible", "is_active"]
    list_filter = ["kind", "is_addon_eligible", "is_active"]
    search_fields = ["name", "sku"]
    inlines = [ProductPriceInline]


@admin.register(ProductPrice)
class ProductPriceAdmin(admin.ModelAdmin):
    list_display = ["product", "valid_from", "webshop_price", "recommended_retail_price", "addon_monthly_fee"]
    list_filter = ["valid_from"]
    search_fields = ["product__name", "product__sku"]
    list_select_related = ["product"]


class PlanItemInline(admin.TabularInline):
    model = PlanItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "version", "monthly_fee", "allows_refurbished", "is_available"]
    list_filter = ["is_available", "allows_refurbished"]
    search_fields = ["name", "code"]
    inlines = [PlanItemInline]


@admin.register(PlanItem)
class PlanItemAdmin(admin.ModelAdmin):
    list_display = ["plan", "product", "quantity"]
    list_select_related = ["plan", "product"]
    search_fields = ["plan__name", "product__name"]


@admin.register(DeviceUnit)
class DeviceUnitAdmin(TransitionAdminMixin):
    list_display = ["serial_number", "product", "condition", "status", "status_changed_at", "inspection_passed"]
    list_filter = ["status", "condition", "product__kind", "product"]
    search_fields = ["serial_number", "product__name", "product__sku"]
    list_select_related = ["product"]
    readonly_fields = ["status", "status_changed_at", "registered_at"]
    fields = [
        "serial_number",
        "product",
        "condition",
        "status",
        "status_changed_at",
        "inspection_passed",
        "inspection_note",
        "registered_at",
    ]
    transition_services = {
        "receive": services.receive_unit,
        "start_inspection": services.start_inspection,
        "restock": services.restock_unit,
        "write_off": services.write_off_unit,
        "report_lost": services.report_unit_lost,
    }


class ShipmentItemInline(RecordInline):
    model = ShipmentItem
    fields = ["unit"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit__product")


class TrackingEventInline(RecordInline):
    model = TrackingEvent
    fields = ["occurred_at", "source", "event_id", "code", "applied", "received_at"]


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    """Outbound shipments (PLAN-6); their states move on partner messages, not by hand."""

    list_display = [
        "reference",
        "subscriber",
        "status",
        "created_at",
        "shipped_at",
        "delivered_at",
        "carrier",
        "tracking_code",
    ]
    list_filter = ["status", "carrier"]
    search_fields = ["reference", "tracking_code", "warehouse_order", "subscriber__last_name", "units__serial_number"]
    list_select_related = ["subscriber"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Shipment._meta.fields if f.name != "id"]
    inlines = [ShipmentItemInline, TrackingEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
