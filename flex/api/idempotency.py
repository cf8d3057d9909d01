"""`Idempotency-Key` on every POST: the same key with the same body gets the same answer, once done;
the same key with another body is refused (422); a retry while the first is running gets 409.

The key is claimed by inserting a row under a unique constraint before the work starts, so two
concurrent deliveries of one request cannot both do the work.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response

from accounts.models import IdempotentRequest
from flex.api.errors import PROBLEM_CONTENT_TYPE, problem

HEADER = "Idempotency-Key"


class Replay(Exception):  # noqa: N818 - control flow: the stored answer is the response
    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(request.body)
    return digest.hexdigest()


def _invalid_key(message: str, code: str) -> Replay:
    return Replay(
        problem(
            status.HTTP_400_BAD_REQUEST,
            "validation",
            "Invalid request",
            f"{HEADER}: {message}",
            errors=[{"field": HEADER, "message": message, "code": code}],
        )
    )


def claim(request) -> IdempotentRequest | None:
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not key:
        # An empty key would make every keyless retry look like the same request: refuse it.
        raise _invalid_key("The header is empty; send a unique key (e.g. a UUID) or leave the header out.", "blank")
    if len(key) > 255:
        raise _invalid_key("At most 255 characters.", "max_length")
    if not key.isprintable() or not key.isascii():
        raise _invalid_key("Printable ASCII characters only.", "invalid")
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                api_key=request.auth, key=key, method=request.method, path=request.path, body_hash=fingerprint
            )
    except IntegrityError:
        earlier = IdempotentRequest.objects.get(api_key=request.auth, key=key)
    if earlier.body_hash != fingerprint:
        raise Replay(
            problem(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused for a different request",
                f"Key '{key}' was first used for another request; use a new key for new work.",
                errors=[
                    {"field": HEADER, "message": "Reused with another body or path.", "code": "idempotency_key_reused"}
                ],
            )
        )
    if earlier.response_status is None:
        raise Replay(
            problem(
                status.HTTP_409_CONFLICT,
                "request-in-progress",
                "Request still in progress",
                f"A request with key '{key}' is still being processed; retry shortly.",
            )
        )
    # A replayed error is still a problem document, with its content type.
    content_type = PROBLEM_CONTENT_TYPE if earlier.response_status >= 400 else None
    response = Response(earlier.response_body, status=earlier.response_status, content_type=content_type)
    response["Idempotent-Replayed"] = "true"
    raise Replay(response)


def complete(claimed: IdempotentRequest, response: Response) -> None:
    if response.status_code >= 500:
        abandon(claimed)  # nothing was done (the service's transaction rolled back): let the retry work
        return
    claimed.response_status = response.status_code
    claimed.response_body = response.data
    claimed.save(update_fields=["response_status", "response_body"])


def abandon(claimed: IdempotentRequest | None) -> None:
    if claimed is not None and claimed.pk:
        claimed.delete()
