"""Applications: from the sign-up wizard through the checks and staff review to acceptance and allocation."""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Subscriber
from billing import rules
from billing.choices import (  # noqa: F401 - re-exported through billing.models
    CHECK_RULES,
    REFUSAL_RULES,
    REFUSING_CHECKS,
    CheckKind,
    CheckOutcome,
    RefusalReason,
)
from billing.models.subscriptions import PaymentMethod, Subscription
from devices.models import Plan, Product
from flex.fsm import rule_condition


@pghistory.track()
class TermsVersion(models.Model):
    """A published version of the general terms; the latest one in force is what an applicant accepts (REG-2)."""

    version = models.CharField(_("version"), max_length=20, unique=True)
    in_force_from = models.DateField(_("in force from"))
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("published at"), blank=True)

    class Meta:
        verbose_name = _("terms version")
        verbose_name_plural = _("terms versions")
        ordering = ["-in_force_from"]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    CHECKING = "checking", _("checks running")
    AWAITING_REVIEW = "awaiting_review", _("under review")
    ACCEPTED = "accepted", _("accepted")
    AWAITING_STOCK = "awaiting_stock", _("accepted, awaiting stock")
    ALLOCATED = "allocated", _("accepted, units allocated")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn")


AS = ApplicationStatus
OPEN_STATUSES = [AS.DRAFT, AS.SUBMITTED, AS.CHECKING, AS.AWAITING_REVIEW]


@pghistory.track()
class Application(ConcurrentTransitionMixin, models.Model):
    """An applicant's request for a subscription; the contract takes effect only at acceptance (REG-3)."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="applications")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="applications")
    status = FSMField(_("status"), max_length=20, choices=ApplicationStatus.choices, default=AS.DRAFT, protected=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=200, blank=True)
    mandate_reference = models.CharField(_("mandate reference"), max_length=35, blank=True)
    mandate_signed_at = models.DateTimeField(_("mandate signed"), null=True, blank=True)
    terms_version = models.ForeignKey(TermsVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    terms_accepted_at = models.DateTimeField(_("terms accepted"), null=True, blank=True)
    terms_accepted_ip = models.GenericIPAddressField(_("terms accepted from"), null=True, blank=True)
    identity_transaction = models.CharField(_("identity transaction"), max_length=500, blank=True)
    card_token = models.CharField(
        _("card authorisation"), max_length=100, blank=True, help_text=_("The provider's reusable card token (PAY-1).")
    )
    prepayment_reference = models.CharField(_("prepayment at provider"), max_length=100, blank=True)
    shipment = models.OneToOneField(
        "devices.Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="application"
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=200, blank=True)
    decision_emailed_at = models.DateTimeField(_("decision e-mailed"), null=True, blank=True)
    refusal_reason = models.CharField(_("refusal reason"), max_length=30, choices=RefusalReason.choices, blank=True)
    refusal_rule = models.CharField(_("refusal rule"), max_length=20, blank=True)
    refusal_note = models.TextField(_("refusal note"), blank=True)
    subscription = models.OneToOneField(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="application"
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["submitted_at", "id"]
        permissions = [
            ("review_application", "Can accept or refuse applications"),
            ("submit_application", "Can submit or withdraw an application for the applicant"),
            ("check_application", "Can run an application's checks and send it to review"),
            ("allocate_application", "Can allocate units to an accepted application"),
        ]
        constraints = [
            # REG-9 (terms art. 3.4.1): one application at a time per subscriber.
            models.UniqueConstraint(
                fields=["subscriber"], condition=Q(status__in=OPEN_STATUSES), name="one_open_application_per_subscriber"
            ),
        ]
        indexes = [
            # The admin's list order (oldest first, REG-6), its queues and filters (issue 13).
            models.Index(fields=["status", "submitted_at", "id"], name="application_status_order"),
            models.Index(fields=["submitted_at", "id"], name="application_list_order"),
            models.Index(fields=["payment_method", "submitted_at", "id"], name="application_method_order"),
            models.Index(fields=["plan", "submitted_at", "id"], name="application_plan_order"),
            models.Index(
                fields=["refusal_reason", "submitted_at", "id"],
                condition=~Q(refusal_reason=""),
                name="application_refusal_order",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @transition(
        field=status,
        source=AS.DRAFT,
        target=AS.SUBMITTED,
        conditions=[
            rule_condition(rules.terms_accepted),
            rule_condition(rules.payment_authorisation_given),
            rule_condition(rules.identity_verified),
            rule_condition(rules.prepayment_paid),
        ],
        permission="billing.submit_application",
        custom={"rule": "REG-2", "label": _("submit")},
    )
    def submit(self, at) -> None:
        self.submitted_at = at

    @transition(
        field=status,
        source=AS.SUBMITTED,
        target=AS.CHECKING,
        permission="billing.check_application",
        custom={"rule": "REG-7", "label": _("start checks")},
    )
    def start_checks(self) -> None:
        """The checks of REG-1, 4, 5, 7 and 9 run as jobs."""

    @transition(
        field=status,
        source=AS.CHECKING,
        target=AS.AWAITING_REVIEW,
        conditions=[rule_condition(rules.checks_complete)],
        permission="billing.check_application",
        custom={"rule": "REG-6", "label": _("send to review")},
    )
    def send_to_review(self) -> None:
        """Every check has an outcome; staff decide (REG-6)."""

    @transition(
        field=status,
        source=AS.AWAITING_REVIEW,
        target=AS.ACCEPTED,
        conditions=[rule_condition(rules.checks_passed)],
        permission="billing.review_application",
        custom={"rule": "REG-3", "label": _("accept")},
    )
    def accept(self, at, by: str) -> None:
        """The contract takes effect (REG-3)."""
        self.decided_at, self.decided_by = at, by

    @transition(
        field=status,
        source=[AS.DRAFT, AS.SUBMITTED, AS.CHECKING, AS.AWAITING_REVIEW],
        target=AS.REFUSED,
        permission="billing.review_application",
        custom={"rule": "REG-6", "label": _("refuse")},
    )
    def refuse(self, reason: str, note: str, at, by: str) -> None:
        """Refused on a rule (REG-1, 4, 5, 9) or by staff for another well-founded reason (REG-6)."""
        self.refusal_reason, self.refusal_rule, self.refusal_note = reason, REFUSAL_RULES[reason], note
        self.decided_at, self.decided_by = at, by

    @transition(
        field=status,
        source=[AS.DRAFT, AS.SUBMITTED, AS.CHECKING, AS.AWAITING_REVIEW],
        target=AS.WITHDRAWN,
        permission="billing.submit_application",
        custom={"rule": "REG-3", "label": _("withdraw")},
    )
    def withdraw(self) -> None:
        """The applicant stops before acceptance: no contract exists yet (REG-3)."""

    @transition(
        field=status,
        source=AS.ACCEPTED,
        target=AS.AWAITING_STOCK,
        permission="billing.allocate_application",
        custom={"rule": "PLAN-2", "label": _("wait for stock")},
    )
    def wait_for_stock(self) -> None:
        """Not every product of the plan is in stock: nothing is reserved until all are."""

    @transition(
        field=status,
        source=[AS.ACCEPTED, AS.AWAITING_STOCK],
        target=AS.ALLOCATED,
        permission="billing.allocate_application",
        custom={"rule": "PLAN-2", "label": _("allocate units")},
    )
    def allocate(self) -> None:
        """Every unit of the plan and add-ons is reserved and the shipment is ordered."""


@pghistory.track()
class ApplicationAddOn(models.Model):
    """An add-on chosen at registration (PLAN-4); the same product may be chosen more than once."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="addons")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("add-on")
        verbose_name_plural = _("add-ons")
        ordering = ["application", "id"]

    def __str__(self) -> str:
        return str(self.product)


@pghistory.track()
class ApplicationCheck(models.Model):
    """One check's outcome; written once per application and kind, so a rerun job cannot double it."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(_("check"), max_length=30, choices=CheckKind.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CheckOutcome.choices, default=CheckOutcome.PENDING)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    refusal_reason = models.CharField(_("refusal reason"), max_length=30, choices=RefusalReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)

    class Meta:
        verbose_name = _("check")
        verbose_name_plural = _("checks")
        ordering = ["application", "id"]
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="one_check_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_outcome_display()}"

    @property
    def rule(self) -> str:
        return CHECK_RULES[self.kind]


@pghistory.track()
class RefusalRecord(models.Model):
    """What is kept of an applicant under 16: the refusal and nothing about the person (PRIV-5, REG-1)."""

    refused_on = models.DateField(_("refused on"))
    rule = models.CharField(_("rule"), max_length=20)
    reason = models.CharField(_("reason"), max_length=30, choices=RefusalReason.choices)
    stage = models.CharField(_("stage"), max_length=30, help_text=_("Where it was found: sign-up or identity check."))

    class Meta:
        verbose_name = _("minimal refusal record")
        verbose_name_plural = _("minimal refusal records")
        ordering = ["-refused_on", "-id"]

    def __str__(self) -> str:
        return f"{self.refused_on} {self.rule}"
