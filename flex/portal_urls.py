"""The subscriber portal: each app contributes its pages under one `portal` namespace."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.portal.urls")),
    path("", include("billing.portal.urls")),
]
