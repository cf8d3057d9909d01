"""PAY-6, PAY-7, PRIV-10: a price or terms change is announced before it binds anyone.

A new price of a product that has one applies from the first day of a month at least 30 days after
it is added; a terms version after the first comes into force at least 30 days after it is
published; nothing starts in the past. The admin's add forms go through the services (lock, rule,
audit) and show a refusal on its field with the rule id and article.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from accounts import roles
from billing.models import TermsVersion
from billing.rules import terms_version_refusal
from devices.models import ProductPrice
from devices.prices import add_price
from devices.rules import earliest_price_change, price_change_refusal
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.factories import ProductFactory, UserFactory, log_in_staff

TODAY = date(2026, 3, 10)  # 30 days later is 9 April: the earliest price change is 1 May


@pytest.mark.parametrize(
    ("valid_from", "replaces", "refused_by"),
    [
        (date(2026, 3, 9), False, ("PAY-6", "in the past")),
        (date(2026, 3, 10), False, None),  # a first price may start today
        (date(2026, 3, 9), True, ("PAY-6", "in the past")),
        (date(2026, 4, 1), True, ("PAY-7", "30 days")),  # a month's first day, 22 days ahead
        (date(2026, 4, 9), True, ("PAY-6", "first day of a month")),  # 30 days ahead, mid-month
        (date(2026, 4, 30), True, ("PAY-6", "first day of a month")),
        (date(2026, 5, 1), True, None),
        (date(2026, 6, 1), True, None),
    ],
)
def test_price_change_boundaries(valid_from, replaces, refused_by):
    with override("en"):
        refusal = price_change_refusal(valid_from, TODAY, replaces_price=replaces)
    if refused_by is None:
        assert refusal is None
    else:
        assert (refusal.rule, refusal.field) == (refused_by[0], "valid_from")
        assert refused_by[1] in refusal.message


@pytest.mark.parametrize(
    ("today", "earliest"),
    [
        (date(2026, 3, 10), date(2026, 5, 1)),
        (date(2026, 3, 2), date(2026, 4, 1)),  # 30 days later is 1 April itself
        (date(2026, 3, 3), date(2026, 5, 1)),
        (date(2026, 12, 15), date(2027, 2, 1)),
    ],
)
def test_the_earliest_price_change_is_a_months_first_day_30_days_ahead(today, earliest):
    assert earliest_price_change(today) == earliest


@pytest.mark.parametrize(
    ("in_force_from", "replaces", "refused_because"),
    [
        (date(2026, 3, 9), False, "in the past"),
        (date(2026, 3, 10), False, None),  # the first terms replace nothing
        (date(2026, 3, 10), True, "30 days"),
        (date(2026, 4, 8), True, "30 days"),
        (date(2026, 4, 9), True, None),  # exactly 30 days after publication
        (date(2026, 3, 9), True, "in the past"),
    ],
)
def test_terms_version_boundaries(in_force_from, replaces, refused_because):
    with override("en"):
        refusal = terms_version_refusal(in_force_from, TODAY, replaces_version=replaces)
    if refused_because is None:
        assert refusal is None
    else:
        assert (refusal.rule, refusal.field) == ("PAY-7", "in_force_from")
        assert refused_because in refusal.message


@pytest.fixture
def finance(db, travel):
    travel(TODAY)
    user = UserFactory(role=roles.FINANCE)
    return log_in_staff(Client(), user), user


def price_form(product, valid_from):
    return {
        "product": product.pk,
        "valid_from": valid_from.isoformat(),
        "webshop_price": "299.00",
        "recommended_retail_price": "299.00",
        "addon_monthly_fee": "11.00",
    }


def test_the_price_form_refuses_a_change_from_yesterday_on_its_field_and_writes_nothing(finance):
    client, _user = finance
    product = ProductFactory()  # priced since 2020
    response = client.post(reverse("admin:devices_productprice_add"), price_form(product, date(2026, 3, 9)))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "PAY-6" in errors["valid_from"][0] and "voorwaarden art. 8.5" in errors["valid_from"][0]
    assert "PAY-6" in response.content.decode()
    assert product.prices.count() == 1


def test_the_price_form_refuses_a_change_announced_less_than_30_days_ahead(finance):
    client, _user = finance
    product = ProductFactory()
    response = client.post(reverse("admin:devices_productprice_add"), price_form(product, date(2026, 4, 1)))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["valid_from"][0]
    assert "PAY-7" in error and "voorwaarden art. 12.1" in error and "01-05-2026" in error
    assert product.prices.count() == 1


def test_a_price_change_from_the_earliest_month_is_added_through_the_service_and_audited(finance):
    client, user = finance
    product = ProductFactory()
    response = client.post(reverse("admin:devices_productprice_add"), price_form(product, date(2026, 5, 1)))
    assert response.status_code == 302
    price = product.prices.get(valid_from=date(2026, 5, 1))
    assert (price.webshop_price, price.addon_monthly_fee) == (Decimal("299.00"), Decimal("11.00"))
    event = AuditEvent.objects.get(action="add_price", target_id=str(price.pk))
    assert (event.actor_user, event.rule) == (user, "PAY-6")


def test_a_new_products_first_price_may_start_today_from_the_product_form_through_the_service(finance):
    client, user = finance
    data = {
        "sku": "ERA-500",
        "name": "Era 500",
        "kind": "speaker",
        "colour": "",
        "is_active": "on",
        "prices-TOTAL_FORMS": "1",
        "prices-INITIAL_FORMS": "0",
        "prices-0-valid_from": "2026-03-09",
        "prices-0-webshop_price": "549.00",
        "prices-0-recommended_retail_price": "549.00",
    }
    response = client.post(reverse("admin:devices_product_add"), data)
    assert response.status_code == 200  # yesterday: refused on the inline's field
    assert "PAY-6" in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert not ProductPrice.objects.filter(product__sku="ERA-500").exists()
    response = client.post(reverse("admin:devices_product_add"), {**data, "prices-0-valid_from": "2026-03-10"})
    assert response.status_code == 302
    price = ProductPrice.objects.get(product__sku="ERA-500")
    assert price.valid_from == TODAY
    assert AuditEvent.objects.get(action="add_price", target_id=str(price.pk)).actor_user == user


def test_add_price_rechecks_the_rule_under_the_lock(finance):
    product = ProductFactory()
    with pytest.raises(Refused) as refused:
        add_price(
            product.pk,
            valid_from=date(2026, 4, 1),
            webshop_price=Decimal("1"),
            recommended_retail_price=Decimal("1"),
            addon_monthly_fee=None,
            actor=Actor.system("test"),
        )
    assert refused.value.refusal.rule == "PAY-7"
    assert product.prices.count() == 1


def terms_form(in_force_from, version="3.0"):
    return {"version": version, "title": "Algemene voorwaarden Flex 3.0", "url": "", "in_force_from": in_force_from}


def test_new_terms_coming_into_force_today_are_refused_on_the_field(finance):
    client, _user = finance
    TermsVersion.objects.create(version="2.0", in_force_from=date(2025, 1, 1), title="Algemene voorwaarden Flex 2.0")
    response = client.post(reverse("admin:billing_termsversion_add"), terms_form("2026-03-10"))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["in_force_from"][0]
    assert "PAY-7" in error and "voorwaarden art. 12.1" in error and "PRIV-10" in error and "09-04-2026" in error
    assert not TermsVersion.objects.filter(version="3.0").exists()


def test_new_terms_30_days_ahead_are_published_through_the_service_and_audited(finance):
    client, user = finance
    TermsVersion.objects.create(version="2.0", in_force_from=date(2025, 1, 1), title="Algemene voorwaarden Flex 2.0")
    response = client.post(reverse("admin:billing_termsversion_add"), terms_form("2026-04-09"))
    assert response.status_code == 302
    terms = TermsVersion.objects.get(version="3.0")
    event = AuditEvent.objects.get(action="publish_terms", target_id=str(terms.pk))
    assert (event.actor_user, event.rule) == (user, "PAY-7")


def test_a_refusal_from_the_service_after_the_form_check_is_shown_and_nothing_is_written(finance, monkeypatch):
    """Another person adds a price between the form's check and the save: the service's own check,
    under the product's lock, refuses, and the admin shows it instead of an error page."""
    from devices import prices

    client, _user = finance
    product = ProductFactory()
    monkeypatch.setattr(prices, "price_refusal", lambda product, valid_from: None)
    response = client.post(reverse("admin:devices_productprice_add"), price_form(product, date(2026, 4, 1)))
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("PAY-7" in message for message in messages), messages
    assert product.prices.count() == 1
