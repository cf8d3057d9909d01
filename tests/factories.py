from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import Address, Partner, PartnerApiKey, Subscriber, User
from devices.models import DeviceUnit, Plan, PlanItem, Product, ProductPrice


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.nl")
    full_name = factory.Faker("name", locale="nl_NL")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

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
                addon_monthly_fee=Decimal("9.00") if product.is_addon_eligible else None,
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


def subscribe(subscriber=None, plan=None, *, addons=(), paid=False, delivered_on=None, units=None):
    """A subscription made through the real services, taken as far as asked."""
    from billing import services
    from billing.models import SubscriptionUnit
    from flex import clock
    from flex.audit.trail import Actor

    subscriber = subscriber or SubscriberFactory()
    plan = plan or PlanFactory()
    system = Actor.system("test")
    subscription = services.create_subscription(
        subscriber, plan, payment_method="sepa_direct_debit", addons=list(addons), actor=system
    )
    if paid or delivered_on:
        invoice = subscription.invoices.get()
        services.record_payment(
            invoice.pk,
            amount=invoice.gross_total,
            method="sepa_direct_debit",
            provider_reference=f"PAY-{invoice.number}",
            actor=Actor.partner("payments"),
        )
    if delivered_on:
        for unit in (
            units if units is not None else [DeviceUnitFactory(product=item.product) for item in plan.items.all()]
        ):
            unit.reserve()
            unit.ship()
            unit.deliver()
            unit.save()
            SubscriptionUnit.objects.create(subscription=subscription, unit=unit, allocated_at=clock.now())
        subscription = services.activate_subscription(
            subscription.pk, delivered_on=delivered_on, actor=Actor.partner("carrier")
        )
    subscription.refresh_from_db()
    return subscription
