"""Open receivables: the invoices finance chases, as their own list in the admin (PAY-2).

A proxy of `Invoice`: the same rows, no table of its own, no history of its own (the invoice's is
kept); its permissions let finance see the list and the dashboard without a table to maintain.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from billing.models.subscriptions import Invoice


class OpenReceivable(Invoice):
    class Meta:
        proxy = True
        verbose_name = _("open receivable")
        verbose_name_plural = _("open receivables")
        ordering = ["due_date"]
        permissions = [("view_finance_dashboard", "Can view the finance dashboard")]


__all__ = ["OpenReceivable"]
