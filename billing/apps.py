from django.apps import AppConfig
from django.core import checks


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import receivers  # noqa: F401 - connects to the devices signals
        from billing.checks import direct_debit_configuration_errors

        checks.register(direct_debit_configuration_errors, "billing_direct_debit")
