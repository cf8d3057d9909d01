"""Billing's data: subscriptions and their money (subscriptions.py), the applications that lead to
them (applications.py), the invoicing runs with the issuer's details (invoicing.py), SEPA mandates
(mandates.py), payments and their allocations (payments.py), direct-debit batches (direct_debit.py),
the files the bank sends back (bank_files.py), open receivables as finance sees them (receivables.py),
card charges with the provider's events (cards.py) and refunds with their credit-transfer batches
(refunds.py)."""

from billing.models.applications import *  # noqa: F403
from billing.models.bank_files import *  # noqa: F403
from billing.models.cards import *  # noqa: F403
from billing.models.direct_debit import *  # noqa: F403
from billing.models.invoicing import *  # noqa: F403
from billing.models.mandates import *  # noqa: F403
from billing.models.payments import *  # noqa: F403
from billing.models.receivables import *  # noqa: F403
from billing.models.refunds import *  # noqa: F403
from billing.models.subscriptions import *  # noqa: F403
