"""The admin's window on the bank's files (imported by `billing.admin`): the files and what each line
did, the finance queue of unmatched transfers, and the reason-code policies (read-only).

Nothing is edited here. A file comes in through the upload form on the bank-file list (finance, with
`billing.import_bankfile`), which calls `import_bank_file`; a queued transfer is assigned or marked to
be refunded through actions that call their services (audited).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import BankFile, BankFileEntry, BankFileSource, EntryOutcome, ReturnReasonPolicy, UnmatchedTransfer
from flex.audit.trail import Actor
from flex.large_tables import INVOICE_NUMBER, Finder, upper
from flex.records_admin import RecordInline
from flex.refusals import Refused
from flex.window_admin import WindowAdmin

END_TO_END_ID = r"F\d{4}-\d+-\d+"
MAX_UPLOAD = 50 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label=_("bank file (pain.002, camt.054 or camt.053 XML)"))


class EntryInline(RecordInline):
    model = BankFileEntry
    fields = [
        "line",
        "end_to_end_id",
        "status_or_direction",
        "amount",
        "reason_code",
        "booking_date",
        "counterparty_name",
        "remittance_info",
        "outcome",
        "detail",
        "collection",
        "payment",
        "invoice",
    ]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("collection", "payment", "invoice")


@admin.register(BankFile)
class BankFileAdmin(WindowAdmin):
    """Every file the bank sent, imported once, with what each of its lines did (PAY-1)."""

    change_list_template = "admin/billing/bankfile/change_list.html"
    list_display = [
        "message_id",
        "kind",
        "imported_at",
        "source",
        "entry_count",
        "settled_count",
        "rejected_count",
        "matched_count",
        "unmatched_count",
        "needs_staff_count",
        "ignored_count",
        "status",
        "download",
    ]
    list_filter = ["kind", "source"]
    finders = (Finder(_("message id"), ("message_id__startswith",), shape=r"\S+"),)
    sortable_by = ["imported_at"]
    readonly_fields = ["status", "download"]
    inlines = [EntryInline]

    @admin.display(description=_("status"))
    def status(self, bank_file):
        return bank_file.status

    @admin.display(description=_("file"))
    def download(self, bank_file):
        url = reverse("admin:billing_bankfile_file", args=[bank_file.pk])
        return format_html(
            '<a href="{}">{}</a> <small>sha256 {}…</small>', url, bank_file.file_name, bank_file.sha256[:12]
        )

    def may_import(self, request) -> bool:
        return request.user.has_perm("billing.import_bankfile")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {})}
        if self.may_import(request):
            extra_context["upload_form"] = UploadForm()
            extra_context["upload_url"] = reverse("admin:billing_bankfile_upload")
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="billing_bankfile_upload"),
            path("<int:object_id>/file/", self.admin_site.admin_view(self.file_view), name="billing_bankfile_file"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.may_import(request):
            raise PermissionDenied
        back = reverse("admin:billing_bankfile_changelist")
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            self.message_user(request, gettext("Choose a file to import."), messages.ERROR)
            return HttpResponseRedirect(back)
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            self.message_user(request, gettext("The file is larger than 50 MB."), messages.ERROR)
            return HttpResponseRedirect(back)
        try:
            result = services.import_bank_file(
                upload.read(), file_name=upload.name, actor=Actor.of_user(request.user), source=BankFileSource.UPLOAD
            )
        except Refused as refused:
            self.message_user(request, str(refused.refusal), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(request, result.message, messages.SUCCESS if result.created else messages.WARNING)
        return HttpResponseRedirect(reverse("admin:billing_bankfile_change", args=[result.bank_file.pk]))

    def file_view(self, request, object_id):
        bank_file = get_object_or_404(BankFile, pk=object_id)
        if not self.has_view_permission(request, bank_file):
            raise PermissionDenied
        if not bank_file.file:
            raise Http404("no file stored")
        return FileResponse(
            bank_file.file.open("rb"), as_attachment=True, filename=bank_file.file_name, content_type="application/xml"
        )


@admin.register(BankFileEntry)
class BankFileEntryAdmin(WindowAdmin):
    """Every line of every bank file and what it did."""

    list_display = [
        "bank_file",
        "line",
        "end_to_end_id",
        "status_or_direction",
        "amount",
        "reason_code",
        "booking_date",
        "counterparty_name",
        "outcome",
        "policy",
        "detail",
    ]
    list_filter = ["outcome", "policy"]
    finders = (
        Finder(_("end-to-end id"), ("end_to_end_id",), shape=END_TO_END_ID, prepare=upper),
        Finder(_("invoice number"), ("invoice__number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
    )
    list_select_related = ["bank_file"]
    sortable_by = []


class AssignForm(ActionForm):
    invoice_number = forms.CharField(label=_("invoice number"), required=False, max_length=40)
    subscriber = forms.IntegerField(label=_("or subscriber number"), required=False, min_value=1)
    reason = forms.CharField(label=_("reason"), required=False, max_length=200)


@admin.register(UnmatchedTransfer)
class UnmatchedTransferAdmin(WindowAdmin):
    """The finance queue: incoming transfers no invoice number matched (PAY-1). Select one, fill in the
    invoice number (or the subscriber number) and run "Assign"; or mark it to be refunded."""

    list_display = [
        "booking_date",
        "amount",
        "counterparty_name",
        "counterparty_iban",
        "remittance_info",
        "detail",
        "bank_file",
    ]
    list_select_related = ["bank_file"]
    sortable_by = []
    action_form = AssignForm
    actions = ["assign", "mark_to_refund"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(outcome=EntryOutcome.UNMATCHED)

    def has_resolve_permission(self, request):
        return request.user.has_perm("billing.resolve_bankfileentry")

    def _each(self, request, queryset, service, **kwargs):
        done = 0
        for entry in queryset:
            try:
                service(entry.pk, actor=Actor.of_user(request.user), reason=request.POST.get("reason", ""), **kwargs)
                done += 1
            except Refused as refused:
                self.message_user(request, f"{entry}: {refused.refusal}", messages.ERROR)
        if done:
            self.message_user(
                request, gettext("%(count)d transfer(s) done (PAY-1).") % {"count": done}, messages.SUCCESS
            )

    @admin.action(description=_("Assign to the invoice (or subscriber) given"), permissions=["resolve"])
    def assign(self, request, queryset):
        number = request.POST.get("invoice_number", "").strip()
        subscriber = request.POST.get("subscriber", "").strip()
        self._each(
            request,
            queryset,
            services.assign_transfer,
            invoice_number=number,
            subscriber_id=int(subscriber) if subscriber.isdigit() else None,
        )

    @admin.action(description=_("Mark to be refunded to the payer"), permissions=["resolve"])
    def mark_to_refund(self, request, queryset):
        self._each(request, queryset, services.mark_transfer_to_refund)


@admin.register(ReturnReasonPolicy)
class ReturnReasonPolicyAdmin(WindowAdmin):
    """What each ISO 20022 reason code leads to, with the source of its meaning (read-only: data)."""

    list_display = ["code", "meaning", "action", "source"]
    sortable_by = ["code"]
