"""Use cases of an application, one module per concern:

- `signup`: the wizard's steps (choice, details, terms and payment method, identity) and submitting;
- `payments`: the prepayment of the first 3 monthly fees, the provider's reports, refunds;
- `checks`: the checks as jobs (REG-1, 4, 5, 7, 9), decided by pure rules in `billing.rules`;
- `review`: what follows the checks, staff acceptance and refusal (REG-3, REG-6), withdrawal;
- `fulfilment`: allocation, the shipment order, Radio HD, the start on delivery (PLAN-2, PLAN-6, RADIO-1).

Rules: REG-1..9, PLAN-2, PLAN-4, PLAN-6, RADIO-1, TERM-1, PAY-1, PAY-8, PRIV-1, PRIV-5.
"""

from billing.services.applications.checks import *  # noqa: F403
from billing.services.applications.fulfilment import *  # noqa: F403
from billing.services.applications.payments import *  # noqa: F403
from billing.services.applications.review import *  # noqa: F403
from billing.services.applications.signup import *  # noqa: F403
