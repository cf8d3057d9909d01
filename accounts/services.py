"""Use cases about people: what a subscriber or staff member does to accounts and addresses."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar

from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import rules
from accounts.models import Address, Disclosure, Partner, PartnerApiKey, Subscriber, User
from flex import clock
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor, history_context, record
from flex.refusals import Refusal, Refused

A = TypeVar("A")  # a partner adapter: anything with `cfg` and `disclosed_categories`


def report_move(
    subscriber: Subscriber,
    *,
    street: str,
    house_number: int,
    house_number_suffix: str = "",
    postcode: str,
    city: str,
    moved_in_on: date,
    actor: Actor,
) -> Address:
    """The subscriber reports a new physical address with its move date (REG-8).

    The report date is today; a report more than 4 weeks after the move is kept and flagged to staff
    (the address still counts: the rule is about the subscriber's duty, not about refusing the move).
    """
    postcode = rules.normalise_postcode(postcode)
    for refusal in (
        rules.dutch_postcode(postcode),
        rules.move_date_not_before_1900(moved_in_on),
        rules.move_date_not_in_future(moved_in_on, clock.today()),
    ):
        if refusal:
            raise Refused(refusal)
    try:
        with transaction.atomic(), history_context(actor, "report_move"):
            address = Address.objects.create(
                subscriber=subscriber,
                street=street.strip(),
                house_number=house_number,
                house_number_suffix=house_number_suffix.strip(),
                postcode=postcode,
                city=city.strip(),
                moved_in_on=moved_in_on,
                reported_on=clock.today(),
            )
            record(
                actor,
                "report_move",
                address,
                rule="REG-8",
                reason="reported late" if address.is_reported_late else "",
                late=address.is_reported_late,
            )
    except IntegrityError:
        raise Refused(
            Refusal(rule="REG-8", field="moved_in_on", message=_("A move on this date has already been reported."))
        ) from None
    return address


def partner_for_code(code: str, *, kind: str, name: str = "") -> Partner:
    """The partner row for a partner code, created on first use (with the code as its name unless one is
    given). The one place a partner row comes into being: a disclosure to a partner (PRIV-1), the
    warehouse or carrier the adapters talk to, and the demo data all meet the same row. An existing
    row is returned as it is: its kind and code are fixed once made (the admin shows them read-only)."""
    partner, _created = Partner.objects.get_or_create(code=code, defaults={"name": name or code, "kind": kind})
    return partner


def log_disclosure(
    partner_code: str,
    *,
    kind: str,
    subscriber: Subscriber | None,
    categories: list[str],
    purpose: str,
    reference: str,
    partner: Partner | None = None,
) -> Disclosure:
    """Record that personal data went to a partner (PRIV-1, terms art. 9.2): who, what, why, when.

    Call it in the transaction that sends, or before the call, so no disclosure goes unrecorded. A
    partner row that does not exist yet is created: a missing row must never lose a disclosure.
    `partner` is the partner's row when the caller already holds it (it saves a lookup); a row with
    another code is ignored.
    """
    if partner is None or partner.code != partner_code:
        partner = partner_for_code(partner_code, kind=kind)
    return Disclosure.objects.create(
        partner=partner,
        subscriber=subscriber,
        categories=sorted(categories),
        purpose=purpose,
        reference=reference,
        at=clock.now(),
    )


def disclose_to(
    partner_adapter: A,
    *,
    subscriber: Subscriber | None,
    purpose: str,
    reference: str,
    partner: Partner | None = None,
) -> A:
    """Log what the partner behind `partner_adapter` is about to receive, then hand the adapter back for
    the call: `disclose_to(credit_bureau(), subscriber=..., purpose=..., reference=...).check(...)`.

    The one home of "disclosure, then partner call" (PRIV-1, terms art. 9.2): the partner code and kind
    come from the adapter's configuration, the categories from the adapter's interface. `partner`: the
    partner's row when the caller already holds it (see `log_disclosure`).
    """
    log_disclosure(
        partner_adapter.cfg.partner_code,
        kind=partner_adapter.cfg.kind,
        subscriber=subscriber,
        categories=list(partner_adapter.disclosed_categories),
        purpose=purpose,
        reference=reference,
        partner=partner,
    )
    return partner_adapter


def choose_language(subscriber_id: int, *, language: str, actor: Actor) -> Subscriber:
    """The subscriber picks the language of the portal and of every e-mail we send them (PAY-8)."""
    languages = dict(Subscriber._meta.get_field("language").choices)
    if language not in languages:
        raise Refused(
            Refusal(
                rule="PAY-8",
                field="language",
                message=_("Choose one of: %(languages)s.") % {"languages": ", ".join(languages)},
            )
        )
    with transaction.atomic(), history_context(actor, "choose_language"):
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        if subscriber.language != language:
            subscriber.language = language
            subscriber.save(update_fields=["language"])
            record(actor, "choose_language", subscriber, rule="PAY-8", language=language)
    return subscriber


def unlock_logins(attempt_ids: list[int], *, actor: Actor) -> int:
    """Staff lift a log-in lockout (too many wrong passwords for one e-mail from one address) before
    its cool-off ends, e.g. after the person called. Returns how many locks were lifted; audited."""
    lifted = 0
    with transaction.atomic():
        for attempt in AccessAttempt.objects.select_for_update().filter(pk__in=attempt_ids).order_by("pk"):
            record(
                actor,
                "unlock_login",
                attempt,
                reason=f"{attempt.failures_since_start} failed log-ins",
                username=attempt.username,
                ip_address=attempt.ip_address,
            )
            if reset(ip=attempt.ip_address, username=attempt.username):
                lifted += 1
    return lifted


def issue_api_key(
    partner_id: int, *, name: str, scopes: list[str], expiry_date: datetime | None, actor: Actor
) -> tuple[PartnerApiKey, str]:
    """An admin issues an API key to a partner. Returns the key row and the full key, which is shown
    once and never stored (only its hash is); audited with the partner, the name and the scopes."""
    with transaction.atomic(), history_context(actor, "issue_api_key"):
        partner = Partner.objects.select_for_update().get(pk=partner_id)
        key = PartnerApiKey(partner=partner, name=name, scopes=list(scopes), expiry_date=expiry_date)
        raw = PartnerApiKey.objects.assign_key(key)
        key.save()
        # The event's target is the partner: a key's primary key (prefix and hash) is no short id.
        record(actor, "issue_api_key", partner, reason=name, prefix=key.prefix, scopes=list(scopes))
    return key, raw


def revoke_api_keys(key_ids: list[str], *, actor: Actor) -> int:
    """An admin revokes partner API keys: the next call with one gets 401. A key is revoked, never
    deleted, so the requests it made keep their key. Returns how many were revoked now; audited."""
    revoked = 0
    with transaction.atomic(), history_context(actor, "revoke_api_key"):
        keys = PartnerApiKey.objects.select_for_update().filter(pk__in=key_ids, revoked=False).order_by("pk")
        for key in keys.select_related("partner"):
            key.revoked = True
            key.save(update_fields=["revoked"])
            record(actor, "revoke_api_key", key.partner, reason=key.name, prefix=key.prefix)
            revoked += 1
    return revoked


# The one-time code that lets a staff member enrol an authenticator: signed, for one user, valid for
# ENROLMENT_CODE_MAX_AGE, and bound to the user's last redeemed code, so it stops working once used.
ENROLMENT_CODE_SALT = "flex.second-factor-enrolment"
ENROLMENT_CODE_MAX_AGE = timedelta(days=7)


def _authenticator_mark(user_id: int) -> int:
    """The user's last redeemed enrolment code, from the audit trail (never deleted, unlike devices)."""
    redeemed = AuditEvent.objects.filter(
        action="redeem_enrolment_code", target_type=ContentType.objects.get_for_model(User), target_id=str(user_id)
    )
    return redeemed.aggregate(newest=Max("pk"))["newest"] or 0


def issue_enrolment_code(user_id: int, *, actor: Actor) -> str:
    """An admin lets a staff member enrol an authenticator: returns a one-time code to hand over in
    person or by phone (shown once). Without it a password alone cannot claim the second factor.
    Audited (without the code)."""
    user = User.objects.get(pk=user_id)
    if not (user.is_staff and user.is_active):
        raise ValueError(f"{user} is not an active staff member")
    code = signing.TimestampSigner(salt=ENROLMENT_CODE_SALT).sign(f"{user.pk}-{_authenticator_mark(user.pk)}")
    record(actor, "issue_enrolment_code", user, reason="second-factor enrolment code issued")
    return code


def redeem_enrolment_code(user_id: int, code: str) -> TOTPDevice | None:
    """The staff member enters the code an admin issued: a fresh, unconfirmed authenticator to scan,
    or None when the code is wrong, someone else's, older than 7 days or used. Audited."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)  # two tabs redeeming at once: one wins
        try:
            value = signing.TimestampSigner(salt=ENROLMENT_CODE_SALT).unsign(
                code.strip(), max_age=ENROLMENT_CODE_MAX_AGE
            )
        except signing.BadSignature:
            return None
        if value != f"{user.pk}-{_authenticator_mark(user.pk)}":
            return None
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
        record(Actor.of_user(user), "redeem_enrolment_code", user, reason="second-factor enrolment code used")
    return device
