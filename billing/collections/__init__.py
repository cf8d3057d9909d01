"""Collections (issue 9): the exact legal core — BIK collection costs, statutory interest and their dated
rate tables, as pure functions importable without a database or Django settings. See docs/collections.md.

The case state machine, letters and admin build on these; keep this package's top level free of models.
"""

from billing.collections.costs import (
    BIK_MAXIMUM,
    BIK_MINIMUM,
    InstalmentCosts,
    OverdueInstalment,
    collection_costs,
    costs_for_instalments,
)
from billing.collections.interest import (
    commercial_interest,
    first_interest_day,
    interest_end,
    statutory_interest,
)
from billing.collections.rates import COMMERCIAL_RATES, CONSUMER_RATES, StatutoryRate, rate_on

__all__ = [
    "BIK_MAXIMUM",
    "BIK_MINIMUM",
    "COMMERCIAL_RATES",
    "CONSUMER_RATES",
    "InstalmentCosts",
    "OverdueInstalment",
    "StatutoryRate",
    "collection_costs",
    "commercial_interest",
    "costs_for_instalments",
    "first_interest_day",
    "interest_end",
    "rate_on",
    "statutory_interest",
]
