"""Privacy records: the log of every disclosure of personal data to a partner (PRIV-1)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Partner, Subscriber


class Disclosure(models.Model):
    """PRIV-1 (terms art. 9.2): personal data sent to a third party: who, which categories, why, when."""

    at = models.DateTimeField(_("when"), db_index=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="disclosures")
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="disclosures"
    )
    categories = models.JSONField(_("data categories"), default=list)
    purpose = models.CharField(_("purpose"), max_length=200)

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} → {self.partner}: {self.purpose}"
