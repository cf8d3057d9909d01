from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "flex.audit"
    label = "audit"
    verbose_name = "Audit trail"
