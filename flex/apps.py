from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core import checks


class FlexConfig(AppConfig):
    """Project-wide commands, template tags and system checks."""

    name = "flex"
    default = True

    def ready(self) -> None:
        from flex.partners import configuration_errors

        checks.register(configuration_errors, "flex_partners")


class FlexAdminConfig(admin_apps.AdminConfig):
    """Django's admin on Flex's own site (second factor for staff, enrolment page)."""

    default = False
    default_site = "flex.admin_site.FlexAdminSite"
