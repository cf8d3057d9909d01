"""Writing the audit trail: `Actor` says who acts, `record()` writes the event, `history_context()`
labels the row-level history that django-pghistory keeps on PostgreSQL."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models

from flex import clock


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in person, a partner system or a scheduled job."""

    label: str
    user: Any = None

    @classmethod
    def of_user(cls, user: Any) -> Actor:
        return cls(label=user.email, user=user)

    @classmethod
    def partner(cls, code: str) -> Actor:
        return cls(label=f"partner:{code}")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(label=f"system:{job}")

    def __str__(self) -> str:
        return self.label


def record(actor: Actor, action: str, target: models.Model, *, rule: str = "", reason: str = "", **data: Any):
    from flex.audit.models import AuditEvent

    return AuditEvent.objects.create(
        at=clock.now(),
        actor_user=actor.user if actor.user is not None and actor.user.pk else None,
        actor=actor.label,
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        rule=rule,
        reason=reason,
        data=data,
    )


def history_context(actor: Actor, action: str, reason: str = ""):
    """Label pghistory's row events with actor and reason; nothing on SQLite, which has no triggers."""
    if connection.vendor != "postgresql":
        return contextlib.nullcontext()
    import pghistory

    return pghistory.context(actor=actor.label, action=action, reason=reason)
