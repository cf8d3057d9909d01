"""The admin is a window, not a back door: what each staff group may not do there, it cannot do by a POST.

Every registered admin page is walked for every staff group: its add, change and delete URLs, its
list actions and its state-machine buttons. What a group may not use is refused (403) and leaves the
database as it was. Per model, the fields a form lets anyone change are exactly the free-text fields
that carry no rule; a POST of a rule-carrying field changes nothing.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Model
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import roles
from accounts.models import PartnerKind, Subscriber
from accounts.services import issue_api_key, partner_for_code
from billing import services
from billing.bank_files import documents, iso20022
from billing.models import Invoice, InvoiceStatus, Payment, Subscription, SubscriptionStatus
from devices.models import DeviceUnit, Plan, Product, UnitStatus
from flex import clock, fsm
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from flex.transition_admin import TransitionAdminMixin
from tests.admin.pages import change_form_data
from tests.billing.sepa import monthly_invoice
from tests.factories import AddressFactory, UserFactory, log_in_staff, subscribe
from tests.signup import signup_world, submitted

# Groups and authenticators: the Admin role manages them as Django ships them (a lost authenticator is
# removed there, docs/operations.md); this window does not judge what the Admin role does there.
ACCESS_MANAGEMENT = {
    "auth.group",
    "otp_totp.totpdevice",
    "otp_static.staticdevice",
}
# Log-ins and partner keys: the Admin role adds them; a log-in's free fields and a partner's name are
# edited through the audit trail; keys are revoked by an action, never edited; nothing is deleted.
ACCESS = {("accounts.user", "add"), ("accounts.user", "change"), ("accounts.partner", "change")}
ACCESS |= {("accounts.partnerapikey", "add")}
CATALOGUE_ADDS = {("devices.product", "add"), ("devices.productprice", "add"), ("devices.plan", "add")}
CATALOGUE_TEXT = {("devices.product", "change"), ("devices.plan", "change")}
# PAY-1: a mandate given on paper is added through `record_paper_mandate` (customer service, finance).
PAPER_MANDATE = {("billing.mandate", "add")}
ALLOWED = {
    roles.CUSTOMER_SERVICE: {("accounts.subscriber", "change")} | PAPER_MANDATE,
    roles.WAREHOUSE: set(),
    roles.FINANCE: CATALOGUE_ADDS | CATALOGUE_TEXT | {("billing.termsversion", "add")} | PAPER_MANDATE,
    roles.PRIVACY_OFFICER: set(),
    roles.ADMIN: CATALOGUE_ADDS
    | CATALOGUE_TEXT
    | ACCESS
    | {("billing.termsversion", "add"), ("accounts.subscriber", "change")}
    | PAPER_MANDATE,
}
# PAY-1: finance works the queue of unmatched bank transfers (each action calls a service, audited);
# PAY-1, WD-2: finance refunds credit balances, records returned refunds and executed transfer files.
FINANCE_ACTIONS = {
    ("billing.unmatchedtransfer", "assign"),
    ("billing.unmatchedtransfer", "mark_to_refund"),
    ("billing.payment", "refund_credit_balance_action"),
    ("billing.refund", "record_returned"),
    ("billing.credittransferbatch", "record_executed"),
}
ALLOWED_ACTIONS = {
    roles.CUSTOMER_SERVICE: {("billing.application", "retry_unavailable_checks"), ("axes.accessattempt", "unlock")},
    roles.FINANCE: FINANCE_ACTIONS,
    roles.ADMIN: FINANCE_ACTIONS
    | {
        ("billing.application", "retry_unavailable_checks"),
        ("axes.accessattempt", "unlock"),
        ("accounts.partnerapikey", "revoke"),
        ("accounts.user", "issue_enrolment_code"),
    },
}
# The only fields any form lets a person change on an existing row: free text that carries no rule.
EDITABLE = {
    "accounts.subscriber": {"phone"},
    "devices.product": {"name", "colour"},
    "devices.plan": {"name", "description"},
    "accounts.partner": {"name"},
    "accounts.user": {"full_name", "is_active"},  # a subscriber's log-in; its e-mail and access flags are not
}


@pytest.fixture
def world(transactional_db, settings):
    """Every kind of row the admin shows, made through the services: an accepted application with its
    subscription, prepayment invoice and payment, allocated units and shipment; one more in review."""
    world = signup_world(settings)
    with pytest.raises(Refused):
        services.refuse_child_or_minor(date(2015, 1, 1), stage="personal details")
    accepted = submitted(world, 0, addons=[world.addon])
    services.accept_application(accepted.pk, actor=world.reviewer, reason="all checks passed")
    world.accepted = accepted
    world.in_review = submitted(world, 1)
    world.subscription = Subscription.objects.get(application=accepted)
    # its first monthly invoice collected by SEPA direct debit: a mandate, a batch and its collection
    monthly_invoice(world.subscription, clock.today() + timedelta(days=1))
    assert services.collect_direct_debits(actor=Actor.system("direct_debits")) is not None
    # a log-in lock, made the way django-axes makes it: wrong passwords at the portal's log-in page
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("portal:login"), {"username": "locked@example.nl", "password": "wrong"})
    assert AccessAttempt.objects.exists()
    warehouse = partner_for_code("demo-warehouse", kind=PartnerKind.WAREHOUSE)
    issue_api_key(warehouse.pk, name="warehouse", scopes=["units:read"], expiry_date=None, actor=Actor.system("test"))
    services.run_monthly_billing(actor=Actor.system("test"))  # a billing run to look at (nothing due yet)
    # a bank statement with a transfer nobody's invoice number matches: a file, its line, the queue
    services.import_bank_file(
        documents.statement(
            iso20022.CAMT053,
            message_id="WORLD-STMT-1",
            created_at=clock.now().replace(tzinfo=None),
            account_iban="NL02ABNA0123456789",
            day=clock.today(),
            bookings=[
                documents.Booking(
                    Decimal("12.50"),
                    "CRDT",
                    clock.today(),
                    "TRF-WORLD-1",
                    documents.RECEIVED_TRANSFER,
                    transactions=[documents.BookingTransaction(amount=Decimal("12.50"), name="P. Bakker")],
                )
            ],
        ),
        file_name="statement.xml",
        actor=Actor.system("test"),
    )
    # a card payer's invoice charged to the card (a card charge, the provider's events)
    card_payer = subscribe(delivered_on=clock.today() - timedelta(days=40), payment_method="card")
    monthly_invoice(card_payer, clock.today())
    assert services.charge_due_invoices(actor=Actor.system("card_charges"))["requested"] == 1
    # a credit balance paid back by SEPA credit transfer: a refund and its pain.001 batch
    finance = Actor.system("test")
    services.receive_payment(
        subscriber_id=world.subscription.subscriber_id,
        amount=Decimal("5.00"),
        method="bank_transfer",
        reference="BANK-ADMIN",
        actor=finance,
    )
    assert services.refund_credit_balance(world.subscription.subscriber_id, reason="overpaid", actor=finance)
    assert services.pay_out_credit_transfers(actor=finance) is not None
    return world


def client_for(user):
    return log_in_staff(Client(), user)


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def snapshot(obj: Model):
    return model_to_dict(type(obj)._default_manager.get(pk=obj.pk))


def forged_post(obj: Model) -> dict[str, str]:
    """A change-form POST that alters every field it can name."""
    data = {}
    for field in type(obj)._meta.concrete_fields:
        if field.primary_key:
            continue
        data[field.attname if field.is_relation else field.name] = "1" if field.is_relation else "changed-by-post"
    return data


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_group_is_refused_every_admin_url_it_may_not_use(world, role):
    user = UserFactory(role=role)
    client = client_for(user)
    empty = set()
    for model, model_admin in registered():
        label = model._meta.label_lower
        if role == roles.ADMIN and label in ACCESS_MANAGEMENT:
            continue
        info = model._meta.app_label, model._meta.model_name
        obj = model._default_manager.order_by("pk").first()
        count = model._default_manager.count()
        if (label, "add") not in ALLOWED[role]:
            add = reverse("admin:{}_{}_add".format(*info))
            assert client.get(add).status_code == 403, f"{role} may open {label} add"
            assert client.post(add, forged_post(obj) if obj else {}).status_code == 403, f"{role} adds {label}"
            assert model._default_manager.count() == count, f"{role} added a {label}"
        if obj is None:
            empty.add(label)
            continue
        before = snapshot(obj)
        if (label, "change") not in ALLOWED[role]:
            change = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
            assert client.post(change, forged_post(obj)).status_code == 403, f"{role} may change {label}"
        delete = reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])
        assert client.get(delete).status_code == 403, f"{role} may open {label} delete"
        assert client.post(delete, {"post": "yes"}).status_code == 403, f"{role} may delete {label}"
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        client.post(changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"})
        assert model._default_manager.filter(pk=obj.pk).exists(), f"{role} deleted a {label}"
        assert snapshot(obj) == before, f"{role} changed a {label}"

        request = RequestFactory().get(changelist)
        request.user = user
        actions = set(model_admin.get_actions(request)) if model_admin.has_view_permission(request) else set()
        assert {(label, name) for name in actions} <= ALLOWED_ACTIONS.get(role, set()), f"{role}: {label} {actions}"
    # every kind of row but these exists in the world, so the object URLs were tried on each
    assert empty <= {"accounts.idempotentrequest", "pghistory.events"} | ACCESS_MANAGEMENT, empty


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_group_is_refused_every_state_button_it_has_no_permission_for(world, role):
    user = UserFactory(role=role)
    client = client_for(user)
    for model, model_admin in registered():
        if not isinstance(model_admin, TransitionAdminMixin):
            continue
        for obj in model._default_manager.all():
            for name in model_admin.transition_services:
                if fsm.may_perform(obj, name, user):
                    continue
                url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_transition", args=[obj.pk, name])
                before = snapshot(obj)
                assert client.post(url, {"reason": "forged", "ground": "fraud"}).status_code == 403, (role, name)
                assert snapshot(obj) == before


def test_admin_role_and_superusers_cannot_delete_books_or_edit_the_invoice_counter(world):
    from sequences.models import Sequence

    for user in (UserFactory(role=roles.ADMIN), UserFactory(is_staff=True, is_superuser=True)):
        client = client_for(user)
        for model in (Subscriber, Subscription, Invoice, Payment):
            obj = model.objects.order_by("pk").first()
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_delete", args=[obj.pk])
            assert client.post(url, {"post": "yes"}).status_code == 403
            assert model.objects.filter(pk=obj.pk).exists()
        counter = Sequence.objects.get(name__startswith="invoice-")
        url = reverse("admin:sequences_sequence_change", args=[counter.pk])
        assert client.post(url, {"name": counter.name, "last": 1}).status_code == 403
        assert Sequence.objects.get(pk=counter.pk).last == counter.last


def test_forms_let_staff_change_only_the_free_text_fields_that_carry_no_rule(world):
    """STYLE.md: per model, `ModelAdmin.get_form()` minus the read-only fields is the editable set."""
    superuser = UserFactory(is_staff=True, is_superuser=True)
    for model, model_admin in registered():
        label = model._meta.label_lower
        if label in ACCESS_MANAGEMENT:
            continue
        obj = model._default_manager.order_by("pk").first()
        if label == "accounts.user":
            obj = Subscriber.objects.exclude(user=None).order_by("pk").first().user  # a subscriber's log-in
        if obj is None:
            continue
        request = RequestFactory().get("/")
        request.user = superuser
        if model_admin.has_change_permission(request, obj):
            readonly = set(model_admin.get_readonly_fields(request, obj))
            form = model_admin.get_form(request, obj, change=True)
            editable = {name for name, field in form.base_fields.items() if not field.disabled} - readonly
        else:
            editable = set()
        assert editable == EDITABLE.get(label, set()), label
        for inline in model_admin.get_inline_instances(request, obj):
            assert not inline.has_add_permission(request, obj), f"{label}: {type(inline).__name__} adds rows"
            assert not inline.has_change_permission(request, obj), f"{label}: {type(inline).__name__} edits rows"
            assert not inline.has_delete_permission(request, obj), f"{label}: {type(inline).__name__} deletes rows"


@pytest.mark.django_db
def test_a_subscriber_change_post_changes_the_phone_only_and_is_audited():
    subscriber = AddressFactory().subscriber
    subscribe(subscriber=subscriber, delivered_on=date(2026, 1, 10))
    other = AddressFactory().subscriber
    user = UserFactory(role=roles.CUSTOMER_SERVICE)
    client = client_for(user)
    url = reverse("admin:accounts_subscriber_change", args=[subscriber.pk])
    data = change_form_data(client.get(url).content.decode())
    assert set(data) >= {"phone"} and "last_name" not in data
    before = snapshot(subscriber)
    data.update(
        phone="020-1234567",
        last_name="Someone Else",
        email="attacker@example.nl",
        date_of_birth="2015-01-01",
        verified_identity="someone-elses-identity",
        user=str(other.user_id),
    )
    assert client.post(url, data).status_code == 302
    after = snapshot(subscriber)
    assert after == {**before, "phone": "020-1234567"}
    event = AuditEvent.objects.get(action="admin_change", target_id=str(subscriber.pk))
    assert (event.actor, event.actor_user, event.data) == (user.email, user, {"fields": ["phone"]})


@pytest.mark.django_db
def test_a_subscription_post_cannot_change_plan_payment_method_or_subscriber_plan_3_plan_5_reg_9():
    """A plan change (PLAN-3, PLAN-5) and the subscriber (REG-9) go through services, never a Save."""
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    other_plan = subscribe(subscriber=AddressFactory().subscriber).plan
    other_subscriber = AddressFactory().subscriber
    before = snapshot(subscription)
    for role in (roles.CUSTOMER_SERVICE, roles.FINANCE, roles.ADMIN):
        client = client_for(UserFactory(role=role))
        url = reverse("admin:billing_subscription_change", args=[subscription.pk])
        page = client.get(url).content.decode()
        assert 'name="_save"' not in page  # a window: no Save button
        response = client.post(
            url, {"plan": other_plan.pk, "payment_method": "card", "subscriber": other_subscriber.pk, "_save": "Save"}
        )
        assert response.status_code == 403
    assert snapshot(subscription) == before
    assert not AuditEvent.objects.filter(target_id=str(subscription.pk), action__startswith="admin_").exists()


@pytest.mark.django_db
def test_warehouse_cannot_change_serial_or_product_of_a_unit_with_a_subscriber():
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    unit = subscription.units.get().unit if subscription.units.count() == 1 else subscription.units.first().unit
    assert unit.status == UnitStatus.WITH_SUBSCRIBER
    other_product = Product.objects.exclude(pk=unit.product_id).first() or Plan.objects.first()
    before = snapshot(unit)
    client = client_for(UserFactory(role=roles.WAREHOUSE))
    url = reverse("admin:devices_deviceunit_change", args=[unit.pk])
    assert 'name="serial_number"' not in client.get(url).content.decode()
    response = client.post(url, {"serial_number": "SWAPPED-1", "product": other_product.pk, "condition": "refurbished"})
    assert response.status_code == 403
    assert snapshot(unit) == before


@pytest.mark.django_db
def test_finance_cannot_add_payments_to_an_invoice_by_hand():
    subscription = subscribe()
    invoice = subscription.invoices.get()  # the prepayment, paid once at the provider's checkout
    payments = list(Payment.objects.filter(invoice=invoice).values_list("pk", "amount"))
    client = client_for(UserFactory(role=roles.FINANCE))
    url = reverse("admin:billing_payment_add")
    for n in range(3):
        data = {"invoice": invoice.pk, "amount": "41.33", "method": "ideal", "provider_reference": f"BANK-{n}"}
        assert client.post(url, {**data, "status": "received", "received_at_0": "2026-01-01"}).status_code == 403
    assert list(Payment.objects.filter(invoice=invoice).values_list("pk", "amount")) == payments
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


@pytest.mark.django_db
def test_a_plan_post_cannot_change_its_fee_or_products_only_its_name():
    plan = subscribe().plan
    client = client_for(UserFactory(role=roles.FINANCE))
    url = reverse("admin:devices_plan_change", args=[plan.pk])
    data = change_form_data(client.get(url).content.decode())
    assert "monthly_fee" not in data and "items-0-quantity" not in data
    data.update(name="Stereo Plus", monthly_fee="1.00", code="other", version="9", is_available="")
    data.update({"items-0-quantity": "7", "items-TOTAL_FORMS": data.get("items-TOTAL_FORMS", "0")})
    before = snapshot(plan)
    assert client.post(url, data).status_code == 302
    assert snapshot(plan) == {**before, "name": "Stereo Plus"}
    assert [item.quantity for item in plan.items.all()] == [1] * plan.items.count()
    assert Subscription.objects.filter(plan=plan, status=SubscriptionStatus.PENDING_DELIVERY).exists()
    assert AuditEvent.objects.get(action="admin_change", target_id=str(plan.pk)).data == {"fields": ["name"]}


@pytest.mark.django_db
def test_units_are_not_typed_in_by_hand_stock_arrives_through_the_warehouse_api():
    client = client_for(UserFactory(role=roles.ADMIN))
    assert client.get(reverse("admin:devices_deviceunit_add")).status_code == 403
    assert not DeviceUnit.objects.exists()


@pytest.mark.django_db
def test_a_refused_admin_url_says_so_in_the_staff_members_language_with_a_way_back():
    client = client_for(UserFactory(role=roles.WAREHOUSE))
    response = client.get(reverse("admin:billing_invoice_changelist"))
    assert response.status_code == 403
    assert "Je rol staat dit niet toe. Er is niets veranderd." in response.text
    assert reverse("admin:index") in response.text
