from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from devices import selectors, services
from devices.api.serializers import DeviceUnitSerializer, PlanSerializer, ProductSerializer, StockArrivalSerializer
from devices.models import UnitStatus
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
