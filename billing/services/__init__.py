"""Billing's use cases: subscriptions and their money (subscriptions.py), the monthly invoicing run
(invoicing.py), applications (applications/)."""

from billing.services.applications import *  # noqa: F403
from billing.services.invoicing import *  # noqa: F403
from billing.services.subscriptions import *  # noqa: F403
