from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.indexes import OpClass
from django.db import models


class AuditEvent(models.Model):
    """One thing a person, partner or job did through a service, with the rule and reason.

    Written by every service in its own transaction; row-level history comes from django-pghistory
    on PostgreSQL, this row says who acted and why on every database (also SQLite).
    """

    at = models.DateTimeField(db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="Who acted: a user's e-mail, partner:<code> or system:<job>")
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64)
    rule = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["-at", "-id"], name="audit_list_order"),
            models.Index(fields=["rule"], name="audit_rule"),
            models.Index(fields=["target_id"], name="audit_target"),
            # the admin finds an actor by the start of its label (LIKE 'partner:%'): a pattern index
            models.Index(OpClass("actor", name="varchar_pattern_ops"), name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
