"""The current address is the one with the latest move date, whatever order the moves were reported in."""

from datetime import date

import pytest

from accounts import services
from accounts.selectors import current_address
from flex.audit.trail import Actor
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def move(subscriber, street: str, moved_in_on: date):
    return services.report_move(
        subscriber,
        street=street,
        house_number=1,
        postcode="1012 LG",
        city="Amsterdam",
        moved_in_on=moved_in_on,
        actor=Actor.system("test"),
    )


def test_the_latest_move_date_is_the_current_address_even_when_an_older_move_is_reported_later(travel):
    subscriber = SubscriberFactory()
    with travel("2026-10-02"):
        damrak = move(subscriber, "Damrak", date(2026, 10, 1))
        move(subscriber, "Spui", date(2026, 5, 1))  # an earlier address, reported after the move to Damrak
    assert current_address(subscriber) == damrak


def test_no_address_on_file_is_none():
    subscriber = SubscriberFactory()
    assert current_address(subscriber) is None
