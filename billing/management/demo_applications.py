"""An applicant's way through the sign-up, as the wizard and the sandbox partners take it, up to a
chosen state. Used by `seed_demo` (applications in every state) and the benchmark; it calls the same
services the portal, the admin and the partner API call, nothing else."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.test.utils import override_settings

from accounts.adapters.identity import SandboxIdentityProvider
from accounts.models import Address, User
from billing import services
from billing.adapters.payments import SandboxPaymentProvider, payment_provider
from billing.models import Application
from flex.audit.trail import Actor
from flex.celery import held_tasks


def walk_to(
    state: str,
    *,
    email: str,
    first_name: str,
    last_name: str,
    plan,
    addons: list,
    payment_method: str,
    password: str | None,
    date_of_birth: date = date(1990, 5, 17),
    house_number: int = 1,
    phone: str = "06-12345678",
    street: str = "Herengracht",
    postcode: str = "1016 BR",
    city: str = "Amsterdam",
    kind: str = "person",
    organisation_name: str = "",
    kvk_number: str = "",
) -> Application:
    """Take a new applicant to `state`: one of the application states, or "delivered" (the sandbox
    warehouse and carrier ship and deliver through the partner services, so the subscription is active)."""
    actor = Actor.system("seed_demo")
    applicant = services.Applicant(
        kind=kind,
        email=email,
        phone=phone,
        street=street,
        house_number=house_number,
        house_number_suffix="",
        postcode=postcode,
        city=city,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth if kind == "person" else None,
        organisation_name=organisation_name,
        kvk_number=kvk_number,
    )
    application = services.start_application(
        applicant, plan=plan, addons=addons, password=password, user=None, actor=actor
    )
    if state == "draft":
        return application
    services.choose_payment(
        application.pk,
        method=payment_method,
        iban="NL91ABNA0417164300",
        account_holder=organisation_name or f"{first_name} {last_name}",
        accepts_terms=True,
        ip_address="127.0.0.1",
        actor=actor,
    )
    # For an organisation, its representative identifies at the bank.
    verify_identity(application, name=f"{first_name} {last_name}".strip() or "J. de Hoek", date_of_birth=date_of_birth)
    pay_prepayment(application, method="card" if payment_method == "card" else "ideal")
    autopilot = state == "delivered"
    with override_settings(FLEX_SANDBOX_AUTOPILOT=autopilot, FLEX={**settings.FLEX, "AUTO_ACCEPT": False}):
        if state in ("submitted", "checking"):
            with held_tasks():
                services.submit_application(application.pk, actor=actor)
            if state == "checking":
                services.start_checks(application.pk, actor=actor)
            return Application.objects.get(pk=application.pk)
        services.submit_application(application.pk, actor=actor)
        application.refresh_from_db()
        if state in ("awaiting_review", "refused") or application.status != "awaiting_review":
            return application
        if state == "withdrawn":
            return services.withdraw_application(application.pk, actor=actor, reason="demo: changed my mind")
        reviewer = Actor.of_user(User.objects.get(email="service@flex.example"))
        if state == "accepted":
            with held_tasks():
                return services.accept_application(application.pk, actor=reviewer, reason="demo")
        services.accept_application(application.pk, actor=reviewer, reason="demo: all checks passed")
    return Application.objects.get(pk=application.pk)


def verify_identity(application: Application, *, name: str, date_of_birth: date) -> Application | None:
    """The applicant confirms at the sandbox bank and comes back."""
    address = Address.objects.filter(subscriber=application.subscriber).first()
    url = services.start_identity_check(application.pk, return_url="/return", actor=Actor.system("seed_demo"))
    session = url.split("session=", 1)[1]
    from urllib.parse import parse_qs, unquote, urlsplit

    back = SandboxIdentityProvider.complete(
        unquote(session),
        confirmed=True,
        name=name,
        date_of_birth=date_of_birth,
        postcode=address.postcode,
        house_number=address.house_number,
    )
    trxid = parse_qs(urlsplit(back).query)["trxid"][0]
    return services.complete_identity_check(application.pk, transaction_id=trxid, actor=Actor.system("seed_demo"))


def pay_prepayment(application: Application, *, method: str) -> None:
    """The applicant pays at the sandbox checkout; its webhook records the payment."""
    services.start_prepayment(application.pk, return_url="/return", actor=Actor.system("seed_demo"))
    application.refresh_from_db()
    provider = payment_provider()
    assert isinstance(provider, SandboxPaymentProvider), "the demo pays through the sandbox provider"
    provider.pay(application.prepayment_reference, method=method)
    services.refresh_prepayment(application.pk, actor=Actor.system("seed_demo"))
