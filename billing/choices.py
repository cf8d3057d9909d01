"""Choices of an application's checks and refusals, where both the models and the rules can import them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RefusalReason(models.TextChoices):
    """Why an application was refused; each code belongs to one rule (REFUSAL_RULES)."""

    UNDER_AGE = "under_age", _("younger than 18 (art. 1.1.1)")
    NOT_IN_NETHERLANDS = "not_in_netherlands", _("not living or established in the Netherlands (art. 1.1.4)")
    TERMINATED_BEFORE = "terminated_before", _("earlier subscription terminated by the company (art. 2.2.1)")
    CREDIT_CHECK = "credit_check", _("negative credit check (art. 2.2.2)")
    SECOND_SUBSCRIPTION = "second_subscription", _("already has a subscription (art. 3.4.1)")
    FALSE_INFORMATION = "false_information", _("incorrect or incomplete information (art. 2.2.3)")
    SUSPECTED_FRAUD = "suspected_fraud", _("suspected fraud (art. 2.2.3)")
    IDENTITY_NOT_VERIFIED = "identity_not_verified", _("identity could not be verified (art. 2.2.3)")
    OTHER = "other", _("other well-founded reason (art. 2.2.3)")


REFUSAL_RULES = {
    RefusalReason.UNDER_AGE: "REG-1",
    RefusalReason.NOT_IN_NETHERLANDS: "REG-1",
    RefusalReason.TERMINATED_BEFORE: "REG-4",
    RefusalReason.CREDIT_CHECK: "REG-5",
    RefusalReason.SECOND_SUBSCRIPTION: "REG-9",
    RefusalReason.FALSE_INFORMATION: "REG-6",
    RefusalReason.SUSPECTED_FRAUD: "REG-6",
    RefusalReason.IDENTITY_NOT_VERIFIED: "REG-6",
    RefusalReason.OTHER: "REG-6",
}


class CheckKind(models.TextChoices):
    """The checks an application goes through, each with the rule it proves."""

    AGE_AND_RESIDENCE = "age_and_residence", _("age and residence (REG-1)")
    ONE_SUBSCRIPTION = "one_subscription", _("one subscription (REG-9)")
    EARLIER_TERMINATION = "earlier_termination", _("no earlier termination (REG-4)")
    CREDIT = "credit", _("credit check (REG-5)")
    IDENTITY = "identity", _("identity verified (REG-7)")
    PAYMENT_AUTHORISATION = "payment_authorisation", _("mandate or card verified (REG-7)")
    PREPAYMENT = "prepayment", _("prepayment received (REG-7)")


CHECK_RULES = {
    CheckKind.AGE_AND_RESIDENCE: "REG-1",
    CheckKind.ONE_SUBSCRIPTION: "REG-9",
    CheckKind.EARLIER_TERMINATION: "REG-4",
    CheckKind.CREDIT: "REG-5",
    CheckKind.IDENTITY: "REG-7",
    CheckKind.PAYMENT_AUTHORISATION: "REG-7",
    CheckKind.PREPAYMENT: "REG-7",
}
# A failed check on these rules refuses the application by itself: the terms say "refuse".
REFUSING_CHECKS = {
    CheckKind.AGE_AND_RESIDENCE: None,  # the reason depends on which half failed
    CheckKind.ONE_SUBSCRIPTION: RefusalReason.SECOND_SUBSCRIPTION,
    CheckKind.EARLIER_TERMINATION: RefusalReason.TERMINATED_BEFORE,
    CheckKind.CREDIT: RefusalReason.CREDIT_CHECK,
}


class CheckOutcome(models.TextChoices):
    PENDING = "pending", _("pending")
    PASSED = "passed", _("passed")
    FAILED = "failed", _("failed")
    UNAVAILABLE = "unavailable", _("partner unavailable")


class AgeingBucket(models.TextChoices):
    """How far past its due date an open invoice is (PAY-2), as finance reports receivables."""

    NOT_DUE = "not_due", _("not yet due")
    DAYS_1_30 = "1-30", _("1–30 days overdue")
    DAYS_31_60 = "31-60", _("31–60 days overdue")
    DAYS_61_90 = "61-90", _("61–90 days overdue")
    OVER_90 = "90+", _("more than 90 days overdue")


# Each bucket's days past the due date, first and last (None: open-ended). PAY-2 (terms art. 8.3): an
# invoice due today is not overdue; the subscriber is in default from the day after the due date.
AGEING_BUCKET_DAYS: tuple[tuple[AgeingBucket, int | None, int | None], ...] = (
    (AgeingBucket.NOT_DUE, None, 0),
    (AgeingBucket.DAYS_1_30, 1, 30),
    (AgeingBucket.DAYS_31_60, 31, 60),
    (AgeingBucket.DAYS_61_90, 61, 90),
    (AgeingBucket.OVER_90, 91, None),
)
