"""Finance's room in the admin: the open receivables with their age (PAY-2) and the dashboard that
shows invoiced against collected, what is outstanding by age and how many collections succeed.

Both only read. The list is the invoices still open, oldest due date first, filtered by ageing bucket
through a due-date range (the index on status and due date serves it); the dashboard is three GROUP
BY queries (billing/receivables.py) drawn as server-side SVG (flex/charts.py), with each chart's
numbers in a table under it.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import dateformat, formats
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from billing import receivables, rules
from billing.choices import AgeingBucket
from billing.models import OpenReceivable, PaidBy
from flex import clock
from flex.admin_site import AdminPage
from flex.charts import Series, bar_chart
from flex.large_tables import EMAIL, INVOICE_NUMBER, NAME, Finder, upper
from flex.money import format_eur
from flex.window_admin import WindowAdmin

DASHBOARD_PERMISSION = "billing.view_finance_dashboard"


class AgeFilter(admin.SimpleListFilter):
    """PAY-2: how far past the due date (not yet due; 1–30, 31–60, 61–90, more than 90 days overdue),
    as a range of due dates (`rules.due_dates_in_bucket`), which the (status, due date) index serves."""

    title = _("age")
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return AgeingBucket.choices

    def queryset(self, request, queryset):
        if self.value() not in AgeingBucket.values:
            return queryset
        earliest, latest = rules.due_dates_in_bucket(self.value(), clock.today())
        if earliest is not None:
            queryset = queryset.filter(due_date__gte=earliest)
        if latest is not None:
            queryset = queryset.filter(due_date__lte=latest)
        return queryset


@admin.register(OpenReceivable)
class OpenReceivableAdmin(WindowAdmin):
    """The invoices with something left to pay, oldest due date first, with what is open on each and
    how late it is (PAY-2: in default from the day after the due date). A page is one query for its rows
    (the amount open is a subquery per row) and one capped count."""

    list_display = [
        "invoice_number",
        "subscriber",
        "kind",
        "issue_date",
        "due_date",
        "days_overdue",
        "age",
        "gross_total",
        "amount_paid",
        "amount_open",
    ]
    list_filter = [AgeFilter, "kind"]
    list_select_related = ["subscriber"]
    finders = (
        Finder(_("invoice number"), ("number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(
            _("customer's name"),
            ("subscriber__last_name__icontains", "subscriber__organisation_name__icontains"),
            shape=NAME,
            words=True,
        ),
    )
    ordering = ["due_date"]
    sortable_by = []

    def get_queryset(self, request):
        return receivables.open_receivables(super().get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "today": clock.today()}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("number"))
    def invoice_number(self, invoice):
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_invoice_change", args=[invoice.pk]), invoice)

    @admin.display(description=_("days overdue"))
    def days_overdue(self, invoice):
        return max(0, rules.days_past_due(invoice.due_date, clock.today()))

    @admin.display(description=_("age"))
    def age(self, invoice):
        return rules.ageing_bucket(rules.days_past_due(invoice.due_date, clock.today())).label

    @admin.display(description=_("paid"))
    def amount_paid(self, invoice):
        return format_eur(invoice.amount_paid)

    @admin.display(description=_("open"))
    def amount_open(self, invoice):
        return format_eur(invoice.amount_open)


@require_GET
def dashboard_view(request):
    """The finance dashboard: three charts, each with its numbers in a table (PAY-1, PAY-2)."""
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("Finance dashboard"),
        **finance_dashboard(clock.today()),
        "receivables_url": reverse("admin:billing_openreceivable_changelist"),
    }
    return TemplateResponse(request, "admin/billing/finance_dashboard.html", context)


admin.site.register_page(
    AdminPage(
        app_label="billing",
        route="finance-dashboard/",
        name=_("Finance dashboard"),
        url_name="billing_finance_dashboard",
        permission=DASHBOARD_PERMISSION,
        view=dashboard_view,
    )
)


def _month(day) -> tuple[str, str]:
    """A month on the axis: its short name, the year under it."""
    return dateformat.format(day, "M"), dateformat.format(day, "Y")


# The ageing buckets on the chart's axis (the table under it gives their full names).
AXIS_AGES = {
    AgeingBucket.NOT_DUE: _("not due"),
    AgeingBucket.DAYS_1_30: "1–30",
    AgeingBucket.DAYS_31_60: "31–60",
    AgeingBucket.DAYS_61_90: "61–90",
    AgeingBucket.OVER_90: "> 90",
}


def _euros(amount) -> str:
    """An axis label: whole euros."""
    return "€ " + formats.number_format(int(amount), 0, force_grouping=True)


def _percent(value) -> str:
    return formats.number_format(value, 1) + " %"


def finance_dashboard(today) -> dict:
    """The dashboard's charts and tables on `today`: three queries."""
    months = receivables.invoiced_and_collected(today)
    ageing = receivables.ageing(today)
    overall, by_source = receivables.collection_success(today)
    month_names = [_month(row.month) for row in months]
    money_chart = bar_chart(
        chart_id="invoiced-collected",
        title=gettext("Invoiced and collected per month"),
        description=gettext(
            "Invoiced (incl. VAT, by invoice date) and collected (payments by booking date, reversed ones "
            "left out) for each of the last 12 months; the table below gives the amounts."
        ),
        categories=month_names,
        series=[
            Series(gettext("invoiced"), [row.invoiced for row in months]),
            Series(gettext("collected"), [row.collected for row in months]),
        ],
        format_value=format_eur,
        format_tick=_euros,
    )
    ageing_chart = bar_chart(
        chart_id="outstanding-by-age",
        title=gettext("Outstanding by age"),
        description=gettext(
            "What is open on invoices, by days past the due date; the table below gives the amounts and "
            "the number of invoices."
        ),
        categories=[
            (str(AXIS_AGES[row.bucket]), gettext("days") if row.bucket != AgeingBucket.NOT_DUE else "")
            for row in ageing
        ],
        series=[Series(gettext("open"), [row.amount_open for row in ageing])],
        format_value=format_eur,
        format_tick=_euros,
    )
    success_chart = bar_chart(
        chart_id="collection-success",
        title=gettext("Collection success rate per month"),
        description=gettext(
            "Collections settled as a share of the collections submitted, per month of the collection "
            "date; the table below gives the numbers."
        ),
        categories=[_month(row.month) for row in overall],
        series=[Series(gettext("settled / submitted"), [row.rate for row in overall])],
        format_value=_percent,
        top=100,
    )
    return {
        "today": today,
        "months": months,
        "months_total": {
            "invoiced": sum(row.invoiced for row in months),
            "credited": sum(row.credited for row in months),
            "collected": sum(row.collected for row in months),
        },
        "ageing": ageing,
        "ageing_total": {
            "count": sum(row.count for row in ageing),
            "amount_open": sum(row.amount_open for row in ageing),
        },
        "collections": overall,
        "collections_by_source": [(row, PaidBy(row.source).label) for row in by_source],
        "money_chart": money_chart,
        "ageing_chart": ageing_chart,
        "success_chart": success_chart,
    }
