"""Log-in security shared by the portal and the back office: who counts as the same attempted user
for the lockout (django-axes), how long a staff session lasts, and who needs a second factor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts import roles


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The e-mail a log-in attempt names, as the lockout counts it.

    Log-in matches e-mail case-insensitively (`UserManager.get_by_natural_key`), so "Anna@Example.nl"
    and "anna@example.nl" are the same target and share one failure count.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username).strip().lower()


def start_session(sender, request: HttpRequest, user, **kwargs) -> None:
    """`user_logged_in`: a staff session ends after one working day (subscribers keep the default)."""
    if user.is_staff and request is not None and hasattr(request, "session"):
        request.session.set_expiry(settings.FLEX_STAFF_SESSION_SECONDS)


def needs_second_factor(user) -> bool:
    """Staff need a second factor in production; the admin role (and superusers) always, even in
    sandbox mode, where the demo staff of the other roles may log in with their password alone."""
    if not user.is_authenticated or not user.is_staff:
        return False
    if not settings.FLEX_SANDBOX:
        return True
    return user.is_superuser or user.groups.filter(name=roles.ADMIN).exists()
