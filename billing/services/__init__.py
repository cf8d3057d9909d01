"""Billing's use cases: subscriptions and their money (subscriptions.py), the monthly invoicing run
(invoicing.py), paying an open invoice online (invoice_payments.py), applications (applications/), SEPA
mandates (mandates.py), direct-debit batches (direct_debit.py), the bank's files booked (bank_files.py),
credit notes (credit_notes.py), card charges and the provider's events (cards.py), refunds (refunds.py),
and payments allocated to invoices (payments.py; imported after applications/, whose `payments`
module would otherwise take the name)."""

from billing.services.applications import *  # noqa: F403
from billing.services.bank_files import *  # noqa: F403
from billing.services.cards import *  # noqa: F403
from billing.services.credit_notes import *  # noqa: F403
from billing.services.direct_debit import *  # noqa: F403
from billing.services.invoice_payments import *  # noqa: F403
from billing.services.invoicing import *  # noqa: F403
from billing.services.mandates import *  # noqa: F403
from billing.services.payments import *  # noqa: F403
from billing.services.refunds import *  # noqa: F403
from billing.services.subscriptions import *  # noqa: F403
