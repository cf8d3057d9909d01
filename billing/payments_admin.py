"""The admin's window on card charges, the provider's events, refunds and credit-transfer batches for
finance (imported by `billing.admin`; PAY-1, WD-2, TERM-4).

Nothing here is edited. Actions call services, checked against their own permission: "refund the
credit balance" (billing.refund_payment) on payments, "record as returned" on refunds, "executed by
the bank" (billing.settle_credittransferbatch) on credit-transfer batches; each service writes its
audit event. The pain.001 file is downloaded through a view that checks the permission to see batches.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import CardCharge, CreditTransferBatch, ProviderEvent, Refund
from flex.audit.trail import Actor
from flex.large_tables import INVOICE_NUMBER, Finder, upper
from flex.records_admin import StoredFileAdminMixin
from flex.refusals import Refused
from flex.window_admin import WindowAdmin


@admin.register(CardCharge)
class CardChargeAdmin(WindowAdmin):
    """Each attempt to charge a card payer's invoice (PAY-1): made by the daily job, moved by the
    provider's events; finance looks, nobody types."""

    list_display = [
        "idempotency_key",
        "invoice",
        "subscriber",
        "attempt",
        "amount",
        "status",
        "failure_code",
        "next_attempt_on",
        "gave_up_at",
        "requested_at",
    ]
    list_filter = ["status", "failure_code"]
    finders = (
        Finder(_("invoice number"), ("invoice__number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
        Finder(_("provider's payment id"), ("provider_payment_id",), shape=r"\S+"),
    )
    list_select_related = ["invoice", "subscriber"]
    sortable_by = []


@admin.register(ProviderEvent)
class ProviderEventAdmin(WindowAdmin):
    list_display = ["event_id", "event_type", "payment_id", "occurred_at", "received_at", "outcome"]
    list_filter = ["event_type"]
    finders = (Finder(_("provider's payment id"), ("payment_id",), shape=r"\S+"),)
    sortable_by = []


@admin.register(Refund)
class RefundAdmin(WindowAdmin):
    """Money paid back (PAY-1, TERM-1, TERM-4, WD-2): requested by services (a withdrawal, a refused
    application, finance refunding a credit balance on the payments page), sent by the provider or in
    the day's pain.001 file."""

    list_display = [
        "key",
        "subscriber",
        "payment",
        "amount",
        "route",
        "status",
        "rule",
        "reason",
        "external_reference",
        "requested_at",
    ]
    list_filter = ["status", "route", "rule"]
    finders = (Finder(_("refund reference"), ("external_reference",), shape=r"\S+"),)
    list_select_related = ["payment", "subscriber"]
    sortable_by = []
    actions = ["record_returned"]

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_payment")

    @admin.action(description=_("Record as returned by the bank (the credit comes back)"), permissions=["refund"])
    def record_returned(self, request, queryset):
        actor = Actor.of_user(request.user)
        for item in queryset:
            services.fail_refund(item.pk, reason="returned (recorded in the admin)", actor=actor)
        self.message_user(request, _("Refunds recorded as returned."), messages.SUCCESS)


@admin.register(CreditTransferBatch)
class CreditTransferBatchAdmin(StoredFileAdminMixin, WindowAdmin):
    """One execution date's pain.001.001.03 file of refunds for finance: status, count, total, the file."""

    file_label = "pain.001.001.03"

    list_display = [
        "message_id",
        "execution_date",
        "status",
        "transaction_count",
        "control_sum",
        "download",
        "submitted_at",
    ]
    list_filter = ["status"]
    readonly_fields = ["download"]
    sortable_by = ["execution_date"]
    actions = ["record_executed"]

    @admin.display(description=_("file"))
    def download(self, batch):
        return self.file_link(batch)

    def has_settle_permission(self, request) -> bool:
        return request.user.has_perm("billing.settle_credittransferbatch")

    @admin.action(description=_("Executed by the bank: complete its refunds"), permissions=["settle"])
    def record_executed(self, request, queryset):
        actor = Actor.of_user(request.user)
        for batch in queryset:
            try:
                services.complete_credit_transfer_batch(batch.pk, actor=actor)
            except Refused as refused:
                self.message_user(request, str(refused.refusal), messages.ERROR)
                return
        self.message_user(request, _("Batches recorded as executed."), messages.SUCCESS)


def refund_credit_balance_action(modeladmin, request, queryset):
    """On payments: pay the credit balance of the selected payments' subscribers back (PAY-1)."""
    actor = Actor.of_user(request.user)
    count = 0
    for subscriber_id in sorted(set(queryset.values_list("subscriber_id", flat=True))):
        try:
            count += len(
                services.refund_credit_balance(subscriber_id, reason="credit balance refunded by finance", actor=actor)
            )
        except Refused as refused:
            modeladmin.message_user(request, str(refused.refusal), messages.ERROR)
    modeladmin.message_user(request, _("%(count)d refund(s) requested.") % {"count": count}, messages.SUCCESS)


refund_credit_balance_action.short_description = _("Refund the credit balance of these subscribers")
refund_credit_balance_action.allowed_permissions = ("refund",)
