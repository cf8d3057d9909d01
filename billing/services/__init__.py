"""Billing's use cases: subscriptions and their money (subscriptions.py), applications (applications.py)."""

from billing.services.applications import *  # noqa: F403
from billing.services.subscriptions import *  # noqa: F403
