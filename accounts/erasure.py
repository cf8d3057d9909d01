"""Asking for a person to be erased, from any layer (PRIV-5, PRIV-3).

Erasing a person is more than deleting their rows: the row history (django-pghistory's event tables
and contexts), the audit trail and any other copy the personal-data register knows about must go in
the same transaction, or a child's name outlives the child's account. That work belongs to the
`privacy` app, which reads every app through the register and so sits above them all; the apps that
find out that someone must be erased (billing, when the bank says an applicant is under 16) sit
below it and may not import it (import-linter's layers contract).

So the request travels up as a signal, defined here in the lowest app because the subject is an
accounts row: `erase_person()` sends `erasure_requested`, and `privacy.erasure` handles it
synchronously, inside the caller's transaction. Exactly one handler must answer: with none (the
privacy app not installed) or an error, the caller's transaction fails and nothing is half-erased.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.dispatch import Signal

from accounts.models import Subscriber, User

# Sent with: subscriber, user, rule (the rule id that requires the erasure), receipt (the row that
# may be kept: the audit event of the erasure points at it), actor. The handler returns the number of
# rows it deleted or cleared per table.
erasure_requested = Signal()


def erase_person(
    subscriber: Subscriber | None, user: User | None, *, rule: str, receipt: models.Model, actor
) -> dict[str, int]:
    """Erase a subscriber and their login with everything copied from them, in the caller's transaction.

    Returns what was erased per table (counts only: the answer carries no personal data)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("erase_person() must run inside the transaction that decides the erasure")
    answers = erasure_requested.send(
        sender=Subscriber, subscriber=subscriber, user=user, rule=rule, receipt=receipt, actor=actor
    )
    if len(answers) != 1:
        raise ImproperlyConfigured(
            f"{len(answers)} handlers for erasure_requested; exactly one (privacy.erasure) must erase"
        )
    return answers[0][1]
