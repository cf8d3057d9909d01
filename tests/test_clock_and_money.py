import gc
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from flex import clock
from flex.money import format_eur, split_gross, to_money, vat_rate_on


def test_half_a_cent_rounds_up():
    assert to_money(Decimal("0.005")) == Decimal("0.01")
    assert to_money(Decimal("2.345")) == Decimal("2.35")
    assert to_money(Decimal("-2.345")) == Decimal("-2.35")


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        to_money(0.1)


def test_vat_split_adds_up_to_the_consumer_price():
    net, vat = split_gross(Decimal("45.00"), Decimal("0.21"))
    assert (net, vat) == (Decimal("37.19"), Decimal("7.81"))
    assert net + vat == Decimal("45.00")


def test_vat_rate_is_dated():
    assert vat_rate_on(date(2018, 12, 31)) == Decimal("0.19")
    assert vat_rate_on(date(2019, 1, 1)) == Decimal("0.21")


def test_amounts_are_shown_the_dutch_way():
    assert format_eur(Decimal("1234.5")) == "€ 1.234,50"
    assert format_eur(Decimal("-5")) == "€ -5,00"


def test_monthly_dates_clamp_to_the_end_of_a_short_month():
    assert clock.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert clock.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert clock.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_today_is_the_amsterdam_date_not_the_utc_date():
    # 00:30 on 1 March in Amsterdam is 23:30 on 28 February in UTC: contract days are Dutch days.
    with clock.travel_to(datetime(2026, 3, 1, 0, 30, tzinfo=clock.AMSTERDAM)):
        assert clock.now().astimezone(UTC).date() == date(2026, 2, 28)
        assert clock.today() == date(2026, 3, 1)


def test_travel_ends_with_the_block():
    with clock.travel_to(date(2001, 1, 1)):
        assert clock.today() == date(2001, 1, 1)
    assert clock.today() > date(2001, 1, 1)


def test_the_travel_fixture_called_without_a_block_holds_the_clock_for_the_rest_of_the_test(travel):
    travel("2026-02-01")  # the trip is not kept in a variable: dropping it must not end it
    gc.collect()
    assert clock.today() == date(2026, 2, 1)
    with travel("2026-03-01"):
        assert clock.today() == date(2026, 3, 1)
    assert clock.today() == date(2026, 2, 1)  # the block ends back on the test's own day


def test_a_refusal_names_its_article_in_the_readers_language():
    from django.utils import translation

    from flex.refusals import Refusal

    refusal = Refusal(rule="REG-8", message="Too late.")
    with translation.override("nl"):
        assert str(refusal) == "Too late. (REG-8, voorwaarden art. 2.3.4)"
    with translation.override("en"):
        assert str(refusal) == "Too late. (REG-8, terms art. 2.3.4)"
    assert refusal.as_problem()["article"] == "terms art. 2.3.4"  # the API's field stays the catalogue's
