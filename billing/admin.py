from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from sequences.models import Sequence

from billing import pdf, selectors, services
from billing.models import (
    Application,
    ApplicationAddOn,
    ApplicationCheck,
    ApplicationStatus,
    BillingRun,
    Invoice,
    InvoiceIssuer,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    RefusalReason,
    RefusalRecord,
    Subscription,
    SubscriptionAddOn,
    SubscriptionUnit,
    TerminationGround,
    TermsVersion,
)
from billing.payments_admin import refund_credit_balance_action
from billing.services import terms
from flex.audit.trail import Actor
from flex.large_tables import DIGITS, EMAIL, INVOICE_NUMBER, NAME, REFERENCE, SERIAL, Finder, upper
from flex.records_admin import RecordAdmin, RecordInline
from flex.refusals import Refused
from flex.transition_admin import TransitionAdminMixin
from flex.window_admin import RefusalCheckingForm, WindowAdmin


class AddOnInline(RecordInline):
    """Add-ons change only through the add-on service (PLAN-4, PLAN-5), never by editing this table."""

    model = SubscriptionAddOn
    fields = ["product", "added_on", "removed_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class UnitInline(RecordInline):
    model = SubscriptionUnit
    fields = ["unit", "allocated_at", "returned_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit__product")


class InvoiceInline(RecordInline):
    model = Invoice
    fields = ["number", "kind", "issue_date", "due_date", "gross_total", "status"]
    show_change_link = True


@admin.register(Subscription)
class SubscriptionAdmin(TransitionAdminMixin):
    """A contract: its subscriber, plan and payment method carry rules (REG-9, PLAN-3, PLAN-5, PAY-1)
    and change only through services; its status only through the buttons."""

    list_display = [
        "id",
        "subscriber",
        "plan",
        "status",
        "start_date",
        "minimum_term_end",
        "end_date",
        "payment_method",
    ]
    list_filter = ["status", "payment_method", "plan", "notice_by", "termination_ground", "accepted_at"]
    finders = (
        Finder(_("number"), ("pk",), shape=DIGITS),
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(
            _("subscriber's name"),
            ("subscriber__last_name__icontains", "subscriber__organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
    )
    list_select_related = ["subscriber", "plan"]
    sortable_by = ["id"]  # a column sorts only where a unique index serves the order (issue 13)
    readonly_fields = [
        "status",
        "accepted_at",
        "start_date",
        "minimum_term_end",
        "notice_given_on",
        "notice_by",
        "end_date",
        "termination_ground",
        "ended_on",
    ]
    fields = ["subscriber", "plan", "payment_method", *readonly_fields]
    inlines = [AddOnInline, UnitInline, InvoiceInline]
    transition_services = {
        "give_notice": services.give_notice,
        "withdraw": services.withdraw,
        "terminate_with_notice": services.terminate_with_notice,
        "terminate_immediately": services.terminate_immediately,
        "request_return": services.request_return,
        "end": services.end_subscription,
    }
    transition_choices = {"terminate_immediately": ("ground", TerminationGround.choices)}


class InvoiceLineInline(RecordInline):
    model = InvoiceLine
    fields = ["description", "quantity", "unit_price", "vat_rate", "net", "vat", "gross"]


class AllocationInline(RecordInline):
    """The payments that settle this invoice, in parts or whole; a reversed payment's part no longer counts."""

    model = PaymentAllocation
    fields = ["payment", "amount", "allocated_at", "payment_status"]
    verbose_name_plural = _("payments allocated")

    @admin.display(description=_("payment status"))
    def payment_status(self, allocation):
        return allocation.payment.get_status_display()


class PaymentAllocationInline(RecordInline):
    model = PaymentAllocation
    fields = ["invoice", "amount", "allocated_at"]
    verbose_name_plural = _("allocated to")


@admin.register(Invoice)
class InvoiceAdmin(WindowAdmin):
    """An issued invoice (or credit note) is a tax document: never edited, never deleted; a correction is
    a credit note (Wet OB 1968 art. 35a)."""

    list_display = [
        "number",
        "subscriber",
        "kind",
        "issue_date",
        "period_start",
        "due_date",
        "gross_total",
        "status",
        "emailed_at",
    ]
    list_filter = ["status", "kind", "issue_date"]
    finders = (
        Finder(_("invoice number"), ("number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
        Finder(_("application reference"), ("application__reference__startswith",), shape=REFERENCE, prepare=upper),
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(
            _("customer's name"),
            ("subscriber__last_name__icontains", "subscriber__organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
    )
    list_select_related = ["subscriber"]
    sortable_by = ["number"]
    inlines = [InvoiceLineInline, AllocationInline]
    change_form_template = "admin/billing/invoice/change_form.html"

    def get_list_display(self, request):
        return [*super().get_list_display(request), "pdf_link"]

    @admin.display(description=_("document"))
    def pdf_link(self, invoice):
        return format_html('<a href="{}" download>PDF</a>', reverse("admin:billing_invoice_pdf", args=[invoice.pk]))

    def get_urls(self):
        return [
            path(
                "<int:object_id>/pdf/",
                self.admin_site.admin_view(require_GET(self.pdf_view)),
                name="billing_invoice_pdf",
            ),
            path(
                "<int:object_id>/credit/",
                self.admin_site.admin_view(require_POST(self.credit_view)),
                name="billing_invoice_credit",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["pdf_url"] = reverse("admin:billing_invoice_pdf", args=[obj.pk])
            may_credit = request.user.has_perm("billing.issue_credit_note")
            if may_credit and obj.kind != InvoiceKind.CREDIT_NOTE and obj.status != InvoiceStatus.CREDITED:
                context["credit_url"] = reverse("admin:billing_invoice_credit", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def credit_view(self, request, object_id):
        """Finance corrects the invoice with a credit note (Wet OB 1968 art. 35a), with a reason; a refusal
        comes back as a message naming its rule."""
        if not request.user.has_perm("billing.issue_credit_note"):
            raise PermissionDenied
        invoice = get_object_or_404(self.get_queryset(request), pk=object_id)
        try:
            credit = services.credit_invoice(
                invoice.pk, reason=request.POST.get("reason", ""), actor=Actor.of_user(request.user)
            )
        except Refused as refused:
            self.message_user(request, str(refused.refusal), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Credit note %(credit)s issued for %(number)s.")
                % {"credit": credit.number, "number": invoice.number},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))

    def pdf_view(self, request, object_id):
        """The invoice or credit note as its customer gets it (Wet OB 1968 art. 35a), for anyone who may
        view invoices here; reading it changes nothing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = selectors.invoice_document(self.get_queryset(request).filter(pk=object_id))
        if invoice is None:
            raise Http404("no such invoice")
        return pdf.download(invoice)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(WindowAdmin):
    list_display = ["invoice", "description", "quantity", "unit_price", "gross"]
    list_select_related = ["invoice"]
    finders = (Finder(_("invoice number"), ("invoice__number__startswith",), shape=INVOICE_NUMBER, prepare=upper),)
    sortable_by = []


@admin.register(Payment)
class PaymentAdmin(WindowAdmin):
    """Payments arrive from the payment provider, the bank's files and direct-debit collections through
    `billing.services.payments` (PAY-1), which allocates them to invoices; none is typed in here."""

    list_display = [
        "provider_reference",
        "subscriber",
        "invoice",
        "amount",
        "unallocated",
        "method",
        "status",
        "booked_on",
        "received_at",
    ]
    list_filter = ["method", "status", "received_at"]
    finders = (
        Finder(_("invoice number"), ("invoice__number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
        Finder(_("reference"), ("provider_reference",), shape=r"\S+"),
    )
    list_select_related = ["invoice", "subscriber"]
    inlines = [PaymentAllocationInline]
    sortable_by = []
    actions = [refund_credit_balance_action]

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_payment")


@admin.register(SubscriptionAddOn)
class SubscriptionAddOnAdmin(WindowAdmin):
    list_display = ["subscription", "product", "added_on", "removed_on"]
    list_select_related = ["subscription__subscriber", "subscription__plan", "product"]
    finders = (
        Finder(_("subscription number"), ("subscription",), shape=DIGITS),
        Finder(_("subscriber's name"), ("subscription__subscriber__last_name__icontains",), shape=NAME, words=True),
    )


@admin.register(SubscriptionUnit)
class SubscriptionUnitAdmin(WindowAdmin):
    list_display = ["unit", "subscription", "allocated_at", "returned_at"]
    list_select_related = ["unit__product", "subscription__subscriber", "subscription__plan"]
    finders = (
        Finder(_("serial number"), ("unit__serial_number__startswith",), shape=SERIAL, prepare=upper),
        Finder(_("subscriber's name"), ("subscription__subscriber__last_name__icontains",), shape=NAME, words=True),
    )


class CheckInline(RecordInline):
    model = ApplicationCheck
    fields = ["kind", "outcome", "detail", "attempts", "checked_at"]


class ApplicationAddOnInline(RecordInline):
    model = ApplicationAddOn
    fields = ["product"]


class ApplicationInvoiceInline(InvoiceInline):
    fk_name = "application"


class AwaitingReviewFirst(admin.SimpleListFilter):
    """The review queue: applications waiting for a decision, oldest first (REG-6)."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("review", "Review queue (oldest first)"),
            ("stock", "Awaiting stock"),
            ("unavailable", "Check unavailable"),
        ]

    def queryset(self, request, queryset):
        # Both queues keep the list's order, oldest application first (an index on status, submitted_at, id).
        if self.value() == "review":
            return queryset.filter(status=ApplicationStatus.AWAITING_REVIEW)
        if self.value() == "stock":
            return queryset.filter(status=ApplicationStatus.AWAITING_STOCK)
        if self.value() == "unavailable":  # a semi-join: no DISTINCT over the whole list
            return queryset.filter(pk__in=ApplicationCheck.objects.filter(outcome="unavailable").values("application"))
        return queryset


@admin.register(Application)
class ApplicationAdmin(TransitionAdminMixin):
    list_display = [
        "reference",
        "subscriber",
        "plan",
        "status",
        "submitted_at",
        "waiting",
        "check_summary",
        "payment_method",
        "refusal_rule",
    ]
    list_filter = [AwaitingReviewFirst, "status", "payment_method", "plan", "refusal_reason", "submitted_at"]
    finders = (
        Finder(_("reference"), ("reference__startswith",), shape=REFERENCE, prepare=upper),
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(
            _("applicant's name"),
            ("subscriber__last_name__icontains", "subscriber__organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
    )
    list_select_related = ["subscriber", "plan"]
    ordering = ["submitted_at", "id"]
    sortable_by = ["reference"]
    inlines = [CheckInline, ApplicationAddOnInline, ApplicationInvoiceInline]
    actions = ["retry_unavailable_checks"]
    transition_services = {
        "accept": services.accept_application,
        "refuse": services.refuse_application,
    }
    transition_choices = {"refuse": ("refusal_reason", RefusalReason.choices)}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("checks")

    @admin.display(description="waiting")
    def waiting(self, application):
        from flex import clock

        if application.status != ApplicationStatus.AWAITING_REVIEW or not application.submitted_at:
            return ""
        hours = int((clock.now() - application.submitted_at).total_seconds() // 3600)
        return f"{hours // 24} d {hours % 24} h"

    @admin.display(description="checks")
    def check_summary(self, application):
        symbols = {"passed": "✔", "failed": "✘", "pending": "…", "unavailable": "?"}
        return " ".join(f"{symbols[c.outcome]}{c.rule}" for c in application.checks.all())

    @admin.action(description="Run unavailable checks again", permissions=["review"])
    def retry_unavailable_checks(self, request, queryset):
        count = sum(
            services.retry_checks(pk, actor=Actor.of_user(request.user)) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{count} checks started again.")

    def has_review_permission(self, request):
        return request.user.has_perm("billing.review_application")


class TermsVersionForm(RefusalCheckingForm):
    class Meta:
        model = TermsVersion
        fields = ["version", "title", "url", "in_force_from"]

    def refusal(self):
        return terms.terms_refusal(self.cleaned_data["in_force_from"])


@admin.register(TermsVersion)
class TermsVersionAdmin(WindowAdmin):
    """A new terms version is published here through `billing.services.terms.publish_terms` (REG-2
    records which one an applicant accepted): after the first, it comes into force at least 30 days
    after it is published (PAY-7, PRIV-10). A published version is never rewritten."""

    list_display = ["version", "title", "in_force_from", "url"]
    ordering = ["-in_force_from"]
    addable = True
    form = TermsVersionForm

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        obj.pk = terms.publish_terms(
            version=data["version"],
            title=data["title"],
            url=data["url"],
            in_force_from=data["in_force_from"],
            actor=Actor.of_user(request.user),
        ).pk


@admin.register(RefusalRecord)
class RefusalRecordAdmin(RecordAdmin):
    """PRIV-5: what is kept of an applicant under 16 (nothing about the person)."""

    list_display = ["refused_on", "rule", "reason", "stage"]
    list_filter = ["rule", "stage"]


# Invoice numbers are gapless per year (Wet OB 1968 art. 35a), handed out by django-sequences inside
# the invoicing transaction: the counters can be looked at, never edited or reset.
admin.site.unregister(Sequence)


@admin.register(Sequence)
class SequenceAdmin(RecordAdmin):
    list_display = ["name", "last"]
    ordering = ["name"]
    search_fields = ["name"]


@admin.register(BillingRun)
class BillingRunAdmin(RecordAdmin):
    """PAY-1: the monthly runs, for finance to see when each ran, how far it got, what it invoiced and
    what failed. A run is a record; rerunning a day is the job's business (it resumes, never doubles)."""

    list_display = [
        "run_on",
        "status",
        "started_at",
        "duration",
        "subscriptions_due",
        "progress",
        "invoices_issued",
        "gross_total",
        "error_count",
    ]
    list_filter = ["status"]
    ordering = ["-started_at", "-id"]
    sortable_by = []

    @admin.display(description=_("chunks done"))
    def progress(self, run):
        return f"{run.chunks_done} / {run.chunks}"

    @admin.display(description=_("errors"))
    def error_count(self, run):
        return len(run.errors)


@admin.register(InvoiceIssuer)
class InvoiceIssuerAdmin(RecordAdmin):
    """The supplier's details each invoice names (Wet OB 1968 art. 35a), dated: an invoice keeps the
    row in force on its date. Read-only: a new row comes from the settings at deployment."""

    list_display = ["valid_from", "name", "vat_number", "kvk_number", "source"]
    ordering = ["-valid_from"]


# Mandates and direct-debit batches have their own room (billing/direct_debit/admin.py), open receivables
# and the finance dashboard theirs (billing/receivables_admin.py), the bank's files, what each line did
# and the finance queue theirs (billing/bank_files/admin.py).
from billing import receivables_admin  # noqa: E402, F401
from billing.bank_files import admin as bank_files_admin  # noqa: E402, F401
from billing.direct_debit import admin as direct_debit_admin  # noqa: E402, F401
