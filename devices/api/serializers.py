from functools import reduce

from rest_framework import serializers

from devices import selectors
from devices.models import DeviceUnit, Plan, PlanItem, Product, Shipment, TrackingCode, TrackingEvent, UnitCondition
from flex import clock


class ProductSerializer(serializers.ModelSerializer):
    webshop_price = serializers.SerializerMethodField()
    recommended_retail_price = serializers.SerializerMethodField()
    addon_monthly_fee = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "kind",
            "colour",
            "is_addon_eligible",
            "is_active",
            "webshop_price",
            "recommended_retail_price",
            "addon_monthly_fee",
        ]

    def _price(self, product):
        return selectors.price_in_force(product, clock.today())

    def get_webshop_price(self, product) -> str | None:
        price = self._price(product)
        return str(price.webshop_price) if price else None

    def get_recommended_retail_price(self, product) -> str | None:
        price = self._price(product)
        return str(price.recommended_retail_price) if price else None

    def get_addon_monthly_fee(self, product) -> str | None:
        price = self._price(product)
        return str(price.addon_monthly_fee) if price and price.addon_monthly_fee is not None else None


class PlanItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")

    class Meta:
        model = PlanItem
        fields = ["sku", "name", "quantity"]


class PlanSerializer(serializers.ModelSerializer):
    items = PlanItemSerializer(many=True)

    class Meta:
        model = Plan
        fields = [
            "code",
            "version",
            "name",
            "description",
            "monthly_fee",
            "allows_refurbished",
            "is_available",
            "items",
        ]


DATETIME = serializers.DateTimeField()  # formats a datetime as every DateTimeField of the API does


class DeviceUnitSerializer(serializers.ModelSerializer):
    """A unit, from a model (one unit, a stock arrival) or from a row of `units.values(*ROW)` (the list).

    The list reads rows: a page of up to 200 units then builds no model instances (two per unit with
    its product), and this does not walk DRF's fields per unit; together those were a third of a list
    request's CPU (issue 13). The fields below still make the schema."""

    ROW = ("serial_number", "product__sku", "condition", "status", "status_changed_at", "registered_at")

    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = DeviceUnit
        fields = ["serial_number", "sku", "condition", "status", "status_changed_at", "registered_at"]

    def to_representation(self, unit: DeviceUnit | dict) -> dict:
        if isinstance(unit, DeviceUnit):
            unit = {column: reduce(getattr, column.split("__"), unit) for column in self.ROW}
        return {
            "serial_number": unit["serial_number"],
            "sku": unit["product__sku"],
            "condition": unit["condition"],
            "status": unit["status"],
            "status_changed_at": DATETIME.to_representation(unit["status_changed_at"]),
            "registered_at": DATETIME.to_representation(unit["registered_at"]),
        }


class StockArrivalSerializer(serializers.Serializer):
    """Units arriving at the warehouse: one product, one condition, their serial numbers."""

    sku = serializers.CharField(max_length=40)
    condition = serializers.ChoiceField(choices=UnitCondition.choices, default=UnitCondition.NEW)
    serial_numbers = serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Za-z0-9-]{4,40}$", error_messages={"invalid": "A serial number is 4 to 40 letters, digits or dashes."}
        ),
        min_length=1,
        max_length=500,
    )


class ShipmentSerializer(serializers.ModelSerializer):
    serial_numbers = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "reference",
            "status",
            "warehouse_order",
            "carrier",
            "tracking_code",
            "shipped_at",
            "delivered_at",
            "serial_numbers",
        ]

    def get_serial_numbers(self, shipment) -> list[str]:
        return sorted(unit.serial_number for unit in shipment.units.all())


class ShippedSerializer(serializers.Serializer):
    """The warehouse's confirmation: what left the building, with which carrier and tracking code."""

    serial_numbers = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=500)
    carrier = serializers.CharField(max_length=60, help_text="The carrier partner's code, e.g. `carrier`.")
    tracking_code = serializers.CharField(max_length=60)
    shipped_at = serializers.DateTimeField()


class TrackingEventSerializer(serializers.Serializer):
    """A carrier's tracking event; `event_id` is the carrier's own id, so a resend counts once."""

    event_id = serializers.CharField(max_length=100)
    code = serializers.ChoiceField(choices=TrackingCode.choices)
    occurred_at = serializers.DateTimeField()


class HeldTrackingEventSerializer(serializers.Serializer):
    """A held event: the reference is not (yet) a shipment handed to this carrier. Only the event id
    comes back, the same for an unknown reference, so nothing tells whether the shipment exists."""

    event_id = serializers.CharField()
    held = serializers.BooleanField()


class TrackingEventResultSerializer(serializers.ModelSerializer):
    shipment = serializers.CharField(source="shipment.reference")
    shipment_status = serializers.CharField(source="shipment.status")

    class Meta:
        model = TrackingEvent
        fields = ["event_id", "code", "occurred_at", "applied", "shipment", "shipment_status"]
