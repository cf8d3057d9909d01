from django.contrib import admin

from flex.records_admin import RecordAdmin
from privacy.models import Disclosure


@admin.register(Disclosure)
class DisclosureAdmin(RecordAdmin):
    list_display = ["at", "partner", "subscriber", "purpose", "categories"]
    list_filter = ["partner", "purpose"]
    search_fields = ["subscriber__last_name", "subscriber__email", "purpose"]
    list_select_related = ["partner", "subscriber"]
    date_hierarchy = "at"
