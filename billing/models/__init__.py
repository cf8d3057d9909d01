"""Billing's data: subscriptions and their money (subscriptions.py), and the applications that lead
to them (applications.py)."""

from billing.models.applications import *  # noqa: F403
from billing.models.subscriptions import *  # noqa: F403
