"""Demo data: the real product line, plans, stock, one staff user per role, partners with API keys,
and subscribers in several states. Idempotent: running it again changes nothing."""

from __future__ import annotations

import logging
from base64 import b32decode
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_api_key.crypto import concatenate

from accounts import roles
from accounts.login_security import needs_second_factor
from accounts.models import PartnerApiKey, User
from accounts.services import partner_for_code
from billing import services
from billing.models import Subscription, TermsVersion
from devices.models import DeviceUnit, Plan, PlanItem, Product, ProductPrice
from flex import clock
from flex.audit.trail import Actor
from flex.celery import app

DEMO_PASSWORD = "flex-demo-2026"
# The demo admin's second factor (the admin role needs one even in sandbox mode): a TOTP key published
# in the README, for any authenticator app, or `manage.py demo_code` prints the code of the moment.
DEMO_TOTP_KEY = "FLEXDEMOFLEXDEMOFLEXDEMOFLEXDEMO"  # base32, 20 bytes; sandbox mode only
PRICES_FROM = date(2025, 1, 1)

# (sku, name, kind, colour, add-on, webshop price = recommended retail price, add-on fee per month)
# Prices are Sonos's Dutch list prices as demo figures; operations keep the real ones as dated rows.
PRODUCTS = [
    ("ARC-ULTRA", "Arc Ultra", "soundbar", "", False, "999.00", None),
    ("BEAM-2", "Beam (Gen 2)", "soundbar", "", False, "499.00", None),
    ("RAY", "Ray", "soundbar", "", False, "279.00", None),
    ("SUB-4", "Sub (Gen 4)", "subwoofer", "", False, "899.00", None),
    ("SUB-MINI", "Sub Mini", "subwoofer", "", True, "499.00", "19.00"),
    ("ERA-100", "Era 100", "speaker", "", True, "249.00", "9.00"),
    ("ERA-300", "Era 300", "speaker", "", True, "499.00", "18.00"),
    ("FIVE", "Five", "speaker", "", False, "599.00", None),
    ("ONE", "One", "speaker", "", True, "229.00", "8.00"),
    ("ROAM-2-BLACK", "Roam 2", "portable", "black", True, "199.00", "7.00"),
    ("ROAM-2-WHITE", "Roam 2", "portable", "white", True, "199.00", "7.00"),
    ("ROAM-2-OLIVE", "Roam 2", "portable", "olive", True, "199.00", "7.00"),
]

PLANS = [
    ("stereo", "Stereo", "Two Era 100 speakers as a stereo pair.", "19.00", [("ERA-100", 2)]),
    ("cinema", "Cinema", "Beam soundbar with a Sub Mini.", "45.00", [("BEAM-2", 1), ("SUB-MINI", 1)]),
    (
        "cinema-plus",
        "Cinema Plus",
        "Arc Ultra, Sub and two Era 100 as surrounds.",
        "99.00",
        [("ARC-ULTRA", 1), ("SUB-4", 1), ("ERA-100", 2)],
    ),
    ("compact", "Compact", "Ray soundbar for a smaller room.", "15.00", [("RAY", 1)]),
]

STAFF = [
    ("service@flex.example", "Sanne Service", roles.CUSTOMER_SERVICE),
    ("warehouse@flex.example", "Willem Warehouse", roles.WAREHOUSE),
    ("finance@flex.example", "Fleur Finance", roles.FINANCE),
    ("privacy@flex.example", "Pieter Privacy", roles.PRIVACY_OFFICER),
    ("admin@flex.example", "Ada Admin", roles.ADMIN),
]

# Fixed demo keys so that the README can show a working curl; production keys are generated.
PARTNERS = [
    (
        "warehouse",
        "Warehouse (sandbox)",
        "warehouse",
        "demowhse.warehouse-demo-key-not-for-production",
        ["catalogue:read", "units:read", "units:write", "shipments:read", "shipments:write"],
    ),
    (
        "carrier",
        "Carrier (sandbox)",
        "carrier",
        "democarr.carrier-demo-key-not-for-production",
        ["units:read", "shipments:read", "tracking:write"],
    ),
    (
        "payments",
        "Payment provider (sandbox)",
        "payments",
        "demopaym.payments-demo-key-not-for-production",
        ["catalogue:read"],
    ),
]


# Partners Flex calls but that do not call the API: no key, but a row for the disclosure log (PRIV-1).
CALLED_PARTNERS = [
    ("idin", "iDIN identity provider (sandbox)", "identity"),
    ("creditbureau", "Credit bureau (sandbox)", "credit_bureau"),
    ("radiohd", "Radio HD (sandbox)", "radio"),
]
# One product is sold out, so that an application shows the "awaiting stock" state.
SOLD_OUT_SKU = "ROAM-2-WHITE"

# Applicants walked through the sign-up services to each state of the application (issue 3).
# (e-mail, first name, last name, plan, add-on SKUs, payment method, target state)
APPLICANTS = [
    ("gijs@example.nl", "Gijs", "Mulder", "compact", [], "card", "draft"),
    ("hanna@example.nl", "Hanna", "de Boer", "stereo", ["ONE"], "sepa_direct_debit", "submitted"),
    ("ivo@example.nl", "Ivo", "Dekker", "compact", [], "sepa_direct_debit", "checking"),
    ("joke@example.nl", "Joke", "Meijer", "cinema", ["ERA-100"], "sepa_direct_debit", "awaiting_review"),
    ("kees@example.nl", "Kees", "Wanbetaler", "stereo", [], "sepa_direct_debit", "refused"),
    ("lotte@example.nl", "Lotte", "Bos", "compact", [], "card", "withdrawn"),
    ("milan@example.nl", "Milan", "Vos", "stereo", [], "sepa_direct_debit", "accepted"),
    ("noor@example.nl", "Noor", "Peters", "compact", [SOLD_OUT_SKU], "sepa_direct_debit", "awaiting_stock"),
    ("olaf@example.nl", "Olaf", "Hendriks", "stereo", ["ROAM-2-BLACK"], "card", "allocated"),
    ("puck@example.nl", "Puck", "van Dijk", "cinema", [], "sepa_direct_debit", "delivered"),
]


def demo_totp_hex_key() -> str:
    return b32decode(DEMO_TOTP_KEY).hex()


class Command(BaseCommand):
    help = "Load Flex demo data (idempotent)."

    def handle(self, *args, **options):
        if not settings.FLEX_SANDBOX:
            # Demo log-ins with a published password and fixed partner keys have no place in production.
            raise CommandError(
                "seed_demo runs only in sandbox mode: the embedded default (`make run`) or FLEX_SANDBOX=1."
            )
        # Jobs run in-process while seeding, whatever broker is configured, so that the demo reaches the
        # states the README lists even with a worker running; held jobs (see walk_to) are not sent at all.
        # Their one-line-per-task log is for workers, not for this command's output.
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        try:
            self.seed()
        finally:
            app.conf.task_always_eager = eager
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Every demo login uses password {DEMO_PASSWORD!r}; the admin role's second "
                f"factor is the TOTP key {DEMO_TOTP_KEY} (`manage.py demo_code` prints the code of the moment)."
            )
        )

    def seed(self):
        with transaction.atomic():
            roles.ensure_staff_groups()
            self.catalogue()
            self.stock()
            self.staff()
            self.partners()
            self.terms()
        # Subscribers and applications commit step by step through the services, as the wizard does.
        self.subscribers()
        self.applications()
        self.direct_debits()

    def direct_debits(self):
        """SEPA batches as the daily job leaves them: one with first and recurring collections (PAY-1)."""
        from billing.management.demo_direct_debit import seed_direct_debits

        anna = Subscription.objects.get(subscriber__email="anna@example.nl", status="active")
        cafe = Subscription.objects.get(subscriber__email="info@cafedehoek.nl", status="active")
        seed_direct_debits(recurring=anna, first=cafe)

    def catalogue(self):
        for sku, name, kind, colour, addon, price, fee in PRODUCTS:
            product, _ = Product.objects.update_or_create(
                sku=sku, defaults={"name": name, "kind": kind, "colour": colour, "is_addon_eligible": addon}
            )
            ProductPrice.objects.get_or_create(
                product=product,
                valid_from=PRICES_FROM,
                defaults={
                    "webshop_price": Decimal(price),
                    "recommended_retail_price": Decimal(price),
                    "addon_monthly_fee": Decimal(fee) if fee else None,
                },
            )
        for code, name, description, fee, items in PLANS:
            plan, _ = Plan.objects.get_or_create(
                code=code, version=1, defaults={"name": name, "description": description, "monthly_fee": Decimal(fee)}
            )
            for sku, quantity in items:
                PlanItem.objects.get_or_create(
                    plan=plan, product=Product.objects.get(sku=sku), defaults={"quantity": quantity}
                )

    def stock(self):
        from devices.services import configured_partner

        warehouse = configured_partner("warehouse")  # units belong to the warehouse that holds them
        for product in Product.objects.exclude(sku=SOLD_OUT_SKU):
            for n in range(1, 9):
                DeviceUnit.objects.get_or_create(
                    serial_number=f"SN-{product.sku}-{n:04d}",
                    defaults={
                        "product": product,
                        "condition": "refurbished" if n > 6 else "new",
                        "warehouse": warehouse,
                    },
                )

    def staff(self):
        for email, name, role in STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, DEMO_PASSWORD, full_name=name, is_staff=True, is_superuser=role == roles.ADMIN
                )
            user.groups.add(Group.objects.get(name=role))
            if needs_second_factor(user) and not TOTPDevice.objects.filter(user=user).exists():
                TOTPDevice.objects.create(user=user, name="Demo authenticator", key=demo_totp_hex_key())

    def partners(self):
        for code, name, kind, key, scopes in PARTNERS:
            partner = partner_for_code(code, kind=kind, name=name)
            prefix = key.partition(".")[0]
            if not PartnerApiKey.objects.filter(prefix=prefix).exists():
                hashed = PartnerApiKey.objects.key_generator.hash(key)
                PartnerApiKey.objects.create(
                    id=concatenate(prefix, hashed),
                    prefix=prefix,
                    hashed_key=hashed,
                    name=f"{name} demo key",
                    partner=partner,
                    scopes=scopes,
                )
        for code, name, kind in CALLED_PARTNERS:
            partner_for_code(code, kind=kind, name=name)

    def terms(self):
        TermsVersion.objects.get_or_create(
            version="2.0",
            defaults={
                "in_force_from": date(2025, 1, 1),
                "title": "Algemene voorwaarden Flex 2.0",
                "url": "https://www.sonos.com/nl-nl/legal/flex-terms",
            },
        )

    def applications(self):
        from billing.management.demo_applications import walk_to

        for email, first, last, plan_code, skus, method, state in APPLICANTS:
            if User.objects.filter(email=email).exists():
                continue
            addons = [Product.objects.get(sku=sku) for sku in skus]
            walk_to(
                state,
                email=email,
                first_name=first,
                last_name=last,
                plan=Plan.objects.get(code=plan_code),
                addons=addons,
                payment_method=method,
                password=DEMO_PASSWORD,
            )

    def subscribers(self):
        """Subscribers whose subscriptions lived a while: each signed up through the wizard's services on
        its day, was accepted, allocated, shipped and delivered by the sandbox partners, then lived its
        story (notice, termination, withdrawal) through the same services staff and subscribers use."""
        from billing.management.demo_applications import walk_to

        today = clock.today()
        actor = Actor.system("seed_demo")
        people = [
            # (e-mail, first, last, plan, story)
            ("anna@example.nl", "Anna", "de Vries", "cinema", "active"),
            ("bram@example.nl", "Bram", "Jansen", "stereo", "pending"),
            ("daan@example.nl", "Daan", "Bakker", "compact", "notice"),
            ("eva@example.nl", "Eva", "Visser", "stereo", "terminated"),
            ("femke@example.nl", "Femke", "Smit", "compact", "withdrawn"),
        ]
        for n, (email, first, last, plan_code, story) in enumerate(people):
            if User.objects.filter(email=email).exists():
                continue
            months_ago = {"pending": 0, "withdrawn": 0}.get(story, 5)
            signed_up = today - timedelta(days=30 * months_ago + 7)
            with clock.travel_to(signed_up):
                application = walk_to(
                    "allocated" if story == "pending" else "delivered",
                    email=email,
                    first_name=first,
                    last_name=last,
                    plan=Plan.objects.get(code=plan_code),
                    addons=list(Product.objects.filter(sku="ROAM-2-OLIVE")) if story == "active" else [],
                    payment_method="sepa_direct_debit",
                    password=DEMO_PASSWORD,
                    date_of_birth=date(1980 + n, 3, 14),
                    phone=f"06-1234567{n}",
                    street="Keizersgracht",
                    house_number=100 + n,
                    postcode="1015 CX",
                )
            self.live_through(application.subscription, story, signed_up, today, actor)
        organisation_email = "info@cafedehoek.nl"
        if not User.objects.filter(email=organisation_email).exists():
            with clock.travel_to(today - timedelta(days=157)):
                walk_to(
                    "delivered",
                    kind="organisation",
                    email=organisation_email,
                    first_name="",
                    last_name="",
                    organisation_name="Café De Hoek B.V.",
                    kvk_number="12345678",
                    plan=Plan.objects.get(code="cinema-plus"),
                    addons=[],
                    payment_method="sepa_direct_debit",
                    password=DEMO_PASSWORD,
                    phone="020-1234567",
                    street="Prinsengracht",
                    house_number=2,
                    postcode="1015 DV",
                )

    def live_through(self, subscription: Subscription, story: str, signed_up: date, today: date, actor) -> None:
        """What happened after delivery, through the services a subscriber or staff member would use."""
        if story == "withdrawn":
            with clock.travel_to(signed_up + timedelta(days=2)):
                services.withdraw(subscription.pk, actor=actor, reason="changed my mind")
        if story == "notice":
            with clock.travel_to(today - timedelta(days=5)):
                services.give_notice(subscription.pk, actor=actor, reason="moving abroad")
        if story == "terminated":
            services.terminate_immediately(
                subscription.pk, ground="non_payment", actor=actor, reason="demo: unpaid invoices"
            )
