from rest_framework.routers import DefaultRouter

from devices.api.views import DeviceUnitViewSet, PlanViewSet, ProductViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("products", ProductViewSet, basename="product")
router.register("plans", PlanViewSet, basename="plan")
router.register("device-units", DeviceUnitViewSet, basename="device-unit")

urlpatterns = router.urls
