"""Subscriptions and the money they make: invoices and their lines (payments: payments.py)."""

from __future__ import annotations

import pghistory
import pgtrigger
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Subscriber
from billing import rules
from devices.models import DeviceUnit, Plan, Product
from flex import clock
from flex.fsm import rule_condition
from flex.money import MoneyField

# TERM-1 (terms art. 1.1.5): the minimum term is the first 3 months.
MINIMUM_TERM_MONTHS = 3
# TERM-2 / TERM-5 (terms art. 7.1, 7.2): 30 days' notice.
NOTICE_DAYS = 30
# WD-1 (terms art. 10.1): withdrawal within 14 days after the first day.
WITHDRAWAL_DAYS = 14
# PAY-2 (terms art. 8.3): an invoice is due 14 days after its date.
PAYMENT_TERM_DAYS = 14


class PaymentMethod(models.TextChoices):
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    CARD = "card", _("card")
    IDEAL = "ideal", _("iDEAL")


# PAY-1 (terms art. 8.2): the methods a subscriber can choose for the monthly fees. iDEAL is only a
# way to pay a single invoice (the prepayment), not a recurring method.
RECURRING_METHODS = [PaymentMethod.SEPA_DIRECT_DEBIT, PaymentMethod.CARD]


class SubscriptionStatus(models.TextChoices):
    PENDING_DELIVERY = "pending_delivery", _("pending delivery")
    ACTIVE = "active", _("active")
    NOTICE_GIVEN = "notice_given", _("notice given")
    AWAITING_RETURN = "awaiting_return", _("awaiting return")
    ENDED = "ended", _("ended")
    WITHDRAWN = "withdrawn", _("withdrawn")
    TERMINATED = "terminated", _("terminated by company")


class TerminationGround(models.TextChoices):
    """TERM-6 (terms art. 7.3): the grounds for terminating at once."""

    NON_PAYMENT = "non_payment", _("non-payment by a consumer (art. 7.3.1)")
    FALSE_INFORMATION = "false_information", _("false information (art. 7.3.2)")
    FRAUD = "fraud", _("(suspected) fraud (art. 7.3.3)")
    SHARED_CREDENTIALS = "shared_credentials", _("sharing portal credentials (art. 7.3.4)")
    REFUSED_REPAIR = "refused_repair", _("refusing to send in for repair (art. 7.3.5)")
    UNREMEDIED_BREACH = "unremedied_breach", _("breach not remedied (art. 7.3.6)")
    IMPROPER_USE = "improper_use", _("improper use (art. 7.3.7)")


class NoticeBy(models.TextChoices):
    SUBSCRIBER = "subscriber", _("subscriber (art. 7.1)")
    COMPANY = "company", _("company (art. 7.2)")


SS = SubscriptionStatus
# REG-9 (terms art. 3.4.1): the states in which a subscription counts as pending or live.
LIVE_STATUSES = [SS.PENDING_DELIVERY, SS.ACTIVE, SS.NOTICE_GIVEN, SS.AWAITING_RETURN]
# PAY-1, TERM-3, TERM-7: monthly fees run from delivery until the units are back, also after notice or
# a termination by the company. Whether a period after the end date is owed is settled by TERM-4 refunds.
BILLABLE_STATUSES = [SS.ACTIVE, SS.NOTICE_GIVEN, SS.AWAITING_RETURN, SS.TERMINATED]


@pghistory.track()
class Subscription(ConcurrentTransitionMixin, models.Model):
    """A subscriber's rental contract for one plan plus add-ons; its status is a state machine."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = FSMField(
        _("status"), max_length=20, choices=SubscriptionStatus.choices, default=SS.PENDING_DELIVERY, protected=True
    )
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    accepted_at = models.DateTimeField(_("accepted"), help_text=_("REG-3: the contract takes effect here."))
    start_date = models.DateField(_("start date"), null=True, blank=True, help_text=_("The delivery date."))
    minimum_term_end = models.DateField(_("minimum term ends"), null=True, blank=True)
    notice_given_on = models.DateField(_("notice given on"), null=True, blank=True)
    notice_by = models.CharField(_("notice by"), max_length=20, choices=NoticeBy.choices, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    termination_ground = models.CharField(
        _("termination ground"), max_length=30, choices=TerminationGround.choices, blank=True
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    radio_hd_reference = models.CharField(
        _("Radio HD activation"), max_length=60, blank=True, help_text=_("RADIO-1: switched on at acceptance.")
    )
    radio_hd_activated_at = models.DateTimeField(_("Radio HD on since"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-accepted_at", "-id"]
        permissions = [
            ("give_notice_subscription", "Can give notice on behalf of a subscriber"),
            ("withdraw_subscription", "Can record a withdrawal"),
            ("terminate_subscription", "Can terminate a subscription for the company"),
            ("activate_subscription", "Can start a subscription on delivery"),
            ("end_subscription", "Can request the units back and end a subscription"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber"],
                condition=Q(status__in=LIVE_STATUSES),
                name="one_live_subscription_per_subscriber",
            ),
        ]
        # The admin's list order and each of its filters, in that order (issue 13).
        indexes = [
            models.Index(fields=["-accepted_at", "-id"], name="subscription_list_order"),
            models.Index(fields=["status", "-accepted_at", "-id"], name="subscription_status_order"),
            models.Index(fields=["payment_method", "-accepted_at", "-id"], name="subscription_method_order"),
            models.Index(fields=["plan", "-accepted_at", "-id"], name="subscription_plan_order"),
            models.Index(
                fields=["notice_by", "-accepted_at", "-id"], condition=~Q(notice_by=""), name="subscription_notice_by"
            ),
            models.Index(
                fields=["termination_ground", "-accepted_at", "-id"],
                condition=~Q(termination_ground=""),
                name="subscription_ground",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} – {self.plan.name}"

    @property
    def is_in_minimum_term(self) -> bool:
        return self.minimum_term_end is None or clock.today() < self.minimum_term_end

    @transition(
        field=status,
        source=SS.PENDING_DELIVERY,
        target=SS.ACTIVE,
        conditions=[rule_condition(rules.prepayment_received)],
        permission="billing.activate_subscription",
        custom={"rule": "REG-7", "label": _("activate")},
    )
    def activate(self, delivered_on) -> None:
        """Delivered: the delivery date starts the subscription and the minimum term (TERM-1)."""
        self.start_date = delivered_on
        self.minimum_term_end = clock.add_months(delivered_on, MINIMUM_TERM_MONTHS)

    @transition(
        field=status,
        source=[SS.PENDING_DELIVERY, SS.ACTIVE],
        target=SS.WITHDRAWN,
        conditions=[rule_condition(rules.within_withdrawal_period)],
        permission="billing.withdraw_subscription",
        custom={"rule": "WD-1", "label": _("withdraw")},
    )
    def withdraw(self) -> None:
        self.notice_given_on = clock.today()
        self.notice_by = NoticeBy.SUBSCRIBER

    @transition(
        field=status,
        source=SS.ACTIVE,
        target=SS.NOTICE_GIVEN,
        permission="billing.give_notice_subscription",
        custom={"rule": "TERM-2", "label": _("give notice")},
    )
    def give_notice(self) -> None:
        """TERM-2: ends on the later of notice + 30 days and the end of the minimum term."""
        self.notice_given_on = clock.today()
        self.notice_by = NoticeBy.SUBSCRIBER
        self.end_date = rules.end_date_after_notice(self.notice_given_on, self.minimum_term_end)

    @transition(
        field=status,
        source=SS.ACTIVE,
        target=SS.NOTICE_GIVEN,
        conditions=[rule_condition(rules.company_notice_ends_after_minimum_term)],
        permission="billing.terminate_subscription",
        custom={"rule": "TERM-5", "label": _("terminate with notice")},
    )
    def terminate_with_notice(self) -> None:
        self.notice_given_on = clock.today()
        self.notice_by = NoticeBy.COMPANY
        self.end_date = rules.end_date_after_notice(self.notice_given_on, self.minimum_term_end)

    @transition(
        field=status,
        source=SS.NOTICE_GIVEN,
        target=SS.AWAITING_RETURN,
        conditions=[rule_condition(rules.end_date_reached)],
        permission="billing.end_subscription",
        custom={"rule": "TERM-3", "label": _("request return")},
    )
    def request_return(self) -> None:
        """The end date has come: return instructions and labels go out; fees run until all units are back."""

    @transition(
        field=status,
        source=[SS.ACTIVE, SS.NOTICE_GIVEN],
        target=SS.TERMINATED,
        permission="billing.terminate_subscription",
        custom={"rule": "TERM-6", "label": _("terminate immediately")},
    )
    def terminate_immediately(self, ground: str) -> None:
        """TERM-7: portal access and Radio HD end at once; units must come back at once."""
        self.termination_ground = ground
        self.end_date = clock.today()

    @transition(
        field=status,
        source=[SS.AWAITING_RETURN, SS.TERMINATED],
        target=SS.ENDED,
        conditions=[rule_condition(rules.all_units_returned)],
        permission="billing.end_subscription",
        custom={"rule": "TERM-3", "label": _("end")},
    )
    def end(self) -> None:
        self.ended_on = clock.today()


@pghistory.track()
class SubscriptionAddOn(models.Model):
    """An add-on product held by a subscription (PLAN-4), from `added_on` until `removed_on`."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="addons")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    added_on = models.DateField(_("added on"))
    removed_on = models.DateField(_("removed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("add-on")
        verbose_name_plural = _("add-ons")
        ordering = ["subscription", "added_on", "id"]

    def __str__(self) -> str:
        return str(self.product)


@pghistory.track()
class SubscriptionUnit(models.Model):
    """A device unit allocated to a subscription, until it comes back."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(DeviceUnit, on_delete=models.PROTECT, related_name="allocations")
    allocated_at = models.DateTimeField(_("allocated"))
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocated unit")
        verbose_name_plural = _("allocated units")
        constraints = [
            # A unit is never with two subscriptions at once, whatever races.
            models.UniqueConstraint(fields=["unit"], condition=Q(returned_at__isnull=True), name="unit_allocated_once"),
        ]

    def __str__(self) -> str:
        return str(self.unit)


class InvoiceKind(models.TextChoices):
    PREPAYMENT = "prepayment", _("prepayment (first 3 months)")
    CREDIT_NOTE = "credit_note", _("credit note")
    MONTHLY = "monthly", _("monthly fee")
    CHARGE = "charge", _("other charge")


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("open")
    PAID = "paid", _("paid")
    CREDITED = "credited", _("credited")


# What an invoice says is fixed at issue (Wet OB 1968 art. 35a): the database refuses to change it.
# Status, payment and e-mail facts may change; history keeps those changes (the insert is the document).
INVOICE_DOCUMENT_FIELDS = (
    "number",
    "subscriber_id",
    "application_id",
    "kind",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "net_total",
    "vat_total",
    "gross_total",
    "customer_name",
    "customer_address",
    "customer_vat_number",
    "issuer_id",
    "corrects_id",
)


def _document_changes() -> pgtrigger.Q:
    """Any change to what the invoice says; the prepayment, issued to the application before acceptance,
    may be linked to the subscription once (REG-3), never moved to another."""
    changes = pgtrigger.Q()
    for field in INVOICE_DOCUMENT_FIELDS:
        name = field.removesuffix("_id")
        changes |= pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")})
    return changes | (
        pgtrigger.Q(old__subscription__isnull=False)
        & pgtrigger.Q(old__subscription__df=pgtrigger.F("new__subscription"))
    )


@pghistory.track(pghistory.UpdateEvent())
class Invoice(models.Model):
    """An issued invoice or credit note: numbered without gaps per year, never changed once issued
    (the database refuses it); the customer's name and address are kept as they were at issue."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    subscriber = models.ForeignKey(
        "accounts.Subscriber",
        on_delete=models.PROTECT,
        db_index=False,  # invoice_customer_order starts with it
        related_name="invoices",
        verbose_name=_("customer"),
        help_text=_("Who is invoiced: the subscriber of the subscription, or the applicant for the prepayment."),
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    application = models.ForeignKey(
        "Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # invoice_application: partial, monthly invoices have none
        related_name="invoices",
        help_text=_("The prepayment is invoiced when the applicant pays, before acceptance (TERM-1, REG-7)."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=InvoiceKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    issue_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"), help_text=_("PAY-2: 14 days after the invoice date."))
    net_total = MoneyField(_("net"))
    vat_total = MoneyField(_("VAT"))
    gross_total = MoneyField(_("total"))
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True, help_text=_("PAY-8: sent by e-mail."))
    period_start = models.DateField(
        _("period from"), null=True, blank=True, help_text=_("PAY-1: the period of supply.")
    )
    period_end = models.DateField(_("period until"), null=True, blank=True, help_text=_("The period's last day."))
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_address = models.TextField(_("customer address"), blank=True, help_text=_("As it was at issue."))
    customer_vat_number = models.CharField(_("customer VAT number"), max_length=20, blank=True)
    issuer = models.ForeignKey(
        "InvoiceIssuer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # a handful of issuers, never deleted (the admin refuses it): no index to keep up
        related_name="+",
        verbose_name=_("issuer"),
    )
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # invoice_corrects: partial, only credit notes have one
        related_name="corrections",
        verbose_name=_("corrects"),
        help_text=_("A credit note points at the invoice it corrects."),
    )

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        permissions = [("issue_credit_note", "Can issue a credit note for an invoice")]
        ordering = ["-issue_date", "-number"]
        constraints = [
            models.CheckConstraint(
                name="invoice_totals_add_up", condition=Q(gross_total=models.F("net_total") + models.F("vat_total"))
            ),
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(kind="prepayment"), name="one_prepayment_invoice_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(kind="prepayment"), name="one_prepayment_invoice_per_application"
            ),
            models.CheckConstraint(
                name="invoice_belongs_to_subscription_or_application",
                condition=Q(subscription__isnull=False) | Q(application__isnull=False),
            ),
            # PAY-1: one invoice per subscription per period, whatever runs twice or races.
            models.UniqueConstraint(
                fields=["subscription", "period_start"], condition=Q(kind="monthly"), name="one_invoice_per_period"
            ),
            models.CheckConstraint(
                name="monthly_invoice_has_period",
                condition=~Q(kind="monthly") | (Q(period_start__isnull=False) & Q(period_end__gte=F("period_start"))),
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="issued_invoices_never_change",
                operation=pgtrigger.Update,
                condition=_document_changes(),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            # The admin's list order and filters, and a subscriber's invoices newest first (issue 13).
            models.Index(fields=["-issue_date", "-number"], name="invoice_list_order"),
            models.Index(fields=["status", "-issue_date", "-number"], name="invoice_status_order"),
            models.Index(fields=["kind", "-issue_date", "-number"], name="invoice_kind_order"),
            models.Index(fields=["subscriber", "-issue_date", "-number"], name="invoice_customer_order"),
            # Every index is written for each of a million monthly invoices a run (bench/billing_run.py):
            # the foreign keys only a few invoices have are indexed only where they are set.
            models.Index(fields=["application"], condition=Q(application__isnull=False), name="invoice_application"),
            models.Index(fields=["corrects"], condition=Q(corrects__isnull=False), name="invoice_corrects"),
        ]

    def __str__(self) -> str:
        return self.number


# No row-level history: a line never changes once issued (a correction is a credit note), so a history
# row would copy it, at +20 µs and ~200 bytes a line (bench/history.py, issue 13). The database refuses
# an UPDATE instead, which guards the tax record better than a copy of it would.
class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    unit_price = MoneyField(_("unit price incl. VAT"))
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=4, decimal_places=2)
    net = MoneyField(_("net"))
    vat = MoneyField(_("VAT"))
    gross = MoneyField(_("total"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "id"]
        triggers = [pgtrigger.Protect(name="issued_lines_never_change", operation=pgtrigger.Update)]

    def __str__(self) -> str:
        return self.description
