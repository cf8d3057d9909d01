from django.urls import path
from rest_framework.routers import DefaultRouter

from billing.api.views import PaymentWebhookView
from devices.api.views import DeviceUnitViewSet, PlanViewSet, ProductViewSet, ShipmentViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("products", ProductViewSet, basename="product")
router.register("plans", PlanViewSet, basename="plan")
router.register("device-units", DeviceUnitViewSet, basename="device-unit")
router.register("shipments", ShipmentViewSet, basename="shipment")

urlpatterns = [
    path("webhooks/payments/", PaymentWebhookView.as_view(), name="payment-webhook"),
    *router.urls,
]
