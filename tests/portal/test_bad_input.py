"""Bad input on the portal's forms is an error on the field it concerns, never a 500, and nothing is
stored: house numbers that do not fit, dates before 1900 or far ahead (REG-1, REG-8), strings longer
than the field holds, NUL characters."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Address, Subscriber, User
from billing.models import Application
from tests.factories import AddressFactory, SubscriberFactory
from tests.portal.test_signup_wizard import choose, details
from tests.signup import signup_world

LONG = "x" * 5000
NUL = "Jan\x00sen"
HOUSE_NUMBERS = [str(2**31), str(2**63), "99999999999999999999999", "-1", "0", "tien", "1\x00"]


@pytest.fixture
def world(db, settings):
    return signup_world(settings)


@pytest.fixture
def signup_client(world):
    client = Client(raise_request_exception=True)
    choose(client, world)
    return client


def field_errors(page, field: str) -> str:
    assert page.status_code == 200, page.status_code
    errors = page.context["form"].errors
    assert field in errors, dict(errors)
    return " ".join(errors[field])


def assert_no_applicant_stored():
    assert not User.objects.filter(is_staff=False).exists()  # the world has one reviewer
    assert not Subscriber.objects.exists()
    assert not Address.objects.exists()
    assert not Application.objects.exists()


# --- sign-up, step 2: the applicant's details ----------------------------------------------------


@pytest.mark.parametrize("house_number", HOUSE_NUMBERS)
def test_details_house_number_that_does_not_fit_is_a_field_error(signup_client, house_number):
    page = signup_client.post(reverse("portal:signup_details"), details(house_number=house_number))
    field_errors(page, "house_number")
    assert_no_applicant_stored()


@pytest.mark.parametrize("born", ["1899-12-31", "0001-01-01", "1000-06-15"])
def test_reg_1_details_birth_date_before_1900_is_refused_on_its_field(signup_client, born):
    page = signup_client.post(reverse("portal:signup_details"), details(date_of_birth=born))
    error = field_errors(page, "date_of_birth")
    assert "REG-1" in error and "art. 1.1.1" in error and "1900" in error
    assert_no_applicant_stored()


@pytest.mark.parametrize("born", ["2100-01-01", "9999-12-31"])
def test_reg_1_details_birth_date_in_the_future_is_refused_without_a_minor_record(signup_client, born):
    from billing.models import RefusalRecord

    page = signup_client.post(reverse("portal:signup_details"), details(date_of_birth=born))
    error = field_errors(page, "date_of_birth")
    assert "REG-1" in error and "art. 1.1.1" in error
    assert_no_applicant_stored()
    assert not RefusalRecord.objects.exists()  # not a child: a date that cannot be a birth date


def test_reg_1_details_birth_date_on_1_january_1900_is_accepted(signup_client):
    response = signup_client.post(reverse("portal:signup_details"), details(date_of_birth="1900-01-01"))
    assert response.status_code == 302
    assert Subscriber.objects.get().date_of_birth.isoformat() == "1900-01-01"


DETAILS_TEXT_FIELDS = ["first_name", "last_name", "phone", "postcode", "house_number_suffix", "street", "city"]


@pytest.mark.parametrize("field", [*DETAILS_TEXT_FIELDS, "email", "password"])
@pytest.mark.parametrize("value", [LONG, NUL], ids=["long", "nul"])
def test_details_text_too_long_or_with_nul_is_a_field_error(signup_client, field, value):
    if field == "email":
        value = ("x" * 5000 if value == LONG else "sam\x00") + "@example.nl"
    page = signup_client.post(reverse("portal:signup_details"), details(**{field: value}))
    field_errors(page, field)
    assert_no_applicant_stored()


@pytest.mark.parametrize("field", ["organisation_name", "kvk_number"])
@pytest.mark.parametrize("value", [LONG, NUL], ids=["long", "nul"])
def test_details_organisation_text_too_long_or_with_nul_is_a_field_error(signup_client, field, value):
    data = details(kind="organisation", organisation_name="Café De Hoek B.V.", kvk_number="12345678")
    page = signup_client.post(reverse("portal:signup_details"), data | {field: value})
    field_errors(page, field)
    assert_no_applicant_stored()


@pytest.mark.parametrize(
    "field, value",
    [("kind", "person\x00"), ("kind", LONG), ("date_of_birth", "1990-05-17\x00"), ("date_of_birth", LONG)],
)
def test_details_choice_and_date_garbage_is_a_field_error(signup_client, field, value):
    page = signup_client.post(reverse("portal:signup_details"), details(**{field: value}))
    field_errors(page, field)
    assert_no_applicant_stored()


# --- sign-up, step 1 and 3: plan and payment --------------------------------------------------------


@pytest.mark.parametrize("field", ["plan", "addon"])
@pytest.mark.parametrize("value", [str(2**31), str(2**63), "-1", "1\x00", LONG])
def test_plan_step_garbage_is_a_field_error(world, field, value):
    name = "plan" if field == "plan" else f"addon_{world.addon.pk}"
    data = {"plan": world.plan.pk, f"addon_{world.addon.pk}": 0} | {name: value}
    page = Client(raise_request_exception=True).post(reverse("portal:signup"), data)
    field_errors(page, name)


@pytest.fixture
def draft_client(signup_client):
    signup_client.post(reverse("portal:signup_details"), details())
    return signup_client, Application.objects.get()


@pytest.mark.parametrize(
    "field, value",
    [
        ("iban", LONG),
        ("iban", "NL91ABNA0417164300\x00"),
        ("account_holder", LONG),
        ("account_holder", NUL),
        ("payment_method", "sepa_direct_debit\x00"),
    ],
)
def test_payment_step_garbage_is_a_field_error_and_nothing_is_chosen(draft_client, field, value):
    client, application = draft_client
    data = {"payment_method": "sepa_direct_debit", "iban": "NL91ABNA0417164300", "account_holder": "S. Jansen"}
    page = client.post(
        reverse("portal:signup_payment", args=[application.reference]), data | {field: value, "accept_terms": "on"}
    )
    field_errors(page, field)
    application.refresh_from_db()
    assert (application.payment_method, application.iban, application.terms_accepted_at) == ("", "", None)


# --- "report a move" --------------------------------------------------------------------------------


@pytest.fixture
def subscriber_client(db, travel):
    with travel("2026-10-15"):
        subscriber = SubscriberFactory()
        AddressFactory(subscriber=subscriber)
        client = Client(raise_request_exception=True)
        client.force_login(subscriber.user)
        yield client, subscriber


def move(**overrides):
    data = {"moved_in_on": "2026-10-01", "postcode": "3511 AB", "house_number": "5", "street": "Oudegracht"}
    return data | {"city": "Utrecht"} | overrides


def assert_no_move_stored(subscriber):
    assert subscriber.addresses.count() == 1


@pytest.mark.parametrize("house_number", HOUSE_NUMBERS)
def test_move_house_number_that_does_not_fit_is_a_field_error(subscriber_client, house_number):
    client, subscriber = subscriber_client
    page = client.post(reverse("portal:address"), move(house_number=house_number))
    field_errors(page, "house_number")
    assert_no_move_stored(subscriber)


@pytest.mark.parametrize("moved_in_on", ["1899-12-31", "0001-01-01"])
def test_reg_8_move_date_before_1900_is_refused_on_its_field(subscriber_client, moved_in_on):
    client, subscriber = subscriber_client
    page = client.post(reverse("portal:address"), move(moved_in_on=moved_in_on))
    error = field_errors(page, "moved_in_on")
    assert "REG-8" in error and "art. 2.3.4" in error and "1900" in error
    assert_no_move_stored(subscriber)


@pytest.mark.parametrize("moved_in_on", ["2026-10-16", "9999-12-31"])
def test_reg_8_move_date_in_the_future_is_refused_on_its_field(subscriber_client, moved_in_on):
    client, subscriber = subscriber_client
    page = client.post(reverse("portal:address"), move(moved_in_on=moved_in_on))
    error = field_errors(page, "moved_in_on")
    assert "REG-8" in error and "art. 2.3.4" in error
    assert_no_move_stored(subscriber)


@pytest.mark.parametrize("field", ["postcode", "house_number_suffix", "street", "city", "moved_in_on"])
@pytest.mark.parametrize("value", [LONG, NUL], ids=["long", "nul"])
def test_move_text_too_long_or_with_nul_is_a_field_error(subscriber_client, field, value):
    client, subscriber = subscriber_client
    page = client.post(reverse("portal:address"), move(**{field: value}))
    field_errors(page, field)
    assert_no_move_stored(subscriber)
