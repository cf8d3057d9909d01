from django.contrib import admin

from flex.audit.models import AuditEvent
from flex.records_admin import RecordAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(RecordAdmin):
    list_display = ["at", "actor", "action", "target_type", "target_id", "rule", "reason"]
    list_filter = ["action", "rule", "target_type"]
    search_fields = ["actor", "target_id", "reason"]
    list_select_related = ["target_type"]
    date_hierarchy = "at"
