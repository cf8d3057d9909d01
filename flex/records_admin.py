from django.contrib import admin


class RecordAdmin(admin.ModelAdmin):
    """Admin for records of fact (audit events, disclosures, remembered API answers): read, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
