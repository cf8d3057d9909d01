from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from devices import prices, services
from devices.models import (
    DeviceUnit,
    Plan,
    PlanItem,
    Product,
    ProductPrice,
    Shipment,
    ShipmentItem,
    TrackingEvent,
    UnitStatus,
)
from flex.audit.trail import Actor
from flex.large_tables import NAME, REFERENCE, SERIAL, Finder, IndexedValuesFilter, upper
from flex.records_admin import RecordInline
from flex.refusals import Refusal, Refused
from flex.transition_admin import TransitionAdminMixin
from flex.window_admin import RefusalCheckingForm, WindowAdmin, WindowInline


def units_of_products(term: str) -> Q:
    """Units of the products whose name contains `term` or whose SKU is `term` (the catalogue is small)."""
    products = Product.objects.filter(Q(name__icontains=term) | Q(sku__iexact=term)).values_list("pk", flat=True)
    return Q(product__in=list(products))


class ProductPriceForm(RefusalCheckingForm):
    class Meta:
        model = ProductPrice
        fields = ["product", "valid_from", "webshop_price", "recommended_retail_price", "addon_monthly_fee"]

    def refusal(self):
        product = self.cleaned_data.get("product") or getattr(self.instance, "product", None)
        return prices.price_refusal(product, self.cleaned_data["valid_from"])


def add_price_from(form, product_id: int, actor: Actor) -> ProductPrice:
    data = form.cleaned_data
    return prices.add_price(
        product_id,
        valid_from=data["valid_from"],
        webshop_price=data["webshop_price"],
        recommended_retail_price=data["recommended_retail_price"],
        addon_monthly_fee=data.get("addon_monthly_fee"),
        actor=actor,
    )


class ProductPriceInline(WindowInline):
    """A new product's first price (any later price is added on the product prices page, PAY-6/7)."""

    model = ProductPrice
    form = ProductPriceForm
    fields = ["valid_from", "webshop_price", "recommended_retail_price", "addon_monthly_fee"]
    max_num = 1


@admin.register(Product)
class ProductAdmin(WindowAdmin):
    """The catalogue. The SKU is the product's identity; its kind and add-on eligibility carry PLAN-4;
    its prices are dated rows (PAY-6), each added as a new row from its valid-from date."""

    list_display = ["name", "sku", "kind", "colour", "is_addon_eligible", "is_active"]
    list_filter = ["kind", "is_addon_eligible", "is_active"]
    search_fields = ["name", "sku"]
    inlines = [ProductPriceInline]
    addable = True
    editable_fields = ("name", "colour")

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductPrice:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # for the change log
        for price_form in formset.forms:
            if price_form.has_changed() and not price_form.instance.pk:
                formset.new_objects.append(add_price_from(price_form, form.instance.pk, Actor.of_user(request.user)))


@admin.register(ProductPrice)
class ProductPriceAdmin(WindowAdmin):
    """A price in force from a date (PAY-6): a change is a new row from the first day of a month at
    least 30 days ahead (PAY-7), added through `devices.prices.add_price`; an existing row is history."""

    list_display = ["product", "valid_from", "webshop_price", "recommended_retail_price", "addon_monthly_fee"]
    list_filter = ["valid_from"]
    search_fields = ["product__name", "product__sku"]
    list_select_related = ["product"]
    addable = True
    form = ProductPriceForm

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        obj.pk = add_price_from(form, form.cleaned_data["product"].pk, Actor.of_user(request.user)).pk


class PlanItemInline(WindowInline):
    model = PlanItem
    fields = ["product", "quantity"]
    autocomplete_fields = ["product"]


@admin.register(Plan)
class PlanAdmin(WindowAdmin):
    """A preconfigured bundle (PLAN-2): a changed bundle or fee is a new version, added as a new plan
    with its products; subscribers keep the version they have."""

    list_display = ["name", "code", "version", "monthly_fee", "allows_refurbished", "is_available"]
    list_filter = ["is_available", "allows_refurbished"]
    search_fields = ["name", "code"]
    inlines = [PlanItemInline]
    addable = True
    editable_fields = ("name", "description")


@admin.register(PlanItem)
class PlanItemAdmin(WindowAdmin):
    list_display = ["plan", "product", "quantity"]
    list_select_related = ["plan", "product"]
    search_fields = ["plan__name", "product__name"]


@admin.register(DeviceUnit)
class DeviceUnitAdmin(TransitionAdminMixin):
    """A unit's serial and product are its identity, its condition and inspection verdict carry PLAN-1
    and TERM-9: they change only through the buttons (the warehouse API registers new stock)."""

    list_display = ["serial_number", "product", "condition", "status", "status_changed_at", "inspection_passed"]
    list_filter = ["status", "condition", "product__kind", "product"]
    finders = (
        Finder(gettext_lazy("serial number"), ("serial_number__startswith",), shape=SERIAL, prepare=upper),
        # A product is looked up in the catalogue first; its units then by the index on product.
        Finder(gettext_lazy("product name or SKU"), (units_of_products,), shape=r".*[^\W\d_].*"),
    )
    list_select_related = ["product"]
    ordering = ["serial_number"]  # the model's order (by product name) would sort every unit on each page
    sortable_by = ["serial_number"]
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
    change_form_template = "admin/devices/deviceunit/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/inspection/",
                self.admin_site.admin_view(self.inspection_view),
                name="devices_deviceunit_inspection",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        may_inspect = obj is not None and obj.status == UnitStatus.INSPECTING
        if may_inspect and request.user.has_perm("devices.handle_deviceunit"):
            context["inspection_url"] = reverse("admin:devices_deviceunit_inspection", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def inspection_view(self, request, object_id):
        """Record the inspection's verdict through `record_inspection` (TERM-9, PLAN-1)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        unit = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, unit) or not request.user.has_perm("devices.handle_deviceunit"):
            raise PermissionDenied
        verdict = request.POST.get("passed", "")
        try:
            if verdict not in ("yes", "no"):
                raise Refused(
                    Refusal(
                        rule="TERM-9",
                        field="passed",
                        message=_("Choose whether the unit passed the inspection (passed: yes or no)."),
                    )
                )
            services.record_inspection(
                unit.pk,
                passed=verdict == "yes",
                note=request.POST.get("note", "").strip(),
                actor=Actor.of_user(request.user),
            )
        except Refused as refused:
            self.message_user(request, str(refused.refusal), messages.ERROR)
        else:
            self.message_user(request, _("%(unit)s: inspection recorded.") % {"unit": unit}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:devices_deviceunit_change", args=[unit.pk]))


class ShipmentItemInline(RecordInline):
    model = ShipmentItem
    fields = ["unit"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit__product")


class TrackingEventInline(RecordInline):
    model = TrackingEvent
    fields = ["occurred_at", "source", "event_id", "code", "applied", "received_at"]


@admin.register(Shipment)
class ShipmentAdmin(WindowAdmin):
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
    list_filter = ["status", ("carrier", IndexedValuesFilter), "created_at"]
    finders = (
        Finder(gettext_lazy("reference"), ("reference__startswith",), shape=REFERENCE, prepare=upper),
        Finder(
            gettext_lazy("tracking code, warehouse order or unit serial"),
            ("tracking_code", "warehouse_order", "units__serial_number"),
            shape=SERIAL,
        ),
        Finder(gettext_lazy("subscriber's name"), ("subscriber__last_name__icontains",), shape=NAME, words=True),
    )
    list_select_related = ["subscriber"]
    sortable_by = ["reference"]
    inlines = [ShipmentItemInline, TrackingEventInline]
