"""The payment provider's webhook: signed with a shared secret instead of an API key."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import services
from billing.adapters.payments import EVENT_TYPES, WEBHOOK_STATUSES, WebhookBodyInvalid
from flex.api.errors import problem
from flex.partners import BadSignature


class PaymentWebhookView(APIView):
    """`POST /api/v1/webhooks/payments/`: the provider reports an event about a payment: a card charge
    or checkout payment succeeded, failed, or was charged back (`event_type`, `event_id`).

    Authenticated by the `Flex-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body">` header with the
    shared secret; older than 5 minutes is refused as a replay. Safe to resend and out of order safe: an
    event counts once (by its id), and a charge's state only moves forward.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        request=inline_serializer(
            "PaymentWebhookRequest",
            {
                "payment_id": serializers.CharField(max_length=100),
                "reference": serializers.CharField(max_length=20, help_text="The invoice number."),
                "status": serializers.ChoiceField(choices=list(WEBHOOK_STATUSES)),
                "amount": serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, coerce_to_string=True),
                "method": serializers.CharField(max_length=20, required=False),
                "card_token": serializers.CharField(max_length=100, required=False, allow_blank=True),
                "event_id": serializers.CharField(
                    max_length=100,
                    required=False,
                    allow_blank=True,
                    help_text="The event's id: an event counts once. Without one, the payment's id and status "
                    "are the event.",
                ),
                "event_type": serializers.ChoiceField(
                    choices=list(EVENT_TYPES),
                    required=False,
                    help_text="Required with event_id; without it, implied by the status.",
                ),
                "occurred_at": serializers.DateTimeField(
                    required=False, help_text="When the provider says it happened (ISO 8601 with UTC offset)."
                ),
                "failure_code": serializers.CharField(
                    max_length=40, required=False, allow_blank=True, help_text="Why a charge failed."
                ),
                "chargeback_reason": serializers.CharField(max_length=100, required=False, allow_blank=True),
            },
        ),
        responses={
            200: inline_serializer(
                "PaymentWebhookAnswer",
                {"recorded": serializers.BooleanField(), "payment": serializers.CharField(allow_null=True)},
            )
        },
        parameters=[OpenApiParameter("Flex-Signature", str, OpenApiParameter.HEADER, required=True)],
    )
    def post(self, request):
        try:
            payment = services.receive_payment_webhook(request.body, request.headers.get("Flex-Signature", ""))
        except BadSignature as error:
            return problem(status.HTTP_401_UNAUTHORIZED, "bad_signature", "Signature not accepted", str(error))
        except WebhookBodyInvalid as error:
            return problem(
                status.HTTP_400_BAD_REQUEST,
                "validation",
                "Invalid webhook body",
                f"Check these fields: {error.field}.",
                errors=[{"field": error.field, "message": error.message, "code": "invalid"}],
            )
        return Response({"recorded": payment is not None, "payment": payment.provider_reference if payment else None})
