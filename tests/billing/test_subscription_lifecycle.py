from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from billing import services
from billing.adapters.payments import payment_provider
from billing.models import Application, Invoice, SubscriptionStatus
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import PlanFactory, ProductFactory, SubscriberFactory, subscribe

pytestmark = pytest.mark.django_db
STAFF = Actor.system("test")


def test_the_prepayment_is_3_monthly_fees_with_vat_rounded_per_line_term_1(travel):
    addon = ProductFactory(is_addon_eligible=True)  # € 9.00 a month
    with travel("2026-11-24"):
        subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), addons=[addon])
    invoice = subscription.invoices.get()
    assert invoice.kind == "prepayment" and invoice.status == "paid"  # REG-7: paid before acceptance
    assert invoice.gross_total == Decimal("162.00")  # 3 × (45 + 9)
    assert invoice.net_total + invoice.vat_total == invoice.gross_total
    assert invoice.vat_total == Decimal("28.12")  # 135 → 23.43 and 27 → 4.69 VAT, per line
    assert invoice.due_date == date(2026, 12, 8)  # PAY-2: 14 days
    assert subscription.status == SubscriptionStatus.PENDING_DELIVERY
    invoice_mail = [m.to for m in mail.outbox if invoice.number in m.subject]
    assert invoice_mail == [[subscription.subscriber.email]]


def test_invoice_numbers_are_consecutive_within_a_year(travel):
    with travel("2026-05-01"):
        first = subscribe().invoices.get().number
        second = subscribe().invoices.get().number
    assert (first, second) == ("F2026-000001", "F2026-000002")


def test_a_subscriber_with_a_subscription_cannot_apply_for_a_second_reg_9():
    subscriber = SubscriberFactory()
    subscribe(subscriber)
    with pytest.raises(Refused) as refused, translation.override("en"):
        subscribe(subscriber)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("REG-9", "subscriber")
    assert "already have a subscription" in refused.value.refusal.message  # not the open-application condition
    assert Application.objects.count() == 1  # nothing half-written
    assert Invoice.objects.count() == 1


def test_delivery_date_starts_the_subscription_and_the_minimum_term(travel):
    with travel("2026-11-30"):
        subscription = subscribe(delivered_on=date(2026, 11, 30))
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (subscription.start_date, subscription.minimum_term_end) == (date(2026, 11, 30), date(2027, 2, 28))


def test_a_payment_reported_twice_counts_once():
    subscription = subscribe()  # the provider's webhook and our status request on return: two reports
    application = subscription.application
    redelivered = payment_provider().status(application.prepayment_reference)
    services.record_provider_payment(redelivered, actor=Actor.partner("payments"))
    invoice = subscription.invoices.get()
    assert invoice.payments.count() == 1
    assert invoice.payments.get().amount == invoice.gross_total
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


def test_return_instructions_wait_for_the_end_of_the_notice_period_term_3(travel):
    with travel("2026-01-10"):
        subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-06-01"):
        services.give_notice(subscription.pk, actor=STAFF)  # ends on 1 July
    with travel("2026-06-30"):
        with pytest.raises(Refused) as refused:
            services.request_return(subscription.pk, actor=STAFF)
        assert refused.value.refusal.rule == "TERM-3"
        assert "01-07-2026" in refused.value.refusal.message
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.NOTICE_GIVEN


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
        # A shortcut production does not have: no service records a unit's return on its allocation yet
        # (receiving a unit back changes the unit only), so this is the one state written by hand.
        SubscriptionUnit.objects.filter(subscription=subscription).update(returned_at=clock.now())
        assert services.end_subscription(subscription.pk, actor=STAFF).status == SubscriptionStatus.ENDED
