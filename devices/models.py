"""The catalogue (products, dated prices, plans) and the physical units Flex rents out."""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from devices import rules
from flex.fsm import rule_condition
from flex.money import MoneyField


class ProductKind(models.TextChoices):
    SOUNDBAR = "soundbar", _("soundbar")
    SPEAKER = "speaker", _("speaker")
    PORTABLE = "portable", _("portable speaker")
    SUBWOOFER = "subwoofer", _("subwoofer")


@pghistory.track()
class Product(models.Model):
    """A product in the catalogue; stays company property when rented out (PLAN-1)."""

    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ProductKind.choices)
    colour = models.CharField(_("colour"), max_length=40, blank=True)
    is_addon_eligible = models.BooleanField(
        _("add-on eligible"), default=False, help_text=_("Can be rented as an add-on (terms art. 3.5).")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "colour"]

    def __str__(self) -> str:
        return f"{self.name} ({self.colour})" if self.colour else self.name


@pghistory.track()
class ProductPrice(models.Model):
    """Prices of a product from a date on; the latest row on or before a day is in force (PAY-6)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    valid_from = models.DateField(_("valid from"))
    webshop_price = MoneyField(_("webshop price"), help_text=_("Incl. VAT; basis for total loss (INC-2)."))
    recommended_retail_price = MoneyField(
        _("recommended retail price"), help_text=_("Incl. VAT; owed under INC-4 and TERM-8.")
    )
    addon_monthly_fee = MoneyField(
        _("add-on monthly fee"), null=True, blank=True, help_text=_("Incl. VAT; only for add-on eligible products.")
    )

    class Meta:
        verbose_name = _("product price")
        verbose_name_plural = _("product prices")
        ordering = ["product", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["product", "valid_from"], name="one_price_per_product_per_day"),
            models.CheckConstraint(
                name="prices_not_negative", condition=Q(webshop_price__gte=0) & Q(recommended_retail_price__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} from {self.valid_from}"


@pghistory.track()
class Plan(models.Model):
    """A preconfigured bundle with a monthly fee (PLAN-2). A changed bundle or fee is a new version."""

    code = models.SlugField(_("code"), max_length=50)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    monthly_fee = MoneyField(_("monthly fee"), help_text=_("Incl. VAT."))
    allows_refurbished = models.BooleanField(
        _("refurbished units allowed"), default=True, help_text=_("Terms art. 1.1.2, 11.")
    )
    is_available = models.BooleanField(_("open for sign-up"), default=True)
    products = models.ManyToManyField(Product, through="PlanItem", related_name="plans")

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["monthly_fee", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="one_plan_per_code_version"),
            models.CheckConstraint(name="plan_fee_positive", condition=Q(monthly_fee__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


@pghistory.track()
class PlanItem(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plan_items")
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        constraints = [
            models.UniqueConstraint(fields=["plan", "product"], name="one_line_per_product_per_plan"),
            models.CheckConstraint(name="plan_item_quantity_positive", condition=Q(quantity__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


class UnitCondition(models.TextChoices):
    NEW = "new", _("new")
    REFURBISHED = "refurbished", _("refurbished")


class UnitStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("in stock")
    RESERVED = "reserved", _("reserved")
    SHIPPED = "shipped", _("shipped")
    WITH_SUBSCRIBER = "with_subscriber", _("with subscriber")
    RETURNING = "returning", _("returning")
    RECEIVED = "received", _("received")
    INSPECTING = "inspecting", _("inspecting")
    WRITTEN_OFF = "written_off", _("written off")
    LOST = "lost", _("lost")


S = UnitStatus


@pghistory.track()
class DeviceUnit(ConcurrentTransitionMixin, models.Model):
    """One physical unit with a serial number; its status is a state machine."""

    serial_number = models.CharField(_("serial number"), max_length=40, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="units")
    condition = models.CharField(
        _("condition"), max_length=20, choices=UnitCondition.choices, default=UnitCondition.NEW
    )
    status = FSMField(_("status"), max_length=20, choices=UnitStatus.choices, default=S.IN_STOCK, protected=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    inspection_passed = models.BooleanField(
        _("inspection passed"),
        null=True,
        blank=True,
        help_text=_("Tested, cleaned and complete (terms art. 1.1.2)."),
    )
    inspection_note = models.TextField(_("inspection note"), blank=True)
    warehouse = models.ForeignKey(
        "accounts.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("warehouse"),
        help_text=_("The warehouse partner that holds the unit; only it sees the unit in the partner API."),
    )
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)

    class Meta:
        verbose_name = _("device unit")
        verbose_name_plural = _("device units")
        ordering = ["product__name", "serial_number"]
        permissions = [
            ("handle_deviceunit", "Can receive, inspect and restock device units"),
            ("write_off_deviceunit", "Can write off device units"),
            ("report_lost_deviceunit", "Can report device units lost"),
            ("allocate_deviceunit", "Can reserve and release device units for an allocation"),
            ("ship_deviceunit", "Can record device units shipped, delivered or sent a return label"),
        ]
        indexes = [
            models.Index(fields=["product", "status"]),
            # The admin lists units by serial number; its filters keep that order (issue 13).
            models.Index(fields=["status", "serial_number"], name="unit_status_serial"),
            models.Index(fields=["condition", "serial_number"], name="unit_condition_serial"),
            models.Index(fields=["product", "serial_number"], name="unit_product_serial"),
            # A warehouse's own units, newest first: the partner API's list and its cursor (issue 13)
            models.Index(fields=["warehouse", "-id"], name="unit_warehouse_newest"),
            # PLAN-2: allocation takes a product's units in stock in this order (refurbished first where the
            # plan allows, then the longest in stock) with LIMIT and SKIP LOCKED; without this index every
            # allocation sorts all of the product's stock.
            models.Index(
                fields=["product", "-condition", "registered_at", "id"],
                condition=models.Q(status=S.IN_STOCK),
                name="deviceunit_stock_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.serial_number} ({self.product.name})"

    @transition(
        field=status,
        source=S.IN_STOCK,
        target=S.RESERVED,
        permission="devices.allocate_deviceunit",
        custom={"rule": "PLAN-2", "label": _("reserve")},
    )
    def reserve(self) -> None:
        """Set aside for a subscription's allocation."""

    @transition(
        field=status,
        source=S.RESERVED,
        target=S.IN_STOCK,
        permission="devices.allocate_deviceunit",
        custom={"rule": "PLAN-2", "label": _("release")},
    )
    def release(self) -> None:
        """Give back a reservation that will not ship."""

    @transition(
        field=status,
        source=S.RESERVED,
        target=S.SHIPPED,
        permission="devices.ship_deviceunit",
        custom={"rule": "REG-7", "label": _("ship")},
    )
    def ship(self) -> None:
        """Handed to the carrier (the subscription-level REG-7 checks run before this)."""

    @transition(
        field=status,
        source=S.SHIPPED,
        target=S.WITH_SUBSCRIBER,
        permission="devices.ship_deviceunit",
        custom={"rule": "PLAN-6", "label": _("deliver")},
    )
    def deliver(self) -> None:
        """The carrier delivered it to the physical address."""

    @transition(
        field=status,
        source=S.WITH_SUBSCRIBER,
        target=S.RETURNING,
        permission="devices.ship_deviceunit",
        custom={"rule": "TERM-3", "label": _("send return label")},
    )
    def start_return(self) -> None:
        """A prepaid return label has been sent (PLAN-6)."""

    @transition(
        field=status,
        source=[S.RETURNING, S.SHIPPED],
        target=S.RECEIVED,
        permission="devices.handle_deviceunit",
        custom={"rule": "TERM-3", "label": _("receive")},
    )
    def receive(self) -> None:
        """The warehouse has it back (a return, or an undeliverable shipment)."""

    @transition(
        field=status,
        source=S.RECEIVED,
        target=S.INSPECTING,
        permission="devices.handle_deviceunit",
        custom={"rule": "TERM-9", "label": _("inspect")},
    )
    def start_inspection(self) -> None:
        self.inspection_passed = None

    @transition(
        field=status,
        source=S.INSPECTING,
        target=S.IN_STOCK,
        conditions=[rule_condition(rules.inspection_passed)],
        permission="devices.handle_deviceunit",
        custom={"rule": "PLAN-1", "label": _("restock")},
    )
    def restock(self) -> None:
        """Back on the shelf as refurbished: tested, cleaned, complete (terms art. 1.1.2)."""
        self.condition = UnitCondition.REFURBISHED

    @transition(
        field=status,
        source=[S.INSPECTING, S.RECEIVED],
        target=S.WRITTEN_OFF,
        permission="devices.write_off_deviceunit",
        custom={"rule": "INC-2", "label": _("write off")},
    )
    def write_off(self) -> None:
        """Total loss: not worth repairing (terms art. 6.4)."""

    @transition(
        field=status,
        source=[S.SHIPPED, S.WITH_SUBSCRIBER, S.RETURNING],
        target=S.LOST,
        permission="devices.report_lost_deviceunit",
        custom={"rule": "INC-1", "label": _("report lost")},
    )
    def report_lost(self) -> None:
        """Stolen, embezzled or lost (terms art. 6.2)."""


class ShipmentStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    ORDERED = "ordered", _("ordered at the warehouse")
    SHIPPED = "shipped", _("shipped")
    DELIVERED = "delivered", _("delivered")


SH = ShipmentStatus


@pghistory.track()
class Shipment(ConcurrentTransitionMixin, models.Model):
    """Units on their way to a subscriber's physical address; shipping is free (PLAN-6).

    Created with its units reserved; ordered at the warehouse partner, which confirms the serials it
    shipped; the carrier reports tracking events up to delivery. Partner messages may come twice or
    out of order: each event counts once and a later state is never undone by an earlier one.
    """

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    subscriber = models.ForeignKey(
        "accounts.Subscriber", on_delete=models.PROTECT, related_name="shipments", verbose_name=_("subscriber")
    )
    address = models.ForeignKey(
        "accounts.Address", on_delete=models.PROTECT, related_name="shipments", verbose_name=_("address")
    )
    status = FSMField(_("status"), max_length=20, choices=ShipmentStatus.choices, default=SH.REQUESTED, protected=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    units = models.ManyToManyField(DeviceUnit, through="ShipmentItem", related_name="shipments")
    warehouse_order = models.CharField(_("warehouse order"), max_length=60, blank=True)
    warehouse = models.ForeignKey(
        "accounts.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warehouse_shipments",
        verbose_name=_("warehouse partner"),
        help_text=_("The warehouse the shipment is ordered at; only it reads and confirms the shipment."),
    )
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    carrier_partner = models.ForeignKey(
        "accounts.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carrier_shipments",
        verbose_name=_("carrier partner"),
        help_text=_("The carrier the warehouse handed the parcel to; only it reports tracking events."),
    )
    tracking_code = models.CharField(_("tracking code"), max_length=60, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    requested_at = models.DateTimeField(
        _("requested"),
        null=True,
        blank=True,
        help_text=_("When Flex asked for the shipment (project clock): no partner step can lie before it."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["-created_at", "-id"], name="shipment_list_order"),
            models.Index(fields=["status", "-created_at", "-id"], name="shipment_status_order"),
            models.Index(fields=["carrier"], name="shipment_carrier"),
            models.Index(fields=["tracking_code"], condition=~Q(tracking_code=""), name="shipment_tracking_code"),
            models.Index(fields=["warehouse_order"], condition=~Q(warehouse_order=""), name="shipment_warehouse_order"),
        ]
        permissions = [("ship_shipment", "Can order, ship and deliver shipments (warehouse and carrier partners)")]

    def __str__(self) -> str:
        return self.reference

    @transition(
        field=status,
        source=SH.REQUESTED,
        target=SH.ORDERED,
        permission="devices.ship_shipment",
        custom={"rule": "PLAN-6", "label": _("order")},
    )
    def order(self, warehouse_order: str) -> None:
        """The warehouse partner has the order (free shipping, PLAN-6)."""
        self.warehouse_order = warehouse_order

    @transition(
        field=status,
        source=[SH.REQUESTED, SH.ORDERED],
        target=SH.SHIPPED,
        permission="devices.ship_shipment",
        custom={"rule": "REG-7", "label": _("ship")},
    )
    def ship(self, carrier, tracking_code: str, shipped_at) -> None:
        """Handed to the carrier partner; REG-7 was checked when the units were allocated."""
        self.carrier_partner, self.carrier = carrier, carrier.code
        self.tracking_code, self.shipped_at = tracking_code, shipped_at

    @transition(
        field=status,
        source=SH.SHIPPED,
        target=SH.DELIVERED,
        permission="devices.ship_shipment",
        custom={"rule": "PLAN-6", "label": _("deliver")},
    )
    def deliver(self, delivered_at) -> None:
        self.delivered_at = delivered_at


@pghistory.track()
class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    unit = models.ForeignKey(DeviceUnit, on_delete=models.PROTECT, related_name="shipment_items")

    class Meta:
        verbose_name = _("shipment item")
        verbose_name_plural = _("shipment items")
        constraints = [models.UniqueConstraint(fields=["shipment", "unit"], name="unit_once_per_shipment")]

    def __str__(self) -> str:
        return str(self.unit_id)


class TrackingCode(models.TextChoices):
    IN_TRANSIT = "in_transit", _("in transit")
    DELIVERY_FAILED = "delivery_failed", _("delivery attempt failed")
    DELIVERED = "delivered", _("delivered")


@pghistory.track()
class TrackingEvent(models.Model):
    """A tracking message from the carrier (or warehouse) about a shipment, kept once per partner event id."""

    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.CASCADE,
        related_name="tracking_events",
        null=True,
        blank=True,
        help_text=_("Empty while held: the reference is not (yet) a shipment handed to this carrier."),
    )
    reference = models.CharField(
        _("reference"), max_length=20, help_text=_("The shipment reference the carrier named.")
    )
    source = models.CharField(_("source"), max_length=40, help_text=_("The partner's code."))
    event_id = models.CharField(_("event id"), max_length=100)
    code = models.CharField(_("code"), max_length=40, choices=TrackingCode.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    received_at = models.DateTimeField(_("received"))
    applied = models.BooleanField(_("applied"), default=False, help_text=_("False while waiting for an earlier step."))

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="partner_event_counted_once")]
        indexes = [
            models.Index(
                fields=["reference", "source"], condition=models.Q(shipment__isnull=True), name="held_tracking_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.occurred_at:%Y-%m-%d %H:%M}"
