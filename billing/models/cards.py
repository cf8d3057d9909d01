"""Card payers' monthly fees (PAY-1, terms art. 8.2): each attempt to charge an open invoice to the card
authorised at sign-up is a record of its own, and every event the payment provider reports about a
payment (succeeded, failed, chargeback) is kept by its id so that it counts once.

"Once" is the database's: an invoice has at most one charge in flight (a partial unique index on the
requested attempts), attempt numbers are unique per invoice, the provider's payment id is unique, and
the idempotency key we give the provider is unique, so a job run twice or on two workers, or a crash
between the provider's answer and our commit, never charges an invoice twice.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.subscriptions import Invoice
from flex.money import MoneyField


class ChargeStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    CHARGED_BACK = "charged_back", _("charged back")
    CANCELLED = "cancelled", _("cancelled (nothing left to charge)")


# How far each status has come: a provider event moves a charge only forward, so events that arrive out
# of order end where the provider's payment ended (a "failed" after "succeeded" changes nothing; a
# chargeback wins over everything).
CHARGE_STATUS_RANK = {
    ChargeStatus.REQUESTED: 0,
    ChargeStatus.CANCELLED: 1,
    ChargeStatus.FAILED: 1,
    ChargeStatus.SUCCEEDED: 2,
    ChargeStatus.CHARGED_BACK: 3,
}


@pghistory.track()
class CardCharge(models.Model):
    """One attempt to charge an open invoice to the subscriber's card (PAY-1)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="card_charges")
    subscriber = models.ForeignKey(
        "accounts.Subscriber", on_delete=models.PROTECT, related_name="card_charges", db_index=False
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    amount = MoneyField(_("amount"))
    status = models.CharField(_("status"), max_length=20, choices=ChargeStatus.choices, default=ChargeStatus.REQUESTED)
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=60,
        unique=True,
        help_text=_("Sent to the provider with the charge: asking again with it never charges twice."),
    )
    provider_payment_id = models.CharField(
        _("provider's payment id"), max_length=100, null=True, blank=True, unique=True
    )
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    chargeback_reason = models.CharField(_("chargeback reason"), max_length=100, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    sent_at = models.DateTimeField(_("sent to the provider"), null=True, blank=True)
    decided_at = models.DateTimeField(_("outcome known"), null=True, blank=True)
    provider_event_at = models.DateTimeField(
        _("provider's event time"), null=True, blank=True, help_text=_("When the provider says the outcome happened.")
    )
    next_attempt_on = models.DateField(
        _("next attempt on"), null=True, blank=True, help_text=_("After a failure: when the retry policy tries again.")
    )
    gave_up_at = models.DateTimeField(
        _("gave up"), null=True, blank=True, help_text=_("The last attempt failed: the subscriber was asked to pay.")
    )

    class Meta:
        verbose_name = _("card charge")
        verbose_name_plural = _("card charges")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # An invoice has one charge in flight at a time: two workers, a rerun, never charge it twice.
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status="requested"), name="one_requested_card_charge_per_invoice"
            ),
            models.UniqueConstraint(fields=["invoice", "attempt"], name="card_charge_attempt_once"),
            models.CheckConstraint(name="card_charge_amount_positive", condition=Q(amount__gt=0)),
        ]
        indexes = [
            models.Index(fields=["subscriber", "-requested_at"], name="card_charge_subscriber"),
            # The job's own finds: charges in flight, and failed ones waiting for their retry day.
            models.Index(fields=["requested_at"], condition=Q(status="requested"), name="card_charge_in_flight"),
            models.Index(
                fields=["next_attempt_on"], condition=Q(next_attempt_on__isnull=False), name="card_charge_retry"
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class ProviderEvent(models.Model):
    """An event the payment provider reported through its signed webhook, kept by its id so that a
    resent event counts once. Written once, in the same transaction as what it did."""

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    event_type = models.CharField(_("event type"), max_length=40)
    payment_id = models.CharField(_("provider's payment id"), max_length=100)
    occurred_at = models.DateTimeField(_("occurred (provider's time)"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"))
    outcome = models.CharField(_("what it did"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("payment provider event")
        verbose_name_plural = _("payment provider events")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["payment_id"], name="provider_event_payment")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.event_type}"


__all__ = ["CHARGE_STATUS_RANK", "CardCharge", "ChargeStatus", "ProviderEvent"]
