"""Who issues the invoices (dated data) and the monthly billing runs that issue them."""

from __future__ import annotations

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from flex.money import MoneyField


@pghistory.track()
class InvoiceIssuer(models.Model):
    """The supplier's details as an invoice must name them (Wet OB 1968 art. 35a lid 1: name and address
    of the supplier, its VAT identification number). Dated: a move or a new name is a new row from a day
    on, and each invoice points at the row in force on its date, so old invoices keep what they said."""

    valid_from = models.DateField(_("valid from"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"))
    vat_number = models.CharField(_("VAT identification number"), max_length=20)
    kvk_number = models.CharField(_("KvK number"), max_length=8)
    iban = models.CharField(_("IBAN for transfers"), max_length=34)
    email = models.EmailField(_("e-mail for questions"))
    source = models.CharField(_("source"), max_length=200, help_text=_("Where these details come from."))

    class Meta:
        verbose_name = _("invoice issuer")
        verbose_name_plural = _("invoice issuers")
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.name} ({self.valid_from:%d-%m-%Y})"


class BillingRunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    FINISHED = "finished", _("finished")
    FINISHED_WITH_ERRORS = "finished_with_errors", _("finished with errors")


class BillingRun(models.Model):
    """One monthly-fee run (PAY-1) for a day: what it found due, what it issued, what went wrong. Chunks
    add their figures as they commit, so a run a worker left halfway shows how far it got; running the
    day again resumes (the invoices already issued are not issued twice)."""

    run_on = models.DateField(_("run for"), help_text=_("Periods starting up to the lead time after this day."))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=BillingRunStatus.choices)
    triggered_by = models.CharField(_("triggered by"), max_length=200)
    subscriptions_due = models.PositiveIntegerField(_("subscriptions due"), default=0)
    chunks = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    invoices_issued = models.PositiveIntegerField(_("invoices issued"), default=0)
    gross_total = MoneyField(_("invoiced incl. VAT"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.run_on:%d-%m-%Y} ({self.get_status_display()})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class BillingSchedule(models.Model):
    """PAY-1, TERM-1: how far a started subscription's monthly fees are invoiced: the first day no
    invoice covers yet, i.e. the start of the next period to invoice (period 4 at first: the prepayment
    covers 1-3). The monthly run selects on it and moves it on.

    Kept apart from the subscription's row on purpose: the run moves it for every subscriber every month,
    and a narrow row with one index costs a tenth of updating the subscription with its indexes and
    history trigger (54 vs 5.5 µs a row, issue 8, bench/billing_run.py). The invoices are its history.
    """

    subscription = models.OneToOneField(
        "billing.Subscription",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="billing_schedule",
        verbose_name=_("subscription"),
    )
    invoiced_until = models.DateField(_("invoiced until"), help_text=_("The start of the next period to invoice."))

    class Meta:
        verbose_name = _("billing schedule")
        verbose_name_plural = _("billing schedules")
        indexes = [models.Index(fields=["invoiced_until", "subscription"], name="billing_schedule_due")]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.invoiced_until}"
