"""Mandates as their own record (PAY-1, REG-7): taken over from the sign-up at acceptance, replaced by
a new one from the portal or from paper (the old one amended), revoked, lapsed after 36 months unused."""

from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import roles
from billing import services
from billing.models import DirectDebitCollection, Mandate, MandateChannel, MandateStatus
from billing.services import direct_debit
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.billing.sepa import monthly_invoice
from tests.factories import PASSWORD, UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("mandates")
NEW_IBAN = "NL44RABO0123456789"


@pytest.fixture
def active():
    return subscribe(delivered_on=date(2026, 1, 5))


def portal_client(subscription):
    client = Client()
    assert client.login(username=subscription.subscriber.user.email, password=PASSWORD)
    return client


def test_acceptance_takes_the_signup_mandate_over_as_its_own_record(active):
    application = active.application
    mandate = Mandate.objects.get(subscription=active)
    assert mandate.reference == application.mandate_reference == f"FLEX-{application.reference}"
    assert (mandate.iban, mandate.bic, mandate.account_holder) == (
        "NL91ABNA0417164300",
        "ABNANL2A",  # from the Dutch IBAN's bank (schwifty's registry)
        application.account_holder,
    )
    assert mandate.signed_at == application.mandate_signed_at and mandate.signed_ip == "192.0.2.10"
    assert (mandate.status, mandate.channel, mandate.next_sequence_type) == ("active", "signup", "FRST")
    assert mandate.reference in mandate.text and "8 weken" in mandate.text  # the Dutch text the applicant saw


def test_the_data_migration_gives_earlier_accepted_applications_their_mandate(active):
    migration = __import__("billing.migrations.0013_mandates_and_direct_debit", fromlist=["x"])
    Mandate.objects.filter(subscription=active).delete()  # as before mandates had a table
    migration.mandates_from_accepted_applications(django_apps, None)
    migration.mandates_from_accepted_applications(django_apps, None)  # twice: still one
    mandate = Mandate.objects.get(subscription=active)
    assert mandate.reference == active.application.mandate_reference
    assert mandate.signed_ip == "192.0.2.10" and mandate.bic == "ABNANL2A"


def test_portal_iban_change_makes_a_new_mandate_with_its_text_and_amends_the_old(active, travel):
    old = Mandate.objects.get(subscription=active)
    client = portal_client(active)
    page = client.get(reverse("portal:payment_method"))
    reference = client.session["new_mandate_reference"]
    assert old.reference in page.text and reference in page.text  # the text shown names the new reference
    travel("2026-02-10")
    response = client.post(
        reverse("portal:payment_method"),
        {"iban": "nl44 rabo 0123 4567 89", "account_holder": "Jip Visser", "agree": "on"},
    )
    assert response.status_code == 302
    new = Mandate.objects.get(subscription=active, status=MandateStatus.ACTIVE)
    old.refresh_from_db()
    assert (new.reference, new.iban, new.bic, new.channel) == (reference, NEW_IBAN, "RABONL2U", "portal")
    assert new.signed_on == date(2026, 2, 10) and new.signed_ip == "127.0.0.1"
    assert new.text == page.context["mandate_text"]  # what was agreed to is what is kept
    assert (old.status, old.replaced_by, old.ended_on) == (MandateStatus.AMENDED, new, date(2026, 2, 10))
    assert AuditEvent.objects.filter(action="amend", target_id=str(old.pk), rule="PAY-1").exists()


def test_portal_iban_change_without_agreeing_to_the_text_changes_nothing(active):
    response = portal_client(active).post(
        reverse("portal:payment_method"), {"iban": NEW_IBAN, "account_holder": "Jip Visser"}
    )
    assert response.status_code == 200
    assert "PAY-1" in response.text
    assert Mandate.objects.filter(subscription=active).count() == 1


@pytest.mark.parametrize(
    ("iban", "holder", "rule"),
    [("NL50BANK1234567890", "Jip Visser", "REG-7"), (NEW_IBAN, "王小明", "PAY-1"), (NEW_IBAN, "J" * 71, "PAY-1")],
)
def test_portal_refuses_an_account_that_cannot_be_collected_from(active, iban, holder, rule):
    with pytest.raises(Refused) as refused:
        services.change_iban(
            active.pk, iban=iban, account_holder=holder, agreed=True, ip_address=None, actor=Actor.system("t")
        )
    assert refused.value.refusal.rule == rule
    assert Mandate.objects.filter(subscription=active).count() == 1


def test_after_an_iban_change_the_next_collection_is_a_first_one_on_the_new_mandate(active, travel):
    march = monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    services.collect_direct_debits(actor=JOB)
    new = services.change_iban(
        active.pk, iban=NEW_IBAN, account_holder="Jip Visser", agreed=True, ip_address=None, actor=JOB
    )
    april = monthly_invoice(active, date(2026, 4, 7))
    travel("2026-04-02")
    services.collect_direct_debits(actor=JOB)
    assert DirectDebitCollection.objects.get(invoice=march).sequence_type == "FRST"  # on the old mandate
    collection = DirectDebitCollection.objects.get(invoice=april)
    assert (collection.mandate, collection.sequence_type) == (new, "FRST")


def test_staff_record_a_paper_mandate_through_the_admin(active, travel):
    travel("2026-02-20")
    staff = UserFactory(role=roles.CUSTOMER_SERVICE)
    client = log_in_staff(Client(), staff)
    url = reverse("admin:billing_mandate_add")
    data = {
        "subscription": active.pk,
        "iban": NEW_IBAN,
        "bic": "",
        "account_holder": "J. Visser",
        "signed_on": "2026-02-18",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.text
    paper = Mandate.objects.get(subscription=active, status=MandateStatus.ACTIVE)
    assert (paper.channel, paper.signed_on, paper.recorded_by) == (MandateChannel.PAPER, date(2026, 2, 18), staff.email)
    assert paper.bic == "RABONL2U" and paper.reference.startswith("FLEX-M")
    assert Mandate.objects.filter(subscription=active, status=MandateStatus.AMENDED).count() == 1
    assert AuditEvent.objects.filter(action="give_mandate", target_id=str(paper.pk), actor=staff.email).exists()
    # A date of signature in the future is refused on its field, nothing written.
    response = client.post(url, {**data, "signed_on": "2026-03-01"})
    assert response.status_code == 200 and "PAY-1" in response.text
    assert Mandate.objects.filter(subscription=active).count() == 2


def test_a_paper_mandate_needs_the_permission(active):
    warehouse = UserFactory(role=roles.WAREHOUSE)
    with pytest.raises(PermissionDenied):
        services.record_paper_mandate(
            active.pk,
            iban=NEW_IBAN,
            account_holder="J. Visser",
            signed_on=date(2026, 1, 1),
            actor=Actor.of_user(warehouse),
        )
    client = log_in_staff(Client(), warehouse)
    assert client.get(reverse("admin:billing_mandate_add")).status_code == 403


def test_mandate_lapses_36_months_after_its_last_collection_not_a_day_before(active, travel):
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    services.collect_direct_debits(actor=JOB)  # last collection: 5 March 2026
    mandate = Mandate.objects.get(subscription=active)
    travel("2029-03-04")
    assert services.lapse_unused_mandates(actor=JOB) == 0
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIVE
    travel("2029-03-05")
    assert services.lapse_unused_mandates(actor=JOB) == 1
    mandate.refresh_from_db()
    assert (mandate.status, mandate.ended_on) == (MandateStatus.LAPSED, date(2029, 3, 5))
    assert AuditEvent.objects.filter(action="lapse", target_id=str(mandate.pk), rule="PAY-1").exists()


def test_a_mandate_never_used_lapses_36_months_after_its_signature(active, travel):
    mandate = Mandate.objects.get(subscription=active)
    signed = mandate.signed_on
    travel(date(signed.year + 3, signed.month, signed.day) - timedelta(days=1))
    assert services.lapse_unused_mandates(actor=JOB) == 0
    travel(date(signed.year + 3, signed.month, signed.day))
    assert services.lapse_unused_mandates(actor=JOB) == 1


def test_a_lapsed_mandate_is_not_collected_on(active, travel):
    signed = Mandate.objects.get(subscription=active).signed_on
    lapses_on = date(signed.year + 3, signed.month, signed.day)
    invoice = monthly_invoice(active, lapses_on + timedelta(days=1))
    travel(lapses_on)  # the invoice is due within the bank's lead time: it would be gathered now
    assert direct_debit.gather_due_collections(actor=JOB) is None  # even before the lapse job ran
    assert not DirectDebitCollection.objects.filter(invoice=invoice).exists()


def test_staff_revoke_a_mandate_and_nothing_more_is_collected(active, travel):
    mandate = Mandate.objects.get(subscription=active)
    staff = UserFactory(role=roles.CUSTOMER_SERVICE)
    services.revoke_mandate(mandate.pk, actor=Actor.of_user(staff), reason="subscriber called")
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.REVOKED
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    assert direct_debit.gather_due_collections(actor=JOB) is None
