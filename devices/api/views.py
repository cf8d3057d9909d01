from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from devices import selectors, services
from devices.api.serializers import (
    DeviceUnitSerializer,
    HeldTrackingEventSerializer,
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
    """Device units by serial number, of the calling warehouse only; it registers arriving stock with POST.

    A unit belongs to the warehouse that holds it; other partners (a carrier) see no units at all.
    """

    required_scopes = {"GET": "units:read", "POST": "units:write"}
    serializer_class = DeviceUnitSerializer
    lookup_field = "serial_number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no partner
            return selectors.units().none()
        queryset = selectors.units_of(self.request.user.partner)
        status_filter = self.request.query_params.get("status")
        sku = self.request.query_params.get("sku")
        if status_filter:
            if status_filter not in UnitStatus.values:
                raise ValidationError({"status": f"Unknown status; one of: {', '.join(UnitStatus.values)}."})
            queryset = queryset.filter(status=status_filter)
        if sku:
            queryset = queryset.filter(product__sku=sku)
        return queryset

    def list(self, request, *args, **kwargs):
        # Rows, not models (DeviceUnitSerializer); "id" for the cursor, which pages by it.
        page = self.paginate_queryset(self.get_queryset().values("id", *DeviceUnitSerializer.ROW))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=StockArrivalSerializer, responses={201: DeviceUnitSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        arrival = StockArrivalSerializer(data=request.data)
        arrival.is_valid(raise_exception=True)
        units = services.register_stock(
            actor=request.user.actor, warehouse=request.user.partner, **arrival.validated_data
        )
        return Response(DeviceUnitSerializer(units, many=True).data, status=status.HTTP_201_CREATED)


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Outbound shipments. The warehouse confirms shipping; the carrier posts tracking events.

    Both are safe to resend and to arrive out of order: a repeated confirmation or event id counts once,
    and a "delivered" event that arrives before the warehouse's confirmation waits for it.
    A partner sees only its own shipments: the warehouse those ordered at it, the carrier those handed
    to it; any other reference answers 404. A carrier's event on any reference not handed to it
    (unknown, not yet shipped, another carrier's) is held: 202 with only the event id, one answer for
    all, counted if the warehouse's confirmation later names this carrier.
    """

    required_scopes = {"GET": "shipments:read", "POST": "shipments:write", "POST tracking_events": "tracking:write"}
    serializer_class = ShipmentSerializer
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no partner
            return Shipment.objects.none()
        queryset = selectors.shipments_of(self.request.user.partner)
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
        try:
            shipment = services.confirm_shipped(
                reference, actor=request.user.actor, warehouse=request.user.partner, **confirmation.validated_data
            )
        except Shipment.DoesNotExist:
            raise NotFound() from None
        shipment = self.get_queryset().get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment).data)

    @extend_schema(
        request=TrackingEventSerializer,
        responses={201: TrackingEventResultSerializer, 202: HeldTrackingEventSerializer},
    )
    @action(detail=True, methods=["post"], url_path="tracking-events")
    def tracking_events(self, request, reference=None):
        event = TrackingEventSerializer(data=request.data)
        event.is_valid(raise_exception=True)
        recorded = services.record_tracking_event(
            reference, carrier=request.user.partner, actor=request.user.actor, **event.validated_data
        )
        if recorded.shipment_id is None:
            return Response(
                HeldTrackingEventSerializer({"event_id": recorded.event_id, "held": True}).data,
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(TrackingEventResultSerializer(recorded).data, status=status.HTTP_201_CREATED)
