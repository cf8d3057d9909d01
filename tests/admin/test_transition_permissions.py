"""Every transition of every state machine names the permission a staff member needs to trigger it, and
the services check it themselves (django-fsm-2 does not check `permission=` on call). A transition the
state no longer allows is refused with its rule and article on the change page, never a bare 403."""

from datetime import date

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing import services
from billing.models import Subscription, SubscriptionStatus
from devices import services as device_services
from devices.models import DeviceUnit, UnitStatus
from flex import fsm
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from tests.factories import DeviceUnitFactory, UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db


def every_transition():
    for model in apps.get_models():
        for transition in fsm.transitions_of(model):
            yield model, transition


def staff_client(user):
    return log_in_staff(Client(), user)


def test_every_transition_of_every_state_machine_names_an_existing_permission():
    known = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    walked = list(every_transition())
    assert {model._meta.label for model, _ in walked} >= {
        "devices.DeviceUnit",
        "devices.Shipment",
        "billing.Application",
        "billing.Subscription",
    }
    for model, transition in walked:
        where = f"{model._meta.label}.{transition.name} from {transition.source}"
        assert isinstance(transition.permission, str) and transition.permission, f"{where} names no permission"
        assert transition.permission in known, f"{where}: {transition.permission} does not exist"
        assert fsm.permission_of(model, transition.name) == transition.permission


def test_a_staff_member_needs_the_named_permission_for_every_transition():
    nobody = UserFactory(is_staff=True)
    for model, transition in every_transition():
        instance = model()
        assert not fsm.may_perform(instance, transition.name, nobody), f"{model._meta.label}.{transition.name}"
        app_label, codename = transition.permission.split(".")
        holder = UserFactory(is_staff=True)
        holder.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        holder = type(holder).objects.get(pk=holder.pk)  # fresh permission cache
        assert fsm.may_perform(instance, transition.name, holder), f"{model._meta.label}.{transition.name}"


def subscription_past_its_end_date(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    with travel("2026-05-01"):
        services.give_notice(subscription.pk, actor=Actor.system("test"))
    return Subscription.objects.get(pk=subscription.pk)


def test_the_privacy_officer_cannot_move_a_subscription_to_awaiting_return(travel):
    subscription = subscription_past_its_end_date(travel)
    officer = UserFactory(role=roles.PRIVACY_OFFICER)
    url = reverse("admin:billing_subscription_transition", args=[subscription.pk, "request_return"])
    with travel("2026-07-01"):
        page = staff_client(officer).get(reverse("admin:billing_subscription_change", args=[subscription.pk]))
        assert 'value="request_return"' not in page.content.decode()
        assert staff_client(officer).post(url, {"reason": "tidying up"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.request_return(subscription.pk, actor=Actor.of_user(officer))
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.NOTICE_GIVEN
    assert not AuditEvent.objects.filter(action="request_return").exists()


def test_customer_service_requests_the_return_with_the_button(travel):
    subscription = subscription_past_its_end_date(travel)
    client = staff_client(UserFactory(role=roles.CUSTOMER_SERVICE))
    url = reverse("admin:billing_subscription_transition", args=[subscription.pk, "request_return"])
    with travel("2026-07-01"):
        assert client.post(url, {"reason": "end date passed"}).status_code == 302
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.AWAITING_RETURN
    assert AuditEvent.objects.get(action="request_return").rule == "TERM-3"


def test_a_stale_tab_shows_the_change_page_with_the_rule_not_a_403(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 10))
    client = staff_client(UserFactory(role=roles.CUSTOMER_SERVICE))
    change = reverse("admin:billing_subscription_change", args=[subscription.pk])
    url = reverse("admin:billing_subscription_transition", args=[subscription.pk, "give_notice"])
    with travel("2026-05-01"):
        assert 'value="give_notice"' in client.get(change).content.decode()  # the tab is drawn
        services.give_notice(subscription.pk, actor=Actor.system("portal"))  # the state moves on meanwhile
        response = client.post(url, {"reason": "customer called"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == change
    text = response.content.decode()
    assert "is niet mogelijk: abonnement is nu opgezegd." in text  # the state it moved to, in Dutch
    assert "(TERM-2, voorwaarden art. 7.1)" in text
    assert AuditEvent.objects.filter(action="give_notice").count() == 1


def test_a_stale_unit_button_is_refused_by_its_rule_in_the_service():
    unit = DeviceUnitFactory()
    warehouse = UserFactory(role=roles.WAREHOUSE)
    response = staff_client(warehouse).post(
        reverse("admin:devices_deviceunit_transition", args=[unit.pk, "write_off"]), follow=True
    )
    assert response.status_code == 200
    assert "(INC-2, voorwaarden art. 6.4)" in response.content.decode()
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.IN_STOCK


def test_services_check_the_staff_permission_themselves():
    unit = DeviceUnitFactory()
    for step in ("reserve", "ship", "deliver"):
        getattr(unit, step)()
    unit.save()
    service_desk = Actor.of_user(UserFactory(role=roles.PRIVACY_OFFICER))
    with pytest.raises(PermissionDenied):
        device_services.report_unit_lost(unit.pk, actor=service_desk)
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.WITH_SUBSCRIBER
    device_services.report_unit_lost(unit.pk, actor=Actor.of_user(UserFactory(role=roles.CUSTOMER_SERVICE)))
    assert DeviceUnit.objects.get(pk=unit.pk).status == UnitStatus.LOST


def inspecting_unit(client):
    unit = DeviceUnitFactory()
    for step in ("reserve", "ship", "deliver", "start_return"):
        getattr(unit, step)()
    unit.save()
    for name in ("receive", "start_inspection"):
        client.post(reverse("admin:devices_deviceunit_transition", args=[unit.pk, name]))
    return DeviceUnit.objects.get(pk=unit.pk)


def test_the_inspection_is_recorded_with_a_button_and_then_the_unit_can_be_restocked():
    warehouse = UserFactory(role=roles.WAREHOUSE)
    client = staff_client(warehouse)
    unit = inspecting_unit(client)
    assert unit.status == UnitStatus.INSPECTING
    change = reverse("admin:devices_deviceunit_change", args=[unit.pk])
    assert 'name="inspection_passed"' not in client.get(change).content.decode()  # no raw field to flip
    url = reverse("admin:devices_deviceunit_inspection", args=[unit.pk])
    response = client.post(url, {"passed": "maybe"}, follow=True)
    assert "(passed: yes of no)" in response.content.decode() and "TERM-9" in response.content.decode()
    assert client.post(url, {"passed": "yes", "note": "cleaned, complete"}).status_code == 302
    event = AuditEvent.objects.get(action="record_inspection")
    assert (event.actor, event.rule, event.reason) == (warehouse.email, "TERM-9", "cleaned, complete")
    assert 'value="restock"' in client.get(change).content.decode()


def test_staff_without_the_handling_permission_cannot_record_an_inspection():
    unit = inspecting_unit(staff_client(UserFactory(role=roles.WAREHOUSE)))
    service_desk = staff_client(UserFactory(role=roles.CUSTOMER_SERVICE))
    change = reverse("admin:devices_deviceunit_change", args=[unit.pk])
    assert "Record inspection" not in service_desk.get(change).content.decode()
    url = reverse("admin:devices_deviceunit_inspection", args=[unit.pk])
    assert service_desk.post(url, {"passed": "yes"}).status_code == 403
    with pytest.raises(PermissionDenied):  # the service checks it too, whoever calls it
        device_services.record_inspection(
            unit.pk, passed=True, note="", actor=Actor.of_user(UserFactory(role=roles.CUSTOMER_SERVICE))
        )
    assert DeviceUnit.objects.get(pk=unit.pk).inspection_passed is None
    assert not AuditEvent.objects.filter(action="record_inspection").exists()
