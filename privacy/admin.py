from django.contrib import admin

from accounts.models import Disclosure
from flex.records_admin import RecordAdmin


@admin.register(Disclosure)
class DisclosureAdmin(RecordAdmin):
    list_display = ["at", "partner", "subscriber", "purpose", "categories", "reference"]
    list_filter = ["partner", "purpose"]
    search_fields = ["subscriber__last_name", "subscriber__email", "purpose", "reference"]
    list_select_related = ["partner", "subscriber"]
    date_hierarchy = "at"
