"""SEPA direct-debit mandates: the subscriber's authorisation to collect the monthly fees (PAY-1,
terms art. 8.1, 8.2; REG-7, art. 2.3.2), a record of its own from acceptance on.

A mandate is never edited: a new IBAN is a new mandate (portal or paper) and the old one is amended
(replaced by the newer); the SEPA Core rulebook then treats the new one as a first collection (FRST)
with its own reference, so no amendment details need to travel in the file. A mandate with no
collection for 36 months lapses (SEPA Core rulebook; `rules.mandate_lapse_refusal`).
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Subscriber
from billing import rules
from billing.models.subscriptions import Subscription
from flex import clock
from flex.fsm import rule_condition


class MandateStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    AMENDED = "amended", _("amended (replaced by a newer mandate)")
    REVOKED = "revoked", _("revoked")
    LAPSED = "lapsed", _("lapsed (36 months unused)")


class MandateChannel(models.TextChoices):
    """How the mandate was given (the evidence differs: an IP address online, a staff member on paper)."""

    SIGNUP = "signup", _("online, at sign-up")
    PORTAL = "portal", _("online, in the portal")
    PAPER = "paper", _("on paper, recorded by staff")


class SequenceType(models.TextChoices):
    """SEPA sequence types (EPC130-08): the first collection on a mandate, and every one after it."""

    FIRST = "FRST", _("first")
    RECURRING = "RCUR", _("recurring")


MS = MandateStatus


def _mandate_not_used_for_36_months(mandate: Mandate):
    return rules.mandate_lapse_refusal(last_used_on=mandate.last_used_on, today=clock.today())


# The sequence facts change with every collection (a million rows a month); the collections record
# each use, so the row history leaves them out (it would copy every mandate every month).
@pghistory.track(exclude=["first_collected_on", "last_collected_on"])
class Mandate(ConcurrentTransitionMixin, models.Model):
    """A SEPA Core mandate: unique reference, signature date, account, holder, and how it was given."""

    reference = models.CharField(
        _("mandate reference"), max_length=35, unique=True, help_text=_("Unique per creditor, never reused.")
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="mandates")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="mandates"
    )
    status = FSMField(_("status"), max_length=20, choices=MandateStatus.choices, default=MS.ACTIVE, protected=True)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True, help_text=_("From the IBAN's bank, or as entered."))
    account_holder = models.CharField(_("account holder"), max_length=200)
    signed_on = models.DateField(_("date of signature"))
    signed_at = models.DateTimeField(_("signed"))
    channel = models.CharField(_("given"), max_length=20, choices=MandateChannel.choices)
    signed_ip = models.GenericIPAddressField(_("signed from"), null=True, blank=True)
    recorded_by = models.CharField(_("recorded by"), max_length=200, blank=True)
    text_version = models.CharField(_("mandate text version"), max_length=20)
    text = models.TextField(_("mandate text agreed to"))
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces", verbose_name=_("replaced by")
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    first_collected_on = models.DateField(
        _("first collection"), null=True, blank=True, help_text=_("None: the next collection is a first one (FRST).")
    )
    last_collected_on = models.DateField(_("last collection"), null=True, blank=True)

    class Meta:
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        ordering = ["-signed_at", "-id"]
        permissions = [
            ("record_paper_mandate", "Can record a mandate given on paper"),
            ("amend_mandate", "Can replace a mandate by a newer one"),
            ("revoke_mandate", "Can record that a subscriber revoked a mandate"),
            ("lapse_mandate", "Can lapse a mandate unused for 36 months"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(status="active"), name="one_active_mandate_per_subscription"
            ),
        ]
        indexes = [
            models.Index(fields=["-signed_at", "-id"], name="mandate_list_order"),
            models.Index(fields=["status", "-signed_at", "-id"], name="mandate_status_order"),
            models.Index(fields=["subscriber", "-signed_at"], name="mandate_subscriber"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def last_used_on(self):
        """SEPA Core rulebook: 36 months count from the last collection, or from the signature if none."""
        return self.last_collected_on or self.signed_on

    @property
    def next_sequence_type(self) -> str:
        return SequenceType.RECURRING if self.first_collected_on else SequenceType.FIRST

    @property
    def masked_iban(self) -> str:
        return f"{self.iban[:4]} •••• {self.iban[-4:]}" if self.iban else ""

    @transition(
        field=status,
        source=MS.ACTIVE,
        target=MS.AMENDED,
        permission="billing.amend_mandate",
        custom={"rule": "PAY-1", "label": _("replace by a newer mandate")},
    )
    def amend(self) -> None:
        """A newer mandate (a new IBAN, portal or paper) takes over the collections (PAY-1); the service
        links it as `replaced_by` once it exists (one mandate is active at a time, so this one goes first)."""
        self.ended_on = clock.today()

    @transition(
        field=status,
        source=MS.ACTIVE,
        target=MS.REVOKED,
        permission="billing.revoke_mandate",
        custom={"rule": "PAY-1", "label": _("revoke")},
    )
    def revoke(self) -> None:
        """The subscriber withdrew the authorisation (to us or through their bank): no more collections."""
        self.ended_on = clock.today()

    @transition(
        field=status,
        source=MS.ACTIVE,
        target=MS.LAPSED,
        conditions=[rule_condition(_mandate_not_used_for_36_months)],
        permission="billing.lapse_mandate",
        custom={"rule": "PAY-1", "label": _("lapse")},
    )
    def lapse(self) -> None:
        """SEPA Core rulebook: no collection for 36 months; a new mandate is needed."""
        self.ended_on = clock.today()
