"""The error answers of the partner API in its OpenAPI schema (a drf-spectacular postprocessing hook).

Every endpoint may answer with an RFC 9457 problem (`application/problem+json`); this hook documents
which status codes each operation can give, so partners (and the schema test) know what to expect.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from flex.api.idempotency import HEADER as IDEMPOTENCY_HEADER

PROBLEM = {
    "type": "object",
    "description": "An RFC 9457 problem. A contract refusal names `rule` and `article`; "
    "`errors` names each field that is wrong.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "rule": {"type": "string", "description": "The contract rule that refused (409)."},
        "article": {"type": "string", "description": "Where the rule is written (409)."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message", "code"],
            },
        },
    },
    "required": ["type", "title", "status"],
}

WHY = {
    "400": "Invalid request: a field, query parameter, header or the body is wrong (`errors` names it).",
    "401": "No key, or an unknown, revoked or expired key (for the webhook: a bad or old signature).",
    "403": "The key lacks the scope this operation needs, or the partner may not do this.",
    "404": "No such object among the calling partner's own (another partner's objects are not found either).",
    "409": "Refused by the contract (`rule`, `article`), or a request with this Idempotency-Key is still running.",
    "415": "The body is not `application/json`.",
    "422": "The Idempotency-Key was used before for another request.",
    "429": "Too many requests for this key, or too many failed authentications from this address.",
}

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "description": "A unique key per piece of work (e.g. a UUID): a retry with the same key and body gets "
    "the first answer again; an empty key is refused.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _codes(path: str, method: str) -> list[str]:
    if path.endswith("/webhooks/payments/"):
        return ["400", "401", "409"]
    codes = ["400", "401", "403", "404", "429"]
    if method == "post":
        codes += ["409", "415", "422"]
    return codes


def document_problems(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    reference = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method):
                responses.setdefault(code, {"description": WHY[code]})
                responses[code]["content"] = {"application/problem+json": {"schema": reference}}
            if method == "post" and not path.endswith("/webhooks/payments/"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
    return result


class PartnerAutoSchema(AutoSchema):
    """Pagination belongs to GET lists only: a POST that answers with a list (stock arrival) returns the
    plain list, and its schema says so."""

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None

    def _get_pagination_parameters(self):
        return super()._get_pagination_parameters() if self.method == "GET" else []
