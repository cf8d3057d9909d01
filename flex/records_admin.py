from django.contrib import admin

from flex.large_tables import LargeTableAdmin


class RecordAdmin(LargeTableAdmin):
    """Admin for records of fact (audit events, disclosures, remembered API answers): read, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecordInline(admin.TabularInline):
    """Related records shown on their parent's page, read-only: every field listed in `fields`."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
