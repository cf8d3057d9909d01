"""Sign-up to delivery: every rule of the application journey, allowed and refused, at its boundary."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import translation

from accounts.models import Disclosure, Subscriber, User
from billing import services
from billing.models import (
    Application,
    ApplicationStatus,
    CheckOutcome,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    RefusalRecord,
    Subscription,
)
from devices import services as device_services
from devices.models import DeviceUnit, Shipment
from flex import clock
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import SubscriberFactory, UserFactory, subscribe
from tests.signup import APPLICANT, draft, ready_to_submit, submitted

AS = ApplicationStatus


def refusal_message(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.refusal.message


def refused_rule(call) -> tuple[str, str | None]:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.refusal.rule, refused.value.refusal.field


# --- REG-1: age and residence -------------------------------------------------------------------


def test_reg_1_applicant_who_turns_18_today_may_apply(signup, travel):
    with travel("2026-11-24"):
        application = submitted(signup, date_of_birth=date(2008, 11, 24))
    assert application.status == AS.AWAITING_REVIEW
    assert application.checks.get(kind="age_and_residence").outcome == CheckOutcome.PASSED


def test_reg_1_applicant_of_17_years_and_364_days_is_refused_and_nothing_kept(signup, travel):
    with travel("2026-11-24"):
        rule, field = refused_rule(lambda: draft(signup, date_of_birth=date(2008, 11, 25)))
    assert (rule, field) == ("REG-1", "date_of_birth")
    assert not User.objects.filter(email="applicant0@example.nl").exists()
    assert not Subscriber.objects.exists()
    record = RefusalRecord.objects.get()
    assert (record.rule, record.reason, record.stage) == ("REG-1", "under_age", "sign-up")


def test_priv_5_child_found_by_the_bank_is_erased_with_only_a_refusal_record(signup, travel):
    """PRIV-5: the typed date says adult, the bank says 15: everything about the child goes."""
    from billing.management.demo_applications import verify_identity

    with travel("2026-11-24"):
        application = draft(signup)
        services.choose_payment(
            application.pk, method="card", accepts_terms=True, ip_address="192.0.2.1", actor=APPLICANT
        )
        assert verify_identity(application, name="Sam Jansen0", date_of_birth=date(2011, 1, 1)) is None
    assert not Application.objects.exists()
    assert not Subscriber.objects.exists()
    assert not User.objects.filter(email="applicant0@example.nl").exists()
    assert RefusalRecord.objects.get().stage == "identity check"
    # the disclosure to the identity provider stays as proof, without the person
    assert Disclosure.objects.get(partner__code="idin").subscriber is None


def test_reg_1_bank_date_of_birth_under_18_refuses_and_keeps_the_refused_application(signup, travel):
    from billing.management.demo_applications import verify_identity

    with travel("2026-11-24"):
        application = draft(signup)  # typed: 1990
        services.choose_payment(application.pk, method="card", accepts_terms=True, ip_address=None, actor=APPLICANT)
        verify_identity(application, name="Sam Jansen0", date_of_birth=date(2009, 6, 1))  # the bank: 17
    application.refresh_from_db()
    assert (application.status, application.refusal_rule, application.refusal_reason) == (
        AS.REFUSED,
        "REG-1",
        "under_age",
    )
    assert application.subscriber.date_of_birth == date(2009, 6, 1)  # the bank's date counts


@pytest.mark.parametrize("postcode", ["1016 BR", "1016br", "9999 ZZ"])
def test_reg_1_dutch_postcodes_are_accepted(signup, postcode):
    assert draft(signup, postcode=postcode).subscriber.addresses.get().postcode[:4] in postcode


@pytest.mark.parametrize("postcode", ["0123 AB", "1234 SA", "12345", "1234 A", "B-1000", ""])
def test_reg_1_other_postcodes_are_refused(signup, postcode):
    assert refused_rule(lambda: draft(signup, postcode=postcode)) == ("REG-1", "postcode")
    assert not Subscriber.objects.exists()


def test_reg_1_legal_entity_needs_an_8_digit_kvk_number(signup):
    organisation = {"kind": "organisation", "organisation_name": "Café De Hoek B.V.", "date_of_birth": None}
    assert refused_rule(lambda: draft(signup, kvk_number="1234567", **organisation)) == ("REG-1", "kvk_number")
    application = draft(signup, kvk_number="12345678", **organisation)
    assert application.subscriber.display_name == "Café De Hoek B.V."


# --- PLAN-2, PLAN-4: the choice -----------------------------------------------------------------


def test_plan_4_at_most_4_add_ons_at_registration(signup):
    assert draft(signup, addons=[signup.addon] * 4).addons.count() == 4
    assert refused_rule(lambda: draft(signup, 1, addons=[signup.addon] * 5)) == ("PLAN-4", "addons")


def test_plan_4_only_add_on_eligible_products(signup):
    assert refused_rule(lambda: draft(signup, addons=[signup.speaker])) == ("PLAN-4", "addons")


def test_plan_2_a_plan_closed_for_sign_up_is_refused(signup):
    signup.plan.is_available = False
    signup.plan.save()
    assert refused_rule(lambda: draft(signup)) == ("PLAN-2", "plan")


# --- REG-2, REG-7: terms, mandate, identity, prepayment ------------------------------------------


def test_reg_2_terms_version_time_and_ip_are_recorded(signup, travel):
    with travel("2026-11-24T10:00:00+01:00"):
        application = ready_to_submit(signup)
    assert application.terms_version.version == "2.0"
    assert application.terms_accepted_at == clock.as_moment(application.terms_accepted_at)
    assert application.terms_accepted_ip == "192.0.2.7"


def test_reg_2_terms_must_be_accepted(signup):
    application = draft(signup)
    call = lambda: services.choose_payment(  # noqa: E731
        application.pk, method="card", accepts_terms=False, ip_address=None, actor=APPLICANT
    )
    assert refused_rule(call) == ("REG-2", "accept_terms")


@pytest.mark.parametrize("iban", ["NL91ABNA0417164301", "NL91ABNA041716430", "XX91ABNA0417164300", "hello"])
def test_reg_7_invalid_iban_is_refused(signup, iban):
    application = draft(signup)
    call = lambda: services.choose_payment(  # noqa: E731
        application.pk,
        method="sepa_direct_debit",
        iban=iban,
        account_holder="S. Jansen",
        accepts_terms=True,
        ip_address=None,
        actor=APPLICANT,
    )
    assert refused_rule(call) == ("REG-7", "iban")
    application.refresh_from_db()
    assert application.mandate_signed_at is None


def test_reg_7_sepa_mandate_is_recorded_with_reference_and_date(signup, travel):
    with travel("2026-11-24"):
        application = ready_to_submit(signup, iban="nl91 abna 0417 1643 00")
    assert application.iban == "NL91ABNA0417164300"
    assert application.mandate_reference == f"FLEX-{application.reference}"
    assert application.mandate_signed_at.date() == date(2026, 11, 24)


def test_reg_7_submit_is_refused_before_identity_and_prepayment(signup):
    application = draft(signup)
    services.choose_payment(application.pk, method="card", accepts_terms=True, ip_address=None, actor=APPLICANT)
    assert refused_rule(lambda: services.submit_application(application.pk, actor=APPLICANT))[0] == "REG-7"
    assert Application.objects.get(pk=application.pk).status == AS.DRAFT


def test_term_1_prepayment_is_3_monthly_fees_including_add_ons(signup, travel):
    with travel("2026-11-24"):
        application = ready_to_submit(signup, addons=[signup.addon])
    invoice = application.invoices.get(kind=InvoiceKind.PREPAYMENT)
    assert invoice.gross_total == 3 * (19 + 9)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.subscription is None  # not a contract yet (REG-3)


def test_card_prepayment_leaves_the_card_authorisation(signup):
    application = ready_to_submit(signup, method="card")
    assert application.card_token.startswith("ctok_")
    assert Payment.objects.get().method == "card"


# --- REG-9 ---------------------------------------------------------------------------------------


def test_reg_9_second_application_while_one_is_pending_is_refused(signup):
    application = submitted(signup)
    user = application.subscriber.user
    call = lambda: services.start_application(  # noqa: E731
        None, plan=signup.plan, addons=[], password=None, user=user, actor=APPLICANT
    )
    assert refused_rule(call) == ("REG-9", "subscriber")


def test_reg_9_same_e_mail_cannot_apply_twice(signup):
    draft(signup)
    assert refused_rule(lambda: draft(signup)) == ("REG-9", "email")


def test_reg_9_same_verified_person_under_another_account_is_refused(signup):
    first = submitted(signup, 1, first_name="Sam", last_name="Jansen")
    second = submitted(signup, 2, first_name="Sam", last_name="Jansen")
    first.refresh_from_db()
    assert first.status == AS.AWAITING_REVIEW
    assert (second.status, second.refusal_rule) == (AS.REFUSED, "REG-9")


def test_reg_9_acceptance_is_refused_whole_when_a_live_subscription_came_first(signup):
    """The one-live-subscription constraint is the last guard, for a race the checks cannot see: the
    acceptance is refused and nothing of it is written."""
    from flex.audit.models import AuditEvent

    application = submitted(signup)
    # Only a race between two acceptances reaches this state; no service writes it, so the test does.
    Subscription.objects.create(
        subscriber=application.subscriber, plan=signup.plan, payment_method="sepa_direct_debit", accepted_at=clock.now()
    )
    assert refused_rule(lambda: services.accept_application(application.pk, actor=signup.reviewer)) == ("REG-9", None)
    application.refresh_from_db()
    assert (application.status, application.subscription) == (AS.AWAITING_REVIEW, None)
    assert Subscription.objects.count() == 1
    assert not AuditEvent.objects.filter(action="accept").exists()


# --- REG-4, REG-5: refusing checks ---------------------------------------------------------------


def test_reg_4_earlier_termination_by_the_company_refuses_the_same_verified_person(signup):
    earlier = submitted(signup, 1, first_name="Tim", last_name="Terug")
    services.accept_application(earlier.pk, actor=signup.reviewer)
    subscription = Subscription.objects.get()
    Subscription.objects.filter(pk=subscription.pk).update(status="terminated", termination_ground="fraud")
    again = submitted(signup, 2, first_name="Tim", last_name="Terug")  # new e-mail, same bank identity
    assert (again.status, again.refusal_rule, again.refusal_reason) == (AS.REFUSED, "REG-4", "terminated_before")


def test_reg_5_negative_credit_check_refuses_and_refunds_the_prepayment(signup):
    application = submitted(signup, last_name="Wanbetaler")
    assert (application.status, application.refusal_rule) == (AS.REFUSED, "REG-5")
    credit = application.invoices.get(kind=InvoiceKind.CREDIT_NOTE)
    prepayment = application.invoices.get(kind=InvoiceKind.PREPAYMENT)
    assert credit.gross_total == -prepayment.gross_total
    assert prepayment.status == InvoiceStatus.CREDITED
    assert Payment.objects.get().status == PaymentStatus.REFUNDED
    refusal_mail = [m for m in mail.outbox if "aanvraag" in m.subject]
    assert "REG-5" in refusal_mail[0].body and "art. 2.2.2" in refusal_mail[0].body


def test_reg_5_credit_bureau_timeout_is_retried_and_then_answers(signup):
    application = submitted(signup, last_name="Traag")
    check = application.checks.get(kind="credit")
    assert (check.outcome, check.attempts) == (CheckOutcome.PASSED, 2)
    assert application.status == AS.AWAITING_REVIEW


def test_unreachable_credit_bureau_leaves_the_check_for_staff_to_retry(signup, settings):
    application = submitted(signup, last_name="Onbereikbaar")
    check = application.checks.get(kind="credit")
    assert check.outcome == CheckOutcome.UNAVAILABLE
    assert application.status == AS.AWAITING_REVIEW
    assert refused_rule(lambda: services.accept_application(application.pk, actor=signup.reviewer))[0] == "REG-5"
    Subscriber.objects.filter(pk=application.subscriber_id).update(last_name="Bereikbaar")
    assert services.retry_checks(application.pk, actor=signup.reviewer) == 1
    application.refresh_from_db()
    assert application.checks.get(kind="credit").outcome == CheckOutcome.PASSED
    assert application.status == AS.AWAITING_REVIEW


def test_checks_run_twice_change_nothing(signup):
    application = submitted(signup)
    before = list(application.checks.values_list("kind", "outcome", "attempts", "checked_at"))
    assert services.start_checks(application.pk, actor=Actor.system("again")) == []
    for kind, *_ in before:
        services.run_check(application.pk, kind, actor=Actor.system("again"))
    assert list(application.checks.values_list("kind", "outcome", "attempts", "checked_at")) == before


def test_mandate_whose_holder_does_not_match_fails_its_check(signup):
    application = submitted(signup, account_holder="Onbekend Persoon")
    assert application.checks.get(kind="payment_authorisation").outcome == CheckOutcome.FAILED
    assert application.status == AS.AWAITING_REVIEW  # not a refusal rule: staff decide (REG-6)


# --- REG-6: staff decide -------------------------------------------------------------------------


def test_reg_6_staff_refuse_with_reason_code_and_note(signup):
    application = submitted(signup)
    call = lambda: services.refuse_application(  # noqa: E731
        application.pk, refusal_reason="suspected_fraud", actor=signup.reviewer, reason=""
    )
    assert refused_rule(call) == ("REG-6", "reason")
    services.refuse_application(
        application.pk, refusal_reason="suspected_fraud", actor=signup.reviewer, reason="ID photo does not match"
    )
    application.refresh_from_db()
    assert (application.status, application.refusal_rule, application.refusal_note) == (
        AS.REFUSED,
        "REG-6",
        "ID photo does not match",
    )
    assert application.decided_by == signup.reviewer_user.email


def test_reg_6_warehouse_staff_may_not_decide(signup):
    from accounts import roles

    application = submitted(signup)
    warehouse = Actor.of_user(UserFactory(role=roles.WAREHOUSE))
    with pytest.raises(PermissionDenied):
        services.accept_application(application.pk, actor=warehouse)
    with pytest.raises(PermissionDenied):
        services.refuse_application(application.pk, refusal_reason="other", actor=warehouse, reason="no")


def test_automatic_acceptance_when_every_check_passed(signup, settings):
    settings.FLEX = {**settings.FLEX, "AUTO_ACCEPT": True}
    application = submitted(signup)
    assert application.status == AS.ALLOCATED
    assert application.decided_by == "system:auto_accept"


def test_withdrawal_before_acceptance_refunds(signup):
    application = submitted(signup)
    services.withdraw_application(application.pk, actor=APPLICANT)
    assert Payment.objects.get().status == PaymentStatus.REFUNDED


# --- acceptance: REG-3, RADIO-1, PLAN-2, PAY-8, PRIV-1 ------------------------------------------


def test_acceptance_creates_the_subscription_allocates_ships_and_confirms(signup, travel):
    with travel("2026-11-24"):
        application = submitted(signup, addons=[signup.addon])
        mail.outbox.clear()
        services.accept_application(application.pk, actor=signup.reviewer, reason="all fine")
    application.refresh_from_db()
    subscription = application.subscription
    assert subscription.status == "pending_delivery"  # REG-3
    assert subscription.payment_method == "sepa_direct_debit"  # PAY-1: the method chosen at registration
    assert subscription.radio_hd_reference == f"RHD-SUB{subscription.pk}"  # RADIO-1
    assert application.invoices.get(kind="prepayment").subscription == subscription
    assert application.status == AS.ALLOCATED
    held = sorted(u.unit.product.sku for u in subscription.units.select_related("unit__product"))
    assert held == ["ERA-100", "ERA-100", "ROAM-2"]  # PLAN-2: plan plus add-on
    assert set(DeviceUnit.objects.filter(allocations__subscription=subscription).values_list("status", flat=True)) == {
        "reserved"
    }
    assert application.shipment.status == "ordered"
    assert application.shipment.warehouse_order == f"WH-{application.shipment.reference}"
    assert [m.subject for m in mail.outbox] == [f"Flex: je bestelling {application.reference} is geaccepteerd"]
    disclosed = set(Disclosure.objects.values_list("partner__code", flat=True))
    assert disclosed == {"idin", "creditbureau", "payments", "warehouse"}  # PRIV-1


def test_acceptance_and_the_jobs_it_enqueues_take_a_fixed_number_of_queries(signup, django_assert_max_num_queries):
    """Issue 13: accepting an application with an add-on, with the jobs it enqueues run as a worker runs
    them (Radio HD, allocation of both products, the warehouse order with its disclosure, the e-mail),
    took 54 queries; the reviewer's permissions and the content types, read once per process, included."""
    application = submitted(signup, addons=[signup.addon])
    # 47 before mandates were their own record; +2: the mandate's insert and its text's language (PAY-1).
    with django_assert_max_num_queries(49):
        services.accept_application(application.pk, actor=signup.reviewer)
    application.refresh_from_db()
    assert application.status == AS.ALLOCATED
    assert application.shipment.status == "ordered"
    assert application.subscription.radio_hd_reference
    assert application.decision_emailed_at is not None


def test_disclosures_name_categories_purpose_and_time(signup, travel):
    with travel("2026-11-24T09:00:00+01:00"):
        submitted(signup)
    credit = Disclosure.objects.get(partner__code="creditbureau")
    assert credit.categories == ["address", "identity"]
    assert "credit check" in credit.purpose
    assert credit.at == clock.as_moment(credit.at)
    assert credit.subscriber.email == "applicant0@example.nl"


def test_refurbished_units_go_first_where_the_plan_allows(signup):
    refurbished = DeviceUnit.objects.filter(product=signup.speaker).last()
    DeviceUnit.objects.filter(pk=refurbished.pk).update(condition="refurbished")
    application = submitted(signup)
    services.accept_application(application.pk, actor=signup.reviewer)
    allocated = DeviceUnit.objects.filter(allocations__subscription__application=application)
    assert refurbished in allocated


def test_out_of_stock_waits_with_nothing_reserved_and_resumes_when_stock_arrives(signup):
    DeviceUnit.objects.filter(product=signup.speaker).exclude(
        pk=DeviceUnit.objects.filter(product=signup.speaker).first().pk
    ).delete()  # one speaker left, the plan needs two
    application = submitted(signup)
    services.accept_application(application.pk, actor=signup.reviewer)
    application.refresh_from_db()
    assert application.status == AS.AWAITING_STOCK
    assert not DeviceUnit.objects.filter(status="reserved").exists()
    assert not Shipment.objects.exists()
    device_services.register_stock(
        sku="ERA-100",
        serial_numbers=["SN-NEW-1"],
        condition="new",
        actor=Actor.partner("warehouse"),
        warehouse=device_services.configured_partner("warehouse"),
    )
    application.refresh_from_db()
    assert application.status == AS.ALLOCATED
    assert DeviceUnit.objects.filter(status="reserved").count() == 2


def test_acceptance_refused_while_a_check_failed(signup):
    application = submitted(signup, account_holder="Onbekend Persoon")
    rule, _ = refused_rule(lambda: services.accept_application(application.pk, actor=signup.reviewer))
    assert rule == "REG-7"


def test_delivery_starts_the_subscription_and_its_minimum_term(signup, travel):
    with travel("2026-11-24"):
        application = submitted(signup)
        services.accept_application(application.pk, actor=signup.reviewer)
    application.refresh_from_db()
    shipment = application.shipment
    serials = list(shipment.units.values_list("serial_number", flat=True))
    warehouse, carrier = Actor.partner("warehouse"), Actor.partner("carrier")
    delivered_at = clock.as_moment(date(2026, 11, 26))
    device_services.confirm_shipped(
        shipment.reference,
        serial_numbers=serials,
        carrier="carrier",
        tracking_code="3SABC",
        shipped_at=delivered_at - timedelta(days=1),
        actor=warehouse,
        warehouse=device_services.configured_partner("warehouse"),
    )
    device_services.record_tracking_event(
        shipment.reference,
        carrier=device_services.configured_partner("carrier"),
        event_id="e2",
        code="delivered",
        occurred_at=delivered_at,
        actor=carrier,
    )
    subscription = Subscription.objects.get()
    assert subscription.status == "active"
    assert subscription.start_date == date(2026, 11, 26)
    assert subscription.minimum_term_end == date(2027, 2, 26)  # TERM-1: start + 3 months
    assert [i.kind for i in Invoice.objects.all()] == ["prepayment"]  # PLAN-6: shipping is free
    with travel("2026-12-10"):  # WD-1: the 14th day after the start
        assert services.withdraw(subscription.pk, actor=APPLICANT).status == "withdrawn"


def test_invoices_of_an_applicant_show_on_the_dashboard_selector(signup):
    from billing.selectors import subscriber_invoices

    application = ready_to_submit(signup)
    assert [i.kind for i in subscriber_invoices(application.subscriber)] == ["prepayment"]


def test_existing_subscriber_cannot_apply_next_to_a_live_subscription(signup):
    subscription = subscribe(subscriber=SubscriberFactory(), plan=signup.plan)
    user = subscription.subscriber.user
    call = lambda: services.start_application(  # noqa: E731
        None, plan=signup.plan, addons=[], password=None, user=user, actor=APPLICANT
    )
    with translation.override("en"):
        assert refused_rule(call) == ("REG-9", "subscriber")
        assert "already have a subscription" in refusal_message(call)  # not the open-application condition
    assert list(Application.objects.values_list("subscription", flat=True)) == [subscription.pk]
