from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from billing import services
from billing.models import Invoice, SubscriptionStatus
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import PlanFactory, ProductFactory, SubscriberFactory, subscribe

pytestmark = pytest.mark.django_db
STAFF = Actor.system("test")


def test_acceptance_issues_a_prepayment_invoice_for_3_months_term_1(travel, django_capture_on_commit_callbacks):
    addon = ProductFactory(is_addon_eligible=True)  # € 9.00 a month
    with travel("2026-11-24"), django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), addons=[addon])
    invoice = subscription.invoices.get()
    assert invoice.gross_total == Decimal("162.00")  # 3 × (45 + 9)
    assert invoice.net_total + invoice.vat_total == invoice.gross_total
    assert invoice.vat_total == Decimal("28.12")  # 135 → 23.43 and 27 → 4.69 VAT, per line
    assert invoice.due_date == date(2026, 12, 8)  # PAY-2: 14 days
    assert subscription.status == SubscriptionStatus.PENDING_DELIVERY
    assert [m.to for m in mail.outbox] == [[subscription.subscriber.email]]
    assert invoice.number in mail.outbox[0].subject


def test_invoice_numbers_are_consecutive_within_a_year(travel):
    with travel("2026-05-01"):
        first = subscribe().invoices.get().number
        second = subscribe().invoices.get().number
    assert (first, second) == ("F2026-000001", "F2026-000002")


def test_second_subscription_refused_reg_9():
    subscriber = SubscriberFactory()
    subscribe(subscriber)
    with pytest.raises(Refused) as refused:
        subscribe(subscriber)
    assert refused.value.refusal.rule == "REG-9"
    assert Invoice.objects.count() == 1  # nothing half-written


def test_more_than_4_addons_refused_plan_4():
    addons = [ProductFactory(is_addon_eligible=True) for _ in range(5)]
    with pytest.raises(Refused) as refused:
        subscribe(addons=addons)
    assert refused.value.refusal.rule == "PLAN-4"


def test_activation_refused_before_the_prepayment_is_paid_reg_7():
    subscription = subscribe()
    with pytest.raises(Refused) as refused:
        services.activate_subscription(subscription.pk, delivered_on=date(2026, 11, 24), actor=STAFF)
    assert refused.value.refusal.rule == "REG-7"


def test_delivery_date_starts_the_subscription_and_the_minimum_term(travel):
    with travel("2026-11-30"):
        subscription = subscribe(delivered_on=date(2026, 11, 30))
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (subscription.start_date, subscription.minimum_term_end) == (date(2026, 11, 30), date(2027, 2, 28))


def test_payment_reported_twice_counts_once():
    subscription = subscribe()
    invoice = subscription.invoices.get()
    for _ in range(2):
        services.record_payment(
            invoice.pk,
            amount=invoice.gross_total,
            method="sepa_direct_debit",
            provider_reference="PSP-1",
            actor=Actor.partner("payments"),
        )
    invoice.refresh_from_db()
    assert invoice.payments.count() == 1
    assert invoice.status == "paid"


def test_notice_in_the_minimum_term_ends_at_the_minimum_term_end_term_2(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-01-20"):
        subscription = services.give_notice(subscription.pk, actor=STAFF)
    assert subscription.end_date == date(2026, 4, 10)


def test_notice_after_the_minimum_term_ends_30_days_later_term_2(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-06-01"):
        subscription = services.give_notice(subscription.pk, actor=STAFF)
    assert subscription.end_date == date(2026, 7, 1)


def test_withdrawal_on_day_14_allowed_wd_1(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-01-24"):
        assert services.withdraw(subscription.pk, actor=STAFF).status == SubscriptionStatus.WITHDRAWN


def test_withdrawal_on_day_15_refused_wd_1(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-01-25"), pytest.raises(Refused) as refused:
        services.withdraw(subscription.pk, actor=STAFF)
    assert refused.value.refusal.rule == "WD-1"
    assert "24-01-2026" in refused.value.refusal.message


def test_company_notice_without_reason_refused_if_it_would_end_inside_the_minimum_term_term_5(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-03-10"), pytest.raises(Refused) as refused:  # + 30 days = 9 April < 10 April
        services.terminate_with_notice(subscription.pk, actor=STAFF)
    assert refused.value.refusal.rule == "TERM-5"
    with travel("2026-03-11"):
        assert services.terminate_with_notice(subscription.pk, actor=STAFF).end_date == date(2026, 4, 10)


def test_immediate_termination_needs_a_ground_of_article_7_3_term_6(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with pytest.raises(Refused) as refused:
        services.terminate_immediately(subscription.pk, ground="did not like them", actor=STAFF)
    assert refused.value.refusal.rule == "TERM-6"
    done = services.terminate_immediately(subscription.pk, ground="non_payment", actor=STAFF)
    assert (done.status, done.termination_ground) == (SubscriptionStatus.TERMINATED, "non_payment")


def test_subscription_ends_only_when_every_unit_is_back_term_3(travel):
    from billing.models import SubscriptionUnit
    from flex import clock

    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-06-01"):
        services.give_notice(subscription.pk, actor=STAFF)
    with travel("2026-07-01"):
        assert services.request_due_returns(actor=STAFF) == 1
        assert services.request_due_returns(actor=STAFF) == 0  # run twice: nothing moves twice
        with pytest.raises(Refused) as refused:
            services.end_subscription(subscription.pk, actor=STAFF)
        assert refused.value.refusal.rule == "TERM-3"
        SubscriptionUnit.objects.filter(subscription=subscription).update(returned_at=clock.now())
        assert services.end_subscription(subscription.pk, actor=STAFF).status == SubscriptionStatus.ENDED
