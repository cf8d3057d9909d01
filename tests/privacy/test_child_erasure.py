"""PRIV-5: a child found out by the bank is erased everywhere: live rows, row history, audit trail.

The proof is a search of every table of the database for the child's values, history included;
only the refusal record (day, rule, stage) and a PII-free audit event of the erasure stay.
"""

from datetime import date

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from accounts.adapters.identity import SandboxIdentityProvider
from accounts.models import Disclosure, User
from billing import services
from billing.management.demo_applications import verify_identity
from billing.models import RefusalRecord
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from privacy.search import find_personal_data
from tests.signup import APPLICANT, draft

pytestmark = pytest.mark.django_db

CHILD = {
    "first_name": "Pim",
    "last_name": "Kindsbergen",
    "email": "pim.kindsbergen@example.nl",
    "phone": "06-87654321",
    "street": "Kinderdijkstraat",
    "house_number": 73,
    "postcode": "3512 JE",
    "city": "Utrecht",
    "date_of_birth": date(1990, 5, 17),  # typed: an adult; the bank will say otherwise
}
IBAN = "NL36 INGB 0007 6543 21"
IP = "203.0.113.45"
NEEDLES = {
    "name": "Pim Kindsbergen",
    "last name": "Kindsbergen",
    "e-mail": CHILD["email"],
    "IBAN": IBAN,
    "phone": CHILD["phone"],
    "street and house number": "Kinderdijkstraat 73",
    "street": "Kinderdijkstraat",
    "postcode": CHILD["postcode"],
    "IP address": IP,
}
BORN_AT_THE_BANK = date(2011, 1, 1)  # 15 on the day of the application


def filled_in(signup, *, as_the_applicant: bool):
    """The child's application as the wizard leaves it before the bank: details, address, terms from
    an IP address, a SEPA mandate, and the identity check started (disclosed to the bank, PRIV-1)."""
    application = draft(signup, **CHILD)
    actor = APPLICANT
    if as_the_applicant:  # logged in to the portal, as the wizard leaves them after step 2
        Client().force_login(application.subscriber.user)
        actor = Actor.of_user(application.subscriber.user)
    services.choose_payment(
        application.pk,
        method="sepa_direct_debit",
        iban=IBAN,
        account_holder="P. Kindsbergen",
        accepts_terms=True,
        ip_address=IP,
        actor=actor,
    )
    return application, actor


def back_from_the_bank(application, actor, *, born: date):
    """What the portal does on the bank's return, with the applicant (logged in) as the actor."""
    from urllib.parse import parse_qs, unquote, urlsplit

    url = services.start_identity_check(application.pk, return_url="/return", actor=actor)
    back = SandboxIdentityProvider.complete(
        unquote(url.split("session=", 1)[1]),
        confirmed=True,
        name="Pim Kindsbergen",
        date_of_birth=born,
        postcode=CHILD["postcode"],
        house_number=CHILD["house_number"],
    )
    trxid = parse_qs(urlsplit(back).query)["trxid"][0]
    return services.complete_identity_check(application.pk, transaction_id=trxid, actor=actor)


def where(findings):
    return sorted({(f.needle, f.table, f.column) for f in findings})


def test_priv_5_the_search_finds_the_childs_data_everywhere_before_the_erasure(signup, travel):
    """Without this the erasure test could pass on a search that finds nothing at all."""
    with travel("2026-11-24"):
        application, actor = filled_in(signup, as_the_applicant=True)
        services.start_identity_check(application.pk, return_url="/return", actor=actor)
    findings = find_personal_data(NEEDLES.values())

    found = {f.needle for f in findings}
    assert found == set(NEEDLES.values()) - {NEEDLES["street and house number"]}  # never written as one
    tables = {f.table for f in findings}
    # live rows, their row history, the history's context (actor label) and the audit trail
    assert {"accounts_subscriber", "accounts_address", "billing_application", "accounts_user"} <= tables
    assert {"accounts_subscriberevent", "accounts_addressevent", "billing_applicationevent"} <= tables
    assert {"pghistory_context", "audit_auditevent"} <= tables
    ip_in_audit = [f for f in findings if f.needle == IP and f.table == "audit_auditevent"]
    assert [f.column for f in ip_in_audit] == ["data"]
    iban = {(f.table, f.column, f.field) for f in findings if f.needle == IBAN}
    assert ("billing_application", "iban", "iban") in iban  # stored without spaces, found all the same
    assert next(f for f in findings if f.table == "accounts_subscriber" and f.column == "email").classification == (
        "personal: contact, on erasure anonymise"
    )


@pytest.mark.parametrize("as_the_applicant", [True, False], ids=["portal (applicant logged in)", "demo (system)"])
def test_priv_5_child_found_by_the_bank_is_found_in_no_table_after_the_erasure(signup, travel, as_the_applicant):
    with travel("2026-11-24"):
        application, actor = filled_in(signup, as_the_applicant=as_the_applicant)
        if as_the_applicant:
            assert back_from_the_bank(application, actor, born=BORN_AT_THE_BANK) is None
        else:
            assert verify_identity(application, name="Pim Kindsbergen", date_of_birth=BORN_AT_THE_BANK) is None

    assert where(find_personal_data(NEEDLES.values())) == []
    assert not User.objects.filter(email=CHILD["email"]).exists()
    assert not Session.objects.exists()  # the portal session named the login (encoded, so not searchable)

    record = RefusalRecord.objects.get()
    kept = {f.name: getattr(record, f.attname) for f in RefusalRecord._meta.concrete_fields if f.name != "id"}
    assert kept == {"refused_on": date(2026, 11, 24), "rule": "REG-1", "reason": "under_age", "stage": "identity check"}

    # PRIV-1 (interpretation): the disclosure to the bank stays as the fact that identity data went to
    # that partner on that day for that purpose, but names nobody: no subscriber, no reference.
    disclosure = Disclosure.objects.get(partner__code="idin")
    assert (disclosure.subscriber, disclosure.reference) == (None, "")

    # the audit trail is append-only except for this: the erasure itself, recorded without the person
    erasure = AuditEvent.objects.get(action="erase_personal_data")
    assert (erasure.rule, erasure.target_id, erasure.actor_user) == ("PRIV-5", str(record.pk), None)
    assert erasure.data["erased"]["billing.Application"] == 1
    assert erasure.data["erased"]["accounts.SubscriberEvent"] >= 1
    assert not AuditEvent.objects.exclude(pk=erasure.pk).filter(action__in=["start_application", "choose_payment"])


def test_priv_5_the_erasure_goes_through_the_history_of_a_row_changed_several_times(signup, travel):
    """Each change of the payment details is a history row of its own; none of them survives."""
    with travel("2026-11-24"):
        application, actor = filled_in(signup, as_the_applicant=True)
        services.choose_payment(
            application.pk, method="card", accepts_terms=True, ip_address="198.51.100.23", actor=actor
        )
        back_from_the_bank(application, actor, born=BORN_AT_THE_BANK)
    assert where(find_personal_data([*NEEDLES.values(), "198.51.100.23"])) == []


def test_priv_5_an_adult_applicants_data_is_not_touched_by_a_childs_erasure(signup, travel):
    """The erasure follows the child's rows, not look-alike values: a neighbour at the same postcode
    keeps everything, history included."""
    with travel("2026-11-24"):
        neighbour = draft(signup, 1, postcode=CHILD["postcode"], phone=CHILD["phone"], last_name="Buurman")
        application, actor = filled_in(signup, as_the_applicant=True)
        back_from_the_bank(application, actor, born=BORN_AT_THE_BANK)
    findings = find_personal_data(["Buurman", CHILD["postcode"], CHILD["phone"]])
    tables = {f.table for f in findings}
    assert {"accounts_subscriber", "accounts_subscriberevent", "accounts_address", "accounts_addressevent"} <= tables
    assert {f.row for f in findings if f.table == "accounts_subscriber"} == {str(neighbour.subscriber.pk)}


def test_priv_5_a_minor_refused_at_sign_up_leaves_nothing_but_the_refusal_record(signup, travel):
    """REG-1 on the typed date of birth (under 18): nothing about the applicant reaches any table."""
    from flex.refusals import Refused

    with travel("2026-11-24"), pytest.raises(Refused):
        draft(signup, **{**CHILD, "date_of_birth": BORN_AT_THE_BANK})
    assert where(find_personal_data(NEEDLES.values())) == []
    assert RefusalRecord.objects.get().stage == "sign-up"


def test_find_personal_data_command_lists_every_place(signup, travel, capsys):
    with travel("2026-11-24"):
        filled_in(signup, as_the_applicant=False)
    call_command("find_personal_data", "--email", CHILD["email"], "--iban", IBAN, "--ip", IP)
    out = capsys.readouterr().out
    assert "accounts_subscriber.email" in out and "accounts_subscriberevent.email" in out
    assert "billing_application.iban" in out and "audit_auditevent.data" in out
    assert "personal: contact, on erasure anonymise" in out


def test_find_personal_data_flags_a_copy_in_a_column_the_register_calls_not_personal(db, capsys):
    """Every text column is searched, not only the register's personal ones, so a stray copy shows."""
    from tests.factories import ProductFactory

    product = ProductFactory(name="Era 100 for Pim Kindsbergen")
    call_command("find_personal_data", "--name", "Pim Kindsbergen")
    out = capsys.readouterr().out
    assert f"devices_product.name row {product.pk}  (devices.Product.name: not personal, says the register)" in out
    assert "devices_productevent.name" in out  # and its history
    assert "2 finding(s) in a column the register does not call personal data" in out


def test_find_personal_data_command_says_when_nothing_is_found(db, capsys):
    call_command("find_personal_data", "--email", "nobody@example.nl")
    assert "Found nowhere" in capsys.readouterr().out


def test_find_personal_data_refuses_a_value_too_short_to_mean_anything(db):
    with pytest.raises(ValueError, match="too short"):
        find_personal_data(["06"])


def test_priv_5_without_the_privacy_app_to_erase_nothing_is_half_erased(signup, travel):
    """The erasure is asked of the privacy app through a signal: with no one to answer it, the child's
    application is not deleted without its history; the whole identity return fails and rolls back."""
    from django.core.exceptions import ImproperlyConfigured

    from accounts.erasure import erasure_requested
    from billing.models import Application
    from privacy.erasure import handle_erasure_request

    with travel("2026-11-24"):
        application, _ = filled_in(signup, as_the_applicant=False)
        assert erasure_requested.disconnect(dispatch_uid="privacy.erasure")
        try:
            with pytest.raises(ImproperlyConfigured):
                verify_identity(application, name="Pim Kindsbergen", date_of_birth=BORN_AT_THE_BANK)
        finally:
            erasure_requested.connect(handle_erasure_request, dispatch_uid="privacy.erasure")
    assert Application.objects.filter(pk=application.pk).exists()
    assert not RefusalRecord.objects.exists()
