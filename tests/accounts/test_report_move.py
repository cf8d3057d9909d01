from datetime import date

import pytest

from accounts import services
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def move(subscriber, **overrides):
    data = {
        "street": "Damrak",
        "house_number": 1,
        "postcode": "1012 LG",
        "city": "Amsterdam",
        "moved_in_on": date(2026, 10, 1),
    } | overrides
    return services.report_move(subscriber, actor=Actor.system("test"), **data)


def test_move_reported_exactly_4_weeks_later_is_on_time_reg_8(travel):
    with travel("2026-10-29"):
        address = move(SubscriberFactory())
    assert address.reported_on == date(2026, 10, 29)
    assert not address.is_reported_late


def test_move_reported_4_weeks_and_a_day_later_is_flagged_late_reg_8(travel):
    with travel("2026-10-30"):
        address = move(SubscriberFactory())
    assert address.is_reported_late


@pytest.mark.parametrize("postcode, stored", [("1012lg", "1012 LG"), ("1012 LG", "1012 LG"), (" 9999 zz ", "9999 ZZ")])
def test_dutch_postcodes_are_accepted_and_normalised(postcode, stored, travel):
    with travel("2026-10-02"):
        assert move(SubscriberFactory(), postcode=postcode).postcode == stored


@pytest.mark.parametrize("postcode", ["0123 AB", "1012 SA", "1012 SS", "12345", "1012 L", "B-1000", ""])
def test_postcodes_that_are_not_dutch_are_refused_reg_1(postcode, travel):
    with travel("2026-10-02"), pytest.raises(Refused) as refused:
        move(SubscriberFactory(), postcode=postcode)
    assert (refused.value.refusal.rule, refused.value.refusal.field) == ("REG-1", "postcode")


def test_a_move_in_the_future_is_refused(travel):
    with travel("2026-09-30"), pytest.raises(Refused) as refused:
        move(SubscriberFactory())
    assert refused.value.refusal.field == "moved_in_on"
