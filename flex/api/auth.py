"""Partner authentication: `Authorization: Api-Key <key>`, keys stored hashed, each with scopes."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.models import Partner, PartnerApiKey
from flex.api.throttling import refuse_if_failing_authentication
from flex.audit.trail import Actor


@dataclass
class PartnerPrincipal:
    """The `request.user` of an API call: the partner behind the key (not a person)."""

    partner: Partner
    api_key: PartnerApiKey

    is_authenticated = True
    is_staff = False

    @property
    def actor(self) -> Actor:
        return Actor.partner(self.partner.code)

    def __str__(self) -> str:
        return f"partner:{self.partner.code}"


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        # Failed attempts are counted per address (flex.api.errors); past the limit even a right key
        # waits out the window, so keys cannot be guessed at the request rate.
        refuse_if_failing_authentication(request)
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        if keyword != self.keyword or not key.strip() or not key.strip().isprintable() or len(key) > 200:
            raise exceptions.AuthenticationFailed("Authorization must be 'Api-Key <key>'.")
        try:
            api_key = PartnerApiKey.objects.get_from_key(key.strip())
        except PartnerApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from None
        if api_key.has_expired or not api_key.partner.is_active:
            raise exceptions.AuthenticationFailed("This API key is revoked or expired.")
        return PartnerPrincipal(partner=api_key.partner, api_key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasScope(permissions.BasePermission):
    """The view names the scope each method, or one action, needs:
    `required_scopes = {"GET": "catalogue:read", "POST tracking_events": "tracking:write"}`."""

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, PartnerPrincipal):
            return False
        scopes = getattr(view, "required_scopes", {})
        # "POST tracking_events" names the scope of one action; "POST" the default for the method.
        needed = scopes.get(f"{request.method} {getattr(view, 'action', '')}") or scopes.get(request.method)
        if needed is None:
            needed = getattr(view, "required_scopes", {}).get("GET") if request.method in ("HEAD", "OPTIONS") else None
        if needed is None:
            return False  # an endpoint that names no scope for a method is closed to it
        if needed not in principal.api_key.scopes:
            self.message = f"This API key lacks the scope '{needed}'."
            return False
        return True


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    """Describes the key header in the OpenAPI schema (drf-spectacular finds it by subclassing)."""

    target_class = PartnerKeyAuthentication
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>`: one key per partner, with scopes.",
        }
