"""Log-ins, partners and partner API keys in the admin: a window, not a back door.

A subscriber's log-in e-mail and access flags cannot be changed here and no log-in is deleted (a
subscriber leaves through erasure); every save is audited. A partner's code and kind are fixed; only
its name is edited. A key is issued (shown once) and revoked, both audited; never edited or deleted.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts import roles
from accounts.models import PartnerApiKey, PartnerKind, Subscriber, User
from accounts.services import issue_api_key, partner_for_code
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from tests.admin.pages import change_form_data
from tests.factories import SubscriberFactory, UserFactory, log_in_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = UserFactory(role=roles.ADMIN, is_superuser=True)
    return log_in_staff(Client(), user), user


def test_a_subscribers_log_in_email_and_access_flags_are_not_changed_by_a_post(admin_client):
    client, staff = admin_client
    subscriber = SubscriberFactory()
    login = subscriber.user
    url = reverse("admin:accounts_user_change", args=[login.pk])
    data = change_form_data(client.get(url).content.decode())
    assert "email" not in data and "is_superuser" not in data
    data.update(email="attacker@example.nl", is_superuser="on", is_staff="on", full_name="Renamed Person")
    assert client.post(url, data).status_code == 302
    login.refresh_from_db()
    assert login.email != "attacker@example.nl"
    assert (login.is_superuser, login.is_staff, login.full_name) == (False, False, "Renamed Person")
    event = AuditEvent.objects.get(action="admin_change", target_id=str(login.pk))
    assert (event.actor_user, event.data) == (staff, {"fields": ["full_name"]})


def test_a_staff_log_in_save_is_audited_with_the_fields_changed(admin_client):
    client, staff = admin_client
    colleague = UserFactory(role=roles.WAREHOUSE)
    url = reverse("admin:accounts_user_change", args=[colleague.pk])
    data = change_form_data(client.get(url).content.decode())
    data.update(is_superuser="on")
    data.pop("user_permissions")  # an empty multiple select sends nothing
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=colleague.pk).is_superuser
    event = AuditEvent.objects.get(action="admin_change", target_id=str(colleague.pk))
    assert (event.actor_user, event.data) == (staff, {"fields": ["is_superuser"]})


def test_no_log_in_is_deleted_from_the_admin_a_subscriber_leaves_through_erasure(admin_client):
    client, _staff = admin_client
    subscriber = SubscriberFactory()
    url = reverse("admin:accounts_user_delete", args=[subscriber.user_id])
    assert client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:accounts_user_changelist")
    client.post(changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [subscriber.user_id], "post": "yes"})
    assert Subscriber.objects.get(pk=subscriber.pk).user_id == subscriber.user_id


def test_staff_cannot_set_a_subscribers_password_and_a_staff_password_set_is_audited(admin_client):
    client, staff = admin_client
    subscriber = SubscriberFactory()
    url = reverse("admin:auth_user_password_change", args=[subscriber.user_id])
    new = {"password1": "An0ther-Passphrase!", "password2": "An0ther-Passphrase!", "usable_password": "true"}
    assert client.post(url, new).status_code == 403
    assert not User.objects.get(pk=subscriber.user_id).check_password("An0ther-Passphrase!")
    colleague = UserFactory(role=roles.FINANCE)
    url = reverse("admin:auth_user_password_change", args=[colleague.pk])
    assert client.post(url, new).status_code == 302
    assert User.objects.get(pk=colleague.pk).check_password("An0ther-Passphrase!")
    event = AuditEvent.objects.get(action="admin_set_password", target_id=str(colleague.pk))
    assert event.actor_user == staff


def test_a_partner_post_changes_its_name_only_and_is_audited(admin_client):
    client, staff = admin_client
    partner = partner_for_code("warehouse-one", kind=PartnerKind.WAREHOUSE)
    issue_api_key(partner.pk, name="wh", scopes=["units:read"], expiry_date=None, actor=Actor.system("test"))
    url = reverse("admin:accounts_partner_change", args=[partner.pk])
    data = change_form_data(client.get(url).content.decode())
    assert "code" not in data and "kind" not in data
    data.update(name="Warehouse One", code="carrier-one", kind=PartnerKind.CARRIER)
    assert client.post(url, data).status_code == 302
    partner.refresh_from_db()
    assert (partner.name, partner.code, partner.kind) == ("Warehouse One", "warehouse-one", PartnerKind.WAREHOUSE)
    event = AuditEvent.objects.get(action="admin_change", target_id=str(partner.pk))
    assert (event.actor_user, event.data) == (staff, {"fields": ["name"]})
    delete = reverse("admin:accounts_partner_delete", args=[partner.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PartnerApiKey.objects.filter(partner=partner).count() == 1


def test_a_key_is_issued_once_shown_and_revoked_by_the_action_never_edited_or_deleted(admin_client):
    client, staff = admin_client
    partner = partner_for_code("carrier-one", kind=PartnerKind.CARRIER)
    response = client.post(
        reverse("admin:accounts_partnerapikey_add"),
        {"partner": partner.pk, "name": "carrier key", "scopes": '["tracking:write"]'},
    )
    assert response.status_code == 302
    key = PartnerApiKey.objects.get(partner=partner)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(key.prefix + "." in message for message in shown), shown
    issued = AuditEvent.objects.get(action="issue_api_key", target_id=str(partner.pk))
    assert (issued.actor_user, issued.data) == (staff, {"prefix": key.prefix, "scopes": ["tracking:write"]})

    change = reverse("admin:accounts_partnerapikey_change", args=[key.pk])
    assert client.post(change, {"revoked": "", "name": "other", "scopes": "[]"}).status_code == 403
    delete = reverse("admin:accounts_partnerapikey_delete", args=[key.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:accounts_partnerapikey_changelist")
    client.post(changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [key.pk], "post": "yes"})
    assert PartnerApiKey.objects.filter(pk=key.pk, revoked=False).exists()

    client.post(changelist, {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk]})
    assert PartnerApiKey.objects.get(pk=key.pk).revoked
    revoked = AuditEvent.objects.get(action="revoke_api_key", target_id=str(partner.pk))
    assert (revoked.actor_user, revoked.data) == (staff, {"prefix": key.prefix})


def test_scopes_that_are_not_a_list_are_refused_on_the_field(admin_client):
    client, _staff = admin_client
    partner = partner_for_code("carrier-two", kind=PartnerKind.CARRIER)
    response = client.post(
        reverse("admin:accounts_partnerapikey_add"), {"partner": partner.pk, "name": "k", "scopes": '"all"'}
    )
    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not PartnerApiKey.objects.exists()
