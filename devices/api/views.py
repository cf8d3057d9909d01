from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from devices import selectors, services
from devices.api.serializers import (
    DeviceUnitSerializer,
    PlanSerializer,
    ProductSerializer,
    ShipmentSerializer,
    ShippedSerializer,
    StockArrivalSerializer,
    TrackingEventResultSerializer,
    TrackingEventSerializer,
)
from devices.models import Shipment, ShipmentStatus, UnitStatus
from flex.api.views import PartnerViewSet


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The product catalogue with the prices in force today."""

    required_scopes = {"GET": "catalogue:read"}
    serializer_class = ProductSerializer
    lookup_field = "sku"
    queryset = selectors.products_with_prices()


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Plans (versioned bundles) with their products."""

    required_scopes = {"GET": "catalogue:read"}
    serializer_class = PlanSerializer
    queryset = selectors.plans_with_items()


class DeviceUnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Device units by serial number; the warehouse registers arriving stock with POST."""

    required_scopes = {"GET": "units:read", "POST": "units:write"}
    serializer_class = DeviceUnitSerializer
    lookup_field = "serial_number"

    def get_queryset(self):
        queryset = selectors.units()
        status_filter = self.request.query_params.get("status")
        sku = self.request.query_params.get("sku")
        if status_filter:
            if status_filter not in UnitStatus.values:
                raise ValidationError({"status": f"Unknown status; one of: {', '.join(UnitStatus.values)}."})
            queryset = queryset.filter(status=status_filter)
        if sku:
            queryset = queryset.filter(product__sku=sku)
        return queryset

    @extend_schema(request=StockArrivalSerializer, responses={201: DeviceUnitSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        arrival = StockArrivalSerializer(data=request.data)
        arrival.is_valid(raise_exception=True)
        units = services.register_stock(actor=request.user.actor, **arrival.validated_data)
        return Response(DeviceUnitSerializer(units, many=True).data, status=status.HTTP_201_CREATED)


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Outbound shipments. The warehouse confirms shipping; the carrier posts tracking events.

    Both are safe to resend and to arrive out of order: a repeated confirmation or event id counts once,
    and a "delivered" event that arrives before the warehouse's confirmation waits for it.
    """

    required_scopes = {"GET": "shipments:read", "POST": "shipments:write", "POST tracking_events": "tracking:write"}
    serializer_class = ShipmentSerializer
    lookup_field = "reference"

    def get_queryset(self):
        queryset = Shipment.objects.prefetch_related("units").order_by("-id")
        status_filter = self.request.query_params.get("status")
        if status_filter:
            if status_filter not in ShipmentStatus.values:
                raise ValidationError({"status": f"Unknown status; one of: {', '.join(ShipmentStatus.values)}."})
            queryset = queryset.filter(status=status_filter)
        return queryset

    @extend_schema(request=ShippedSerializer, responses={200: ShipmentSerializer})
    @action(detail=True, methods=["post"], url_path="shipped")
    def shipped(self, request, reference=None):
        confirmation = ShippedSerializer(data=request.data)
        confirmation.is_valid(raise_exception=True)
        shipment = services.confirm_shipped(reference, actor=request.user.actor, **confirmation.validated_data)
        shipment = self.get_queryset().get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment).data)

    @extend_schema(request=TrackingEventSerializer, responses={201: TrackingEventResultSerializer})
    @action(detail=True, methods=["post"], url_path="tracking-events")
    def tracking_events(self, request, reference=None):
        event = TrackingEventSerializer(data=request.data)
        event.is_valid(raise_exception=True)
        recorded = services.record_tracking_event(
            reference, source=request.user.partner.code, actor=request.user.actor, **event.validated_data
        )
        return Response(TrackingEventResultSerializer(recorded).data, status=status.HTTP_201_CREATED)
