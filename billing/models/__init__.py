"""Billing's data: subscriptions and their money (subscriptions.py), the applications that lead to
them (applications.py), and the invoicing runs with the issuer's details (invoicing.py)."""

from billing.models.applications import *  # noqa: F403
from billing.models.invoicing import *  # noqa: F403
from billing.models.subscriptions import *  # noqa: F403
