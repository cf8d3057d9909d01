"""Where the sandbox partners keep what they remember: a table shared by every process.

A real payment provider remembers a checkout whichever of our processes created it; the sandbox must
too, or a payment opened by `seed_demo` is "unknown" to the web process that refunds it. Times are the
partner's wall clock (not `flex.clock`, which tests and the demo move): a checkout opened "five months
ago" in the demo's past is still one the provider knows today.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SandboxState


def _wall_clock():
    return timezone.now()  # noqa: TID251 - the partner's wall clock, not domain time


def remember(partner: str, key: str, data: dict) -> None:
    """Store (or replace) what `partner` knows under `key`."""
    now = _wall_clock()
    SandboxState.objects.update_or_create(
        partner=partner,
        key=key,
        defaults={"data": data, "updated_at": now},
        create_defaults={"data": data, "created_at": now, "updated_at": now},
    )


def recall(partner: str, key: str) -> dict | None:
    """What `partner` knows under `key`, or None."""
    state = SandboxState.objects.filter(partner=partner, key=key).only("data").first()
    return None if state is None else state.data


def change(partner: str, key: str, update) -> dict | None:
    """Apply `update(data) -> data` under a row lock, so two processes never both act on the old state;
    None when the key is unknown."""
    with transaction.atomic():
        state = SandboxState.objects.select_for_update().filter(partner=partner, key=key).first()
        if state is None:
            return None
        state.data = update(dict(state.data))
        state.updated_at = _wall_clock()
        state.save(update_fields=["data", "updated_at"])
        return state.data


def first_time(partner: str, key: str) -> bool:
    """True the first time `key` is seen by `partner`, in any process; False ever after."""
    now = _wall_clock()
    try:
        with transaction.atomic():
            SandboxState.objects.create(partner=partner, key=key, created_at=now, updated_at=now)
    except IntegrityError:
        return False
    return True
