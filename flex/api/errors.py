"""Every API error is an RFC 9457 problem (`application/problem+json`) naming the field and, for a
contract refusal, the rule and article."""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from flex.refusals import Refused

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://flex.example/problems/"


def problem(status_code: int, kind: str, title: str, detail: str = "", **extra) -> Response:
    body = {"type": PROBLEM_BASE + kind, "title": title, "status": status_code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)
    return response


def _field_errors(detail, prefix: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested validation errors into [{field, message, code}]."""
    errors = []
    if isinstance(detail, dict):
        for name, value in detail.items():
            if isinstance(name, int) or str(name).isdigit():
                errors += _field_errors(value, f"{prefix}[{name}]")
                continue
            field = name if name != "non_field_errors" else ""
            errors += _field_errors(value, f"{prefix}.{field}" if prefix and field else (field or prefix))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            errors += _field_errors(value, f"{prefix}[{index}]" if nested else prefix)
    else:
        errors.append({"field": prefix or None, "message": str(detail), "code": getattr(detail, "code", "invalid")})
    return errors


def problem_exception_handler(exc, context):
    if isinstance(exc, Refused):
        refusal = exc.refusal
        return problem(
            status.HTTP_409_CONFLICT,
            "refused",
            "Refused by the contract",
            str(refusal),
            rule=refusal.rule,
            article=refusal.article,
            errors=[{"field": refusal.field, "message": refusal.message, "code": refusal.rule}],
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "request"
        return problem(
            status.HTTP_400_BAD_REQUEST,
            "validation",
            "Invalid request",
            f"Check these fields: {fields}.",
            errors=errors,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it surface as a 500 and reach the error log
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        from flex.api.throttling import count_failed_authentication

        count_failed_authentication(context["request"])
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
    kind = getattr(exc, "default_code", "error")
    # The title is the status's own phrase: DRF's default details are templates ("{media_type}").
    result = problem(response.status_code, kind, HTTPStatus(response.status_code).phrase, str(detail))
    for header, value in response.items():
        if header.lower() in ("www-authenticate", "retry-after", "allow"):
            result[header] = value
    return result


def not_found(request, exception=None):
    """Django's 404 for addresses no route matches: under /api/ a problem like every other API error,
    elsewhere the site's own page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if not request.path_info.startswith("/api/"):
        return page_not_found(request, exception)
    return JsonResponse(
        {"type": PROBLEM_BASE + "not_found", "title": "Not Found", "status": 404, "detail": "No such address."},
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
