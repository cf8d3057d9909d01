import itertools
from collections import Counter
from contextlib import nullcontext
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.test.utils import override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import Address, Partner, PartnerApiKey, Subscriber, User
from billing.management.demo_applications import pay_prepayment, verify_identity
from devices import services as device_services
from devices.models import DeviceUnit, Plan, PlanItem, Product, ProductPrice
from flex import clock
from flex.audit.trail import Actor

PASSWORD = "correct horse battery"  # every test user's password (UserFactory, subscribe)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.nl")
    full_name = factory.Faker("name", locale="nl_NL")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if extracted:
            roles.ensure_staff_groups()
            user.is_staff = True
            user.groups.add(Group.objects.get(name=extracted))
        if create:
            user.save()


def log_in_staff(client, user):
    """`client.force_login(user)` with the second factor verified, as after entering the code of the
    authenticator the user has (the admin role needs one even in sandbox mode)."""
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="Test authenticator")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    user = factory.SubFactory(UserFactory)
    first_name = "Anna"
    last_name = factory.Sequence(lambda n: f"de Vries {n}")
    date_of_birth = date(1985, 6, 1)
    email = factory.LazyAttribute(lambda s: s.user.email if s.user else "someone@example.nl")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    subscriber = factory.SubFactory(SubscriberFactory)
    street = "Keizersgracht"
    house_number = factory.Sequence(lambda n: n + 1)
    postcode = "1015 CX"
    city = "Amsterdam"
    moved_in_on = date(2020, 1, 1)
    reported_on = date(2020, 1, 5)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Speaker {n}")
    kind = "speaker"
    is_addon_eligible = False

    @factory.post_generation
    def price(product, create, extracted, **kwargs):
        if create:
            ProductPrice.objects.create(
                product=product,
                valid_from=date(2020, 1, 1),
                webshop_price=Decimal(extracted or "249.00"),
                recommended_retail_price=Decimal(extracted or "249.00"),
                addon_monthly_fee=kwargs.get("addon_monthly_fee", Decimal("9.00"))
                if product.is_addon_eligible
                else None,
            )


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    monthly_fee = Decimal("45.00")

    @factory.post_generation
    def items(plan, create, extracted, **kwargs):
        if create:
            for product, quantity in extracted or [(ProductFactory(), 1)]:
                PlanItem.objects.create(plan=plan, product=product, quantity=quantity)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ["code"]

    code = "warehouse"
    name = "Warehouse"
    kind = "warehouse"


class DeviceUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceUnit

    serial_number = factory.Sequence(lambda n: f"SN-TEST-{n:05d}")
    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(PartnerFactory)  # the configured warehouse, as register_stock defaults


def api_key_for(partner: Partner, scopes: list[str]) -> str:
    _, key = PartnerApiKey.objects.create_key(name=f"{partner.code} key", partner=partner, scopes=scopes)
    return key


REVIEWER_EMAIL = "reviewer@flex.example"
_applicants = itertools.count(1)
_serials = itertools.count(1)


def subscribe(
    subscriber=None, plan=None, *, addons=(), delivered_on=None, units=None, payment_method="sepa_direct_debit"
):
    """A subscription reached the way production reaches it, through the services the wizard, the jobs,
    a reviewer and the partners call; nothing is written around them.

    The applicant applies (a new sign-up, or `subscriber` logged in with the details on file), accepts
    the terms with a SEPA mandate (or, with `payment_method="card"`, chooses card), is verified at the
    (sandbox) bank and pays the first 3 monthly fees at the (sandbox) checkout (by card for a card payer,
    which leaves the card authorisation for the monthly fees); the checks run; a customer-service
    reviewer accepts; the units are allocated from stock (`units` if given: they must be the ones
    allocation takes; otherwise the warehouse registers fresh stock for the plan and add-ons) and the
    shipment is ordered.

    Without `delivered_on` it stays there, on the project clock's today: pending delivery, prepayment
    paid, shipment ordered. With `delivered_on`, all of that and the warehouse's shipped confirmation
    happen the day before, and the carrier reports the delivery on `delivered_on`: the subscription is
    active from that day (TERM-1). Either way the clock is as it was when this returns.

    The jobs services leave for after the commit run as a commit would run them, even inside a test's
    own transaction (`django_db`), where nothing ever commits.
    """
    from billing import services
    from billing.models import ApplicationStatus, SubscriptionStatus

    plan = plan or PlanFactory()
    addons = list(addons)
    day = delivered_on - timedelta(days=1) if delivered_on else None
    commit = _CommitsInTest()
    automatic = {**settings.FLEX, "AUTO_ACCEPT": False}
    with (
        clock.travel_to(day) if day else nullcontext(),
        override_settings(FLEX_SANDBOX_AUTOPILOT=False, FLEX=automatic),  # the partners act below, when told
    ):
        _terms_in_force()
        stock = list(units) if units is not None else _stock_for(plan, addons, commit)
        application, actor = _apply(subscriber, plan, addons)
        card = payment_method == "card"
        services.choose_payment(
            application.pk,
            method=payment_method,
            iban="" if card else "NL91ABNA0417164300",
            account_holder="" if card else application.subscriber.display_name,
            accepts_terms=True,
            ip_address="192.0.2.10",
            actor=actor,
        )
        subscriber = application.subscriber
        verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
        pay_prepayment(application, method="card" if card else "ideal")
        commit()
        services.submit_application(application.pk, actor=actor)
        commit()  # the checks run
        application.refresh_from_db()
        if application.status != ApplicationStatus.AWAITING_REVIEW:
            failed = list(application.checks.exclude(outcome="passed").values_list("kind", "outcome", "detail"))
            raise AssertionError(f"{application.reference} is {application.status} after the checks: {failed}")
        services.accept_application(application.pk, actor=_reviewer(), reason="every check passed")
        commit()  # Radio HD, allocation, the warehouse order, the decision e-mail
        application.refresh_from_db()
        if application.status != ApplicationStatus.ALLOCATED:
            raise AssertionError(f"{application.reference} is {application.status}: not enough stock for {plan}")
        shipment = application.shipment
        shipped = list(shipment.units.order_by("id"))
        if units is not None and {u.pk for u in shipped} != {u.pk for u in stock}:
            raise AssertionError(
                f"allocation took {[u.serial_number for u in shipped]}, not the units given; "
                "it takes the longest in stock of each product"
            )
        if delivered_on:
            warehouse, carrier = (settings.FLEX_PARTNERS[kind].partner_code for kind in ("warehouse", "carrier"))
            device_services.confirm_shipped(
                shipment.reference,
                serial_numbers=[u.serial_number for u in shipped],
                carrier=carrier,
                tracking_code=f"3S{shipment.reference}",
                shipped_at=clock.now(),
                actor=Actor.partner(warehouse),
                warehouse=device_services.configured_partner("warehouse"),
            )
            with clock.travel_to(delivered_on):
                device_services.record_tracking_event(
                    shipment.reference,
                    carrier=device_services.configured_partner("carrier"),
                    event_id=f"{shipment.reference}-delivered",
                    code="delivered",
                    occurred_at=clock.now(),
                    actor=Actor.partner(carrier),
                )
                commit()
    subscription = application.subscription
    subscription.refresh_from_db()
    expected = SubscriptionStatus.ACTIVE if delivered_on else SubscriptionStatus.PENDING_DELIVERY
    assert subscription.status == expected, (subscription.status, expected)
    return subscription


class _CommitsInTest:
    """Run the callbacks left for after the commit (`transaction.on_commit`: jobs, e-mails) that were
    added since this was made, as the commit would run them, and forget them, so that an enclosing
    `django_capture_on_commit_callbacks` does not run them twice. Outside a transaction (transactional
    tests) they ran at once already."""

    def __init__(self) -> None:
        self.connection = transaction.get_connection()
        self.mark = len(self.connection.run_on_commit)

    def __call__(self) -> None:
        run_on_commit = self.connection.run_on_commit
        while self.connection.in_atomic_block and len(run_on_commit) > self.mark:
            pending = run_on_commit[self.mark :]
            del run_on_commit[self.mark :]
            for _savepoints, callback, _robust in pending:
                callback()


def _terms_in_force() -> None:
    """REG-2: an applicant accepts the terms version in force; publish one if the test has none."""
    from billing.models import TermsVersion

    if not TermsVersion.objects.filter(in_force_from__lte=clock.today()).exists():
        TermsVersion.objects.get_or_create(
            version="test", defaults={"in_force_from": date(2000, 1, 1), "title": "Algemene voorwaarden Flex (test)"}
        )


def _stock_for(plan, addons, commit) -> list:
    """The warehouse reports the units the plan and add-ons need arriving in stock (PLAN-1)."""
    demand = Counter()
    for item in plan.items.select_related("product"):
        demand[item.product] += item.quantity
    for product in addons:
        demand[product] += 1
    warehouse = Actor.partner(settings.FLEX_PARTNERS["warehouse"].partner_code)
    stock = []
    for product, quantity in demand.items():
        serials = [f"SN-STOCK-{next(_serials):06d}" for _ in range(quantity)]
        stock += device_services.register_stock(
            sku=product.sku,
            serial_numbers=serials,
            condition="new",
            actor=warehouse,
            warehouse=device_services.configured_partner("warehouse"),
        )
    commit()
    return stock


def _apply(subscriber, plan, addons):
    """The wizard's first step: a new applicant signs up, or a subscriber applies logged in."""
    from billing import services

    if subscriber is None:
        n = next(_applicants)
        applicant = services.Applicant(
            kind="person",
            email=f"subscriber{n}@example.nl",
            phone="06-12345678",
            street="Prinsengracht",
            house_number=n,
            house_number_suffix="",
            postcode="1016 GV",
            city="Amsterdam",
            first_name="Jip",
            last_name=f"Visser {n}",  # a name of its own: the bank's pseudonym would make two people one (REG-9)
            date_of_birth=date(1988, 3, 14),
        )
        application = services.start_application(
            applicant, plan=plan, addons=addons, password=PASSWORD, user=None, actor=Actor.system("signup")
        )
        return application, Actor.of_user(application.subscriber.user)
    if subscriber.user is None:
        raise ValueError("a subscriber applies logged in: give them a user")
    if not subscriber.addresses.exists():
        AddressFactory(subscriber=subscriber)  # every subscriber signed up with a physical address
    actor = Actor.of_user(subscriber.user)
    application = services.start_application(
        None, plan=plan, addons=addons, password=None, user=subscriber.user, actor=actor
    )
    return application, actor


def _reviewer() -> Actor:
    user = User.objects.filter(email=REVIEWER_EMAIL).first() or UserFactory(
        email=REVIEWER_EMAIL, role=roles.CUSTOMER_SERVICE
    )
    return Actor.of_user(user)
