from django.urls import path

from billing.portal import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
