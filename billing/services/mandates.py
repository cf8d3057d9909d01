"""SEPA mandates (PAY-1, terms art. 8.1, 8.2; REG-7, art. 2.3.2): taken over from the sign-up at
acceptance, given anew in the portal (a new IBAN), recorded from paper by staff, revoked, and lapsed
after 36 months without a collection (SEPA Core rulebook).

One mandate of a subscription is active at a time (a partial unique constraint); a new one amends the
one before it, in the same transaction, under the subscription's row lock.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from sequences import get_next_value

from billing import rules
from billing.direct_debit import epc
from billing.direct_debit.mandate_text import MANDATE_TEXT_VERSION, mandate_text
from billing.models import Application, Mandate, MandateChannel, MandateStatus, PaymentMethod, Subscription
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.fsm import perform, staff_of, transition_and_save
from flex.refusals import Refusal, Refused

__all__ = [
    "active_mandate",
    "change_iban",
    "lapse_unused_mandates",
    "record_paper_mandate",
    "reserve_mandate_reference",
    "revoke_mandate",
    "take_over_signup_mandate",
]


def take_over_signup_mandate(application: Application, subscription: Subscription) -> Mandate:
    """At acceptance (REG-3), the mandate signed in the sign-up wizard becomes the subscription's mandate,
    with the text the applicant agreed to. Runs inside the acceptance's transaction."""
    signed_at = application.mandate_signed_at or clock.now()
    mandate = Mandate.objects.create(
        reference=application.mandate_reference,
        subscriber_id=application.subscriber_id,
        subscription=subscription,
        iban=application.iban,
        bic=epc.bic_of_iban(application.iban),
        account_holder=application.account_holder,
        signed_on=signed_at.astimezone(clock.AMSTERDAM).date(),
        signed_at=signed_at,
        channel=MandateChannel.SIGNUP,
        signed_ip=application.terms_accepted_ip,
        text_version=MANDATE_TEXT_VERSION,
        text=mandate_text(reference=application.mandate_reference, language=application.subscriber.language),
    )
    return mandate


def reserve_mandate_reference() -> str:
    """A new mandate reference, to show in the mandate text before the subscriber agrees to it."""
    return _new_reference()


def _new_reference() -> str:
    # Unique per creditor and never reused (SEPA Core rulebook, AT-01); gapless is not needed, but the
    # sequence hands out each number once, whatever races.
    return f"FLEX-M{get_next_value('mandate-reference'):07d}"


def _checked_account(iban: str, account_holder: str, bic: str = "") -> tuple[str, str, str]:
    compact = iban.replace(" ", "").upper()
    if refusal := rules.valid_iban(compact):
        raise Refused(refusal)
    if refusal := rules.account_holder_refusal(account_holder):
        raise Refused(refusal)
    if bic:
        try:
            bic = epc.bic(bic, field="bic")
        except epc.FieldInvalid as invalid:
            raise Refused(Refusal(rule="PAY-1", field="bic", message=invalid.message)) from None
    return compact, account_holder.strip(), bic or epc.bic_of_iban(compact)


def _replace_mandate(
    subscription: Subscription, actor: Actor, *, reference: str = "", language: str | None = None, **fields
) -> Mandate:
    """Under the subscription's lock: amend the active mandate (if any) and create the new one."""
    if subscription.payment_method != PaymentMethod.SEPA_DIRECT_DEBIT:
        raise Refused(
            Refusal(
                rule="PAY-1",
                field="iban",
                message=_("This subscription is not paid by SEPA direct debit."),
            )
        )
    previous = (
        Mandate.objects.select_for_update().filter(subscription=subscription, status=MandateStatus.ACTIVE).first()
    )
    if previous is not None:
        perform(previous, "amend", user=staff_of(actor))
        previous.save(update_fields=["status", "ended_on"])
    reference = reference or _new_reference()
    if Mandate.objects.filter(reference=reference).exists():
        raise Refused(
            Refusal(rule="PAY-1", field="reference", message=_("This mandate was already given; reload the page."))
        )
    mandate = Mandate.objects.create(
        reference=reference,
        subscriber_id=subscription.subscriber_id,
        subscription=subscription,
        text_version=MANDATE_TEXT_VERSION,
        text=mandate_text(reference=reference, language=language or subscription.subscriber.language),
        **fields,
    )
    if previous is not None:
        previous.replaced_by = mandate
        previous.save(update_fields=["replaced_by"])
        record(actor, "amend", previous, rule="PAY-1", reason="replaced by a new mandate", replaced_by=reference)
    record(
        actor,
        "give_mandate",
        mandate,
        rule="PAY-1",
        channel=mandate.channel,
        replaces=getattr(previous, "reference", ""),
    )
    return mandate


def change_iban(
    subscription_id: int,
    *,
    iban: str,
    account_holder: str,
    agreed: bool,
    ip_address: str | None,
    actor: Actor,
    reference: str = "",
    language: str | None = None,
) -> Mandate:
    """The subscriber gives a new mandate in the portal, for a new IBAN, having read and agreed to its
    text (PAY-1, REG-7): the IBAN is checked (REG-7), the holder's name must fit a SEPA file (PAY-1),
    the old mandate is amended and the next collection is a first one (FRST) on the new mandate.
    `reference` and `language`: those of the text the subscriber was shown (`reserve_mandate_reference`)."""
    if refusal := rules.mandate_agreed_refusal(agreed=agreed):
        raise Refused(refusal)
    iban, account_holder, bic = _checked_account(iban, account_holder)
    with transaction.atomic(), history_context(actor, "change_iban"):
        subscription = Subscription.objects.select_for_update().select_related("subscriber").get(pk=subscription_id)
        now = clock.now()
        return _replace_mandate(
            subscription,
            actor,
            iban=iban,
            bic=bic,
            account_holder=account_holder,
            signed_on=now.astimezone(clock.AMSTERDAM).date(),
            signed_at=now,
            channel=MandateChannel.PORTAL,
            signed_ip=ip_address,
            reference=reference,
            language=language,
        )


def record_paper_mandate(
    subscription_id: int, *, iban: str, account_holder: str, signed_on: date, actor: Actor, bic: str = ""
) -> Mandate:
    """Staff record a mandate the subscriber signed on paper (PAY-1): the date of signature is the one on
    the form (not in the future), the IBAN is checked (REG-7); it replaces the active mandate."""
    user = getattr(actor, "user", None)
    if user is None or not user.has_perm("billing.record_paper_mandate"):
        raise PermissionDenied(f"{actor} may not record a paper mandate")
    if signed_on > clock.today():
        raise Refused(
            Refusal(rule="PAY-1", field="signed_on", message=_("The date of signature cannot lie in the future."))
        )
    iban, account_holder, bic = _checked_account(iban, account_holder, bic)
    with transaction.atomic(), history_context(actor, "record_paper_mandate"):
        subscription = Subscription.objects.select_for_update().select_related("subscriber").get(pk=subscription_id)
        return _replace_mandate(
            subscription,
            actor,
            iban=iban,
            bic=bic,
            account_holder=account_holder,
            signed_on=signed_on,
            signed_at=clock.now(),
            channel=MandateChannel.PAPER,
            recorded_by=actor.label,
        )


def revoke_mandate(mandate_id: int, *, actor: Actor, reason: str = "") -> Mandate:
    """The subscriber withdrew the authorisation (PAY-1): no collection on this mandate any more."""
    return transition_and_save(Mandate, mandate_id, "revoke", actor=actor, reason=reason)


def lapse_unused_mandates(*, actor: Actor) -> int:
    """Daily: lapse every active mandate with no collection for 36 months (SEPA Core rulebook; PAY-1),
    counted from its last collection, or from its signature if it was never used.

    Few a day, so each goes through its transition (rule, audit); safe on two workers at once: each row
    is taken under a skip-locked lock and the state machine refuses a second lapse.
    """
    today = clock.today()
    # A mandate last used on or before this day has lapsed by today (month ends clamp as add_months does).
    cutoff = _last_day_still_lapsed(today)
    due = (
        Mandate.objects.filter(status=MandateStatus.ACTIVE)
        .annotate(used_on=Coalesce("last_collected_on", "signed_on"))
        .filter(used_on__lte=cutoff)
        .values_list("pk", flat=True)
    )
    lapsed = 0
    for pk in list(due):
        with transaction.atomic(), history_context(actor, "lapse"):
            mandate = Mandate.objects.select_for_update(skip_locked=True).filter(pk=pk, status="active").first()
            if mandate is None or rules.mandate_lapse_refusal(last_used_on=mandate.last_used_on, today=today):
                continue
            perform(mandate, "lapse", user=staff_of(actor))
            mandate.save(update_fields=["status", "ended_on"])
            record(actor, "lapse", mandate, rule="PAY-1", reason="36 months without a collection")
            lapsed += 1
    return lapsed


def _last_day_still_lapsed(today: date) -> date:
    """The latest last-use date that has lapsed by `today`: candidates for the exact rule check."""
    # add_months clamps (31 May + 36 months = 31 May; 29 Feb + 36 months = 28 Feb), so a few days of
    # slack are taken here and the rule itself decides each candidate.
    return clock.add_months(today, -rules.MANDATE_LAPSE_MONTHS) + timedelta(days=3)


def active_mandate(subscription: Subscription) -> Mandate | None:
    return subscription.mandates.filter(Q(status=MandateStatus.ACTIVE)).first()
