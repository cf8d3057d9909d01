from datetime import date

from accounts import roles
from billing import services
from billing.management.demo_applications import pay_prepayment, verify_identity
from billing.models import TermsVersion
from flex.audit.trail import Actor
from tests.factories import DeviceUnitFactory, PlanFactory, ProductFactory, UserFactory

APPLICANT = Actor.system("wizard")


def signup_world(settings):
    """A catalogue with one plan (2 speakers), an add-on, stock, terms in force and a reviewer."""
    settings.FLEX_SANDBOX_AUTOPILOT = False
    settings.FLEX = {**settings.FLEX, "AUTO_ACCEPT": False}
    TermsVersion.objects.create(version="2.0", in_force_from=date(2025, 1, 1), title="Algemene voorwaarden Flex 2.0")
    speaker = ProductFactory(name="Era 100", sku="ERA-100")
    addon = ProductFactory(name="Roam 2", sku="ROAM-2", is_addon_eligible=True)
    plan = PlanFactory(name="Stereo", monthly_fee="19.00", items=[(speaker, 2)])
    units = [DeviceUnitFactory(product=speaker) for _ in range(3)] + [DeviceUnitFactory(product=addon)]
    reviewer = UserFactory(role=roles.CUSTOMER_SERVICE)

    class World:
        pass

    world = World()
    world.plan, world.speaker, world.addon, world.units = plan, speaker, addon, units
    world.reviewer = Actor.of_user(reviewer)
    world.reviewer_user = reviewer
    return world


def applicant(n: int = 0, **overrides) -> services.Applicant:
    data = {
        "kind": "person",
        "email": f"applicant{n}@example.nl",
        "phone": "06-12345678",
        "street": "Herengracht",
        "house_number": 10 + n,
        "house_number_suffix": "",
        "postcode": "1016 BR",
        "city": "Amsterdam",
        "first_name": "Sam",
        "last_name": f"Jansen{n}",
        "date_of_birth": date(1990, 5, 17),
    }
    data.update(overrides)
    return services.Applicant(**data)


def draft(world, n: int = 0, *, addons=(), **overrides):
    return services.start_application(
        applicant(n, **overrides),
        plan=world.plan,
        addons=list(addons),
        password="Een-goed-wachtwoord-1",
        user=None,
        actor=APPLICANT,
    )


def ready_to_submit(world, n: int = 0, *, method: str = "sepa_direct_debit", iban="NL91ABNA0417164300", **overrides):
    """A draft with terms, payment method, verified identity and paid prepayment, as the wizard leaves it."""
    account_holder = overrides.pop("account_holder", "S. Jansen")
    application = draft(world, n, **overrides)
    services.choose_payment(
        application.pk,
        method=method,
        iban=iban,
        account_holder=account_holder,
        accepts_terms=True,
        ip_address="192.0.2.7",
        actor=APPLICANT,
    )
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    pay_prepayment(application, method="card" if method == "card" else "ideal")
    application.refresh_from_db()
    return application


def submitted(world, n: int = 0, **overrides):
    application = ready_to_submit(world, n, **overrides)
    services.submit_application(application.pk, actor=APPLICANT)
    application.refresh_from_db()
    return application
