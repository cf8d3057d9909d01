from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from flex.audit.models import AuditEvent
from flex.large_tables import Finder, IndexedValuesFilter
from flex.records_admin import RecordAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(RecordAdmin):
    list_display = ["at", "actor", "action", "target_type", "target_id", "rule", "reason"]
    list_filter = [("action", IndexedValuesFilter), ("rule", IndexedValuesFilter), "target_type", "at"]
    finders = (
        Finder(_("id of the row acted on"), ("target_id",), shape=r"\d+"),
        Finder(_("actor (e-mail, partner:code, system:job)"), ("actor__startswith",), shape=r"[^\s]*[^\d\s][^\s]*"),
    )
    list_select_related = ["target_type"]
    sortable_by = []
