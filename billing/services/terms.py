"""Use case: publishing a new version of the general terms (REG-2, PAY-7, PRIV-10)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from billing import rules
from billing.models import TermsVersion
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.refusals import Refusal, Refused

__all__ = ["publish_terms", "terms_refusal"]


def terms_refusal(in_force_from: date) -> Refusal | None:
    """What `publish_terms` would refuse for this date, for a form to show on its field."""
    replaces = TermsVersion.objects.exists()
    return rules.terms_version_refusal(in_force_from, clock.today(), replaces_version=replaces)


def publish_terms(*, version: str, title: str, url: str, in_force_from: date, actor: Actor) -> TermsVersion:
    """Publish a terms version that applicants accept from `in_force_from` on (REG-2). A version after
    the first comes into force at least 30 days after it is published, so that it can be announced to
    subscribers (PAY-7, terms art. 12.1; its privacy provisions, PRIV-10); none in the past. Audited."""
    with transaction.atomic(), history_context(actor, "publish_terms"):
        # Locking the published versions orders concurrent publications after the first one.
        replaces = bool(list(TermsVersion.objects.select_for_update().values_list("pk", flat=True)))
        if refusal := rules.terms_version_refusal(in_force_from, clock.today(), replaces_version=replaces):
            raise Refused(refusal)
        terms = TermsVersion.objects.create(version=version, title=title, url=url, in_force_from=in_force_from)
        record(
            actor,
            "publish_terms",
            terms,
            rule="PAY-7",
            reason=f"{version} in force from {in_force_from:%Y-%m-%d}",
            version=version,
            in_force_from=in_force_from.isoformat(),
        )
    return terms
