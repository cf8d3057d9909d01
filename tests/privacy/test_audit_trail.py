"""Who changed what and why: row-level history on every domain table, labelled with the actor."""

from datetime import date

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing import services
from flex.audit.trail import Actor
from tests.factories import AddressFactory, UserFactory, subscribe

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("accounts", "devices", "billing")
# A replay cache of API responses: technical, short-lived, and never changed by a person; the
# sandbox partners' own records, which in production the partner keeps, not Flex; and write-once
# records whose rows are their own history (issue 13: a copy per row cost +20 µs and ~200 bytes):
# issued invoice lines, which the database refuses to update, and the disclosure log.
# A billing run is a log of a job; its only changes are its counters going up (issue 8).
# A billing schedule is moved by each run; the invoices it issued are its history.
# Direct-debit collections are written a million a month by the gathering job; their status moves
# with their batch (which keeps its history). A payment allocation is written once and never changes;
# its payment keeps the history.
UNTRACKED = {
    "billing.UnmatchedTransfer",  # a proxy of BankFileEntry (the finance queue), whose history is kept
    "accounts.IdempotentRequest",
    "accounts.SandboxState",
    "billing.InvoiceLine",
    "accounts.Disclosure",
    "billing.BillingRun",
    "billing.BillingSchedule",
    "billing.DirectDebitCollection",
    "billing.PaymentAllocation",
    "billing.OpenReceivable",  # a proxy of Invoice: the same rows, whose history Invoice keeps
    "billing.ProviderEvent",  # written once with what it did, never changed: the row is its own history
}


def test_every_domain_table_keeps_row_history():
    from pghistory.models import Event

    tracked = {model.pgh_tracked_model for model in apps.get_models() if issubclass(model, Event)}
    untracked = [
        model._meta.label
        for app in DOMAIN_APPS
        for model in apps.get_app_config(app).get_models()
        if not issubclass(model, Event) and model not in tracked and model._meta.label not in UNTRACKED
    ]
    assert untracked == []


def test_a_staff_edit_in_the_admin_is_recorded_with_who_did_it():
    subscriber = AddressFactory().subscriber
    agent = UserFactory(role=roles.CUSTOMER_SERVICE, email="agent@flex.example")
    client = Client()
    client.force_login(agent)
    url = reverse("admin:accounts_subscriber_change", args=[subscriber.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"phone": "06-99999999", "kind": subscriber.kind})
    data.update(
        {
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
            "addresses-MIN_NUM_FORMS": "0",
            "addresses-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors

    change = apps.get_model("accounts", "SubscriberEvent").objects.filter(pgh_obj=subscriber, phone="06-99999999").get()
    assert change.pgh_context.metadata["actor"] == agent.email
    assert change.pgh_context.metadata["action"] == f"POST {url}"


def test_a_transition_is_recorded_with_actor_rule_and_reason():
    subscription = subscribe(AddressFactory().subscriber, delivered_on=date(2026, 1, 10))
    services.give_notice(subscription.pk, actor=Actor.system("test"), reason="moving abroad")

    history = apps.get_model("billing", "SubscriptionEvent").objects.filter(pgh_obj=subscription)
    notice = history.get(status="notice_given")
    assert notice.pgh_context.metadata == {"actor": "system:test", "action": "give_notice", "reason": "moving abroad"}
    audit = apps.get_model("audit", "AuditEvent").objects.get(action="give_notice")
    assert (audit.actor, audit.rule, audit.reason) == ("system:test", "TERM-2", "moving abroad")
