"""The checks' decisions as pure rules (REG-1, REG-4, REG-5, REG-7, REG-9): every boundary in a table,
no database, no clock."""

from datetime import date, datetime

import pytest
from django.utils import translation

from billing import rules
from billing.choices import RefusalReason

DAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("is_person", "born", "country", "postcode", "passed", "reason"),
    [
        (True, date(2008, 12, 3), "NL", "1016 BR", True, ""),  # 18 today
        (True, date(2008, 12, 4), "NL", "1016 BR", False, RefusalReason.UNDER_AGE),  # 18 tomorrow
        (True, date(1950, 1, 1), "NL", "1016 BR", True, ""),
        (True, None, "NL", "1016 BR", False, RefusalReason.UNDER_AGE),  # no date of birth: not proven adult
        (True, date(1990, 5, 1), "BE", "1016 BR", False, RefusalReason.NOT_IN_NETHERLANDS),
        (True, date(1990, 5, 1), "NL", "0123 AB", False, RefusalReason.NOT_IN_NETHERLANDS),
        (True, date(1990, 5, 1), "NL", "1234 SA", False, RefusalReason.NOT_IN_NETHERLANDS),
        (True, date(1990, 5, 1), "", "", False, RefusalReason.NOT_IN_NETHERLANDS),  # no address
        (False, None, "NL", "9999 ZZ", True, ""),  # a legal entity has no age
        (False, None, "DE", "9999 ZZ", False, RefusalReason.NOT_IN_NETHERLANDS),
        (True, date(2010, 1, 1), "BE", "1016 BR", False, RefusalReason.UNDER_AGE),  # age is decided first
    ],
)
def test_reg_1_age_and_residence(is_person, born, country, postcode, passed, reason):
    result = rules.age_and_residence_check(
        is_person=is_person, date_of_birth=born, application_day=DAY, address_country=country, postcode=postcode
    )
    assert (result.passed, result.refusal_reason) == (passed, reason)


@pytest.mark.parametrize(
    ("live", "other_open", "passed", "detail"),
    [
        (False, False, True, "no other subscription"),
        (True, False, False, "already has a pending or live subscription"),
        (False, True, False, "another application is in progress"),
        (True, True, False, "already has a pending or live subscription"),
    ],
)
def test_reg_9_one_subscription(live, other_open, passed, detail):
    result = rules.one_subscription_check(has_live_subscription=live, has_other_open_application=other_open)
    assert (result.passed, result.detail) == (passed, detail)


@pytest.mark.parametrize(("terminated", "passed"), [(False, True), (True, False)])
def test_reg_4_earlier_termination(terminated, passed):
    assert rules.earlier_termination_check(was_terminated_by_company=terminated).passed is passed


@pytest.mark.parametrize(("positive", "passed"), [(True, True), (False, False)])
def test_reg_5_credit_bureau_verdict_decides_and_its_reference_is_kept(positive, passed):
    result = rules.credit_check(is_positive=positive, detail="score 610", bureau_reference="CB-42")
    assert (result.passed, result.detail) == (passed, "score 610 (CB-42)")


@pytest.mark.parametrize(
    ("verified_at", "pseudonym", "passed"),
    [
        (datetime(2026, 12, 1, 9, 30), "BIN-123", True),
        (datetime(2026, 12, 1, 9, 30), "", False),  # no pseudonym: REG-4 could not be checked later
        (None, "BIN-123", False),
        (None, "", False),
    ],
)
def test_reg_7_identity(verified_at, pseudonym, passed):
    assert rules.identity_check(verified_at=verified_at, verified_identity=pseudonym).passed is passed


@pytest.mark.parametrize(("token", "passed"), [(True, True), (False, False)])
def test_reg_7_card_needs_the_authorisation_from_the_prepayment(token, passed):
    assert rules.card_authorisation_check(has_card_token=token).passed is passed


@pytest.mark.parametrize(("matches", "passed"), [(True, True), (False, False)])
def test_reg_7_mandate_holder_must_match(matches, passed):
    result = rules.mandate_check(mandate_reference="FLEX-APP1", account_holder_matches=matches, detail="name match")
    assert (result.passed, result.detail) == (passed, "mandate FLEX-APP1: name match")


@pytest.mark.parametrize(("paid", "passed"), [(True, True), (False, False)])
def test_reg_7_prepayment(paid, passed):
    assert rules.prepayment_check(is_paid=paid).passed is passed


@pytest.mark.parametrize(
    ("started_for", "application", "refused"),
    [
        ("APP0000001", "APP0000001", False),
        ("APP0000002", "APP0000001", True),  # another applicant's transaction
        ("", "APP0000001", True),  # a provider that echoes no reference
        ("app0000001", "APP0000001", True),  # references are compared exactly
        ("APP0000001 ", "APP0000001", True),
    ],
)
def test_reg_7_identity_transaction_counts_only_for_the_application_that_started_it(started_for, application, refused):
    with translation.override("en"):
        refusal = rules.identity_transaction_refusal(started_for=started_for, application_reference=application)
    assert (refusal is not None) == refused
    if refused:
        assert (refusal.rule, refusal.field) == ("REG-7", "identity")
        assert "not started for this application" in refusal.message
