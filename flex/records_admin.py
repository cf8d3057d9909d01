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


class StoredFileAdminMixin:
    """A batch whose bank file is stored (`file`, `message_id`, `file_sha256`): a download link in the list
    and a view that serves the file to whoever may view the batch (reading it changes nothing)."""

    file_label = "XML"

    def _file_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_file"

    def file_link(self, batch):
        from django.urls import reverse
        from django.utils.html import format_html

        if not batch.file:
            return "—"
        url = reverse(f"admin:{self._file_url_name()}", args=[batch.pk])
        label = getattr(batch, "file_version", "") or self.file_label
        return format_html('<a href="{}">{}</a> <small>sha256 {}…</small>', url, label, batch.file_sha256[:12])

    def get_urls(self):
        from django.urls import path

        view = self.admin_site.admin_view(self.file_view)
        return [path("<int:object_id>/file/", view, name=self._file_url_name()), *super().get_urls()]

    def file_view(self, request, object_id):
        from django.core.exceptions import PermissionDenied
        from django.http import FileResponse, Http404
        from django.shortcuts import get_object_or_404

        batch = get_object_or_404(self.model, pk=object_id)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        if not batch.file:
            raise Http404("no file written for this batch yet")
        return FileResponse(
            batch.file.open("rb"),
            as_attachment=True,
            filename=f"{batch.message_id}.xml",
            content_type="application/xml",
        )
