"""PAY-1 (terms art. 8.1, 8.2): the daily job collects the open invoices of SEPA payers whose collection
date has come, one batch per collection date, FRST on a mandate's first collection and RCUR after,
each invoice once however often or however concurrently it runs; the file is stored and goes to the bank."""

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.models import Disclosure
from billing import services
from billing.models import (
    BatchStatus,
    CollectionStatus,
    DirectDebitBatch,
    DirectDebitCollection,
    Mandate,
    PaymentMethod,
    Subscription,
)
from billing.services import direct_debit
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.billing.sepa import monthly_invoice
from tests.factories import subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("direct_debits")


@pytest.fixture
def active():
    return subscribe(delivered_on=date(2026, 1, 5))


def collections_of(invoice):
    return list(DirectDebitCollection.objects.filter(invoice=invoice))


def test_an_invoice_is_collected_on_its_due_date_from_the_job_two_business_days_before(active, travel):
    invoice = monthly_invoice(active, date(2026, 3, 5))  # a Thursday
    travel("2026-03-02")  # Monday: the earliest date the bank can still take is Wednesday
    assert direct_debit.gather_due_collections(actor=JOB) is None
    travel("2026-03-03")
    batch = direct_debit.gather_due_collections(actor=JOB)
    assert batch.collection_date == date(2026, 3, 5)
    [collection] = collections_of(invoice)
    assert (collection.amount, collection.batch, collection.status) == (Decimal("45.00"), batch, "pending")
    assert collection.end_to_end_id == f"{invoice.number}-260305"


def test_a_due_date_on_a_weekend_is_collected_on_the_next_target_business_day(active, travel):
    invoice = monthly_invoice(active, date(2026, 3, 7))  # Saturday
    travel("2026-03-05")
    batch = direct_debit.gather_due_collections(actor=JOB)
    assert batch.collection_date == date(2026, 3, 9)  # Monday, never before the pre-notified date
    assert collections_of(invoice)


def test_one_batch_per_collection_date(active, travel):
    other = subscribe(delivered_on=date(2026, 1, 6))
    first = monthly_invoice(active, date(2026, 3, 5))
    second = monthly_invoice(other, date(2026, 3, 5))
    later = monthly_invoice(other, date(2026, 4, 6))
    travel("2026-03-03")
    batch = direct_debit.gather_due_collections(actor=JOB)
    assert {c.invoice for c in batch.collections.all()} == {first, second}
    assert not collections_of(later)
    travel("2026-04-01")
    april = direct_debit.gather_due_collections(actor=JOB)
    assert april != batch and april.collection_date == date(2026, 4, 7)  # due on Easter Monday: the Tuesday
    assert DirectDebitBatch.objects.filter(collection_date=date(2026, 3, 5)).count() == 1


def test_first_collection_on_a_mandate_is_frst_and_the_next_rcur(active, travel):
    march = monthly_invoice(active, date(2026, 3, 5))
    april = monthly_invoice(active, date(2026, 4, 6))
    travel("2026-03-03")
    services.collect_direct_debits(actor=JOB)
    travel("2026-04-01")
    services.collect_direct_debits(actor=JOB)
    assert collections_of(march)[0].sequence_type == "FRST"
    assert collections_of(april)[0].sequence_type == "RCUR"
    mandate = Mandate.objects.get(subscription=active)
    assert (mandate.first_collected_on, mandate.last_collected_on) == (date(2026, 3, 5), date(2026, 4, 7))


def test_two_invoices_on_a_new_mandate_in_one_batch_are_one_frst_and_one_rcur_pay_1(active, travel):
    march = monthly_invoice(active, date(2026, 3, 5))
    april = monthly_invoice(active, date(2026, 4, 6))
    travel("2026-04-02")  # both due by the batch of 7 April: the mandate's first collection is one of them
    services.collect_direct_debits(actor=JOB)
    assert sorted(c.sequence_type for c in collections_of(march) + collections_of(april)) == ["FRST", "RCUR"]


def test_running_the_job_twice_collects_each_invoice_once(active, travel):
    invoice = monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    first = services.collect_direct_debits(actor=JOB)
    assert services.collect_direct_debits(actor=JOB) is None  # nothing left to collect
    assert direct_debit.gather_due_collections(actor=JOB) is None
    assert len(collections_of(invoice)) == 1 and DirectDebitBatch.objects.count() == 1
    first.refresh_from_db()
    assert (first.status, first.transaction_count) == (BatchStatus.SUBMITTED, 1)


def test_an_invoice_is_in_one_live_collection_whatever_writes_it(active, travel):
    invoice = monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = direct_debit.gather_due_collections(actor=JOB)
    [collection] = collections_of(invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        DirectDebitCollection.objects.create(
            batch=batch,
            invoice=invoice,
            mandate=collection.mandate,
            amount=collection.amount,
            sequence_type="RCUR",
            end_to_end_id=f"{invoice.number}-again",
        )


def test_what_is_not_collected_card_payers_paid_and_partly_paid_invoices(active, travel):
    paid = monthly_invoice(active, date(2026, 3, 5))
    services.record_payment(
        paid.pk, amount=Decimal("45.00"), method="ideal", provider_reference="tr_paid", actor=Actor.system("test")
    )
    partly = monthly_invoice(subscribe(delivered_on=date(2026, 1, 6)), date(2026, 3, 5), amount="60.00")
    services.record_payment(
        partly.pk, amount=Decimal("20.00"), method="ideal", provider_reference="tr_part", actor=Actor.system("test")
    )
    card = subscribe(delivered_on=date(2026, 1, 6))
    Subscription.objects.filter(pk=card.pk).update(payment_method=PaymentMethod.CARD)  # a card payer
    by_card = monthly_invoice(card, date(2026, 3, 5))
    travel("2026-03-03")
    direct_debit.gather_due_collections(actor=JOB)
    assert not collections_of(paid) and not collections_of(by_card)
    assert [c.amount for c in collections_of(partly)] == [Decimal("40.00")]


def test_the_stored_file_holds_every_collection_with_its_checksum_and_goes_to_the_bank(active, travel):
    invoice = monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = services.collect_direct_debits(actor=JOB)
    with batch.file.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == batch.file_sha256
    assert (batch.transaction_count, batch.first_count, batch.recurring_count) == (1, 1, 0)
    assert batch.control_sum == Decimal("45.00") and batch.file_version == "pain.008.001.02"
    assert f"<EndToEndId>{invoice.number}-260305</EndToEndId>".encode() in content
    assert batch.status == BatchStatus.SUBMITTED and batch.bank_reference.startswith("SBX-")
    assert set(batch.collections.values_list("status", flat=True)) == {CollectionStatus.SUBMITTED}
    # PRIV-1: the bank received names and accounts
    disclosure = Disclosure.objects.get(reference=batch.message_id)
    assert disclosure.partner.kind == "bank" and disclosure.categories == ["financial", "identity"]
    services.submit_batch(batch.pk, actor=JOB)
    assert Disclosure.objects.filter(reference=batch.message_id).count() == 1
    assert AuditEvent.objects.filter(action="submit", target_id=str(batch.pk), rule="PAY-1").count() == 1


def test_later_finds_go_to_the_next_days_batch_once_a_file_went_to_the_bank(active, travel):
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    submitted = services.collect_direct_debits(actor=JOB)
    late = monthly_invoice(subscribe(delivered_on=date(2026, 1, 6)), date(2026, 3, 4))
    travel("2026-03-03")
    batch = direct_debit.gather_due_collections(actor=JOB)
    assert batch != submitted and batch.collection_date == date(2026, 3, 6)
    assert collections_of(late)[0].batch == batch


def test_a_holder_name_that_cannot_be_written_refuses_the_file_and_stores_nothing(active, travel):
    # A mandate from before the name check (the data migration keeps names as signed).
    Mandate.objects.filter(subscription=active).update(account_holder="王小明")
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = direct_debit.gather_due_collections(actor=JOB)
    with pytest.raises(Refused) as refused:
        direct_debit.write_batch_file(batch.pk, actor=JOB)
    assert refused.value.refusal.rule == "PAY-1"
    assert refused.value.refusal.field.startswith("Dbtr/Nm (F")
    assert "EPC130-08 character set" in refused.value.refusal.message
    batch.refresh_from_db()
    assert not batch.file and batch.status == BatchStatus.CREATED
    with pytest.raises(Refused) as not_ready:
        services.submit_batch(batch.pk, actor=JOB)
    assert not_ready.value.refusal.rule == "PAY-1" and not Disclosure.objects.filter(partner__kind="bank").exists()


def test_the_sandbox_bank_reports_rejects_some_days_later(active, travel):
    Mandate.objects.filter(subscription=active).update(account_holder="J. Wanbetaler")
    invoice = monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = services.collect_direct_debits(actor=JOB)
    assert direct_debit.bank_reports(batch.pk) == []
    travel("2026-03-05")
    [report] = direct_debit.bank_reports(batch.pk)
    assert (report.kind, report.reason_code, report.amount) == ("reject", "AM04", Decimal("45.00"))
    assert report.end_to_end_id == f"{invoice.number}-260305"


def test_export_command_writes_the_latest_file(active, travel, tmp_path):
    with pytest.raises(CommandError, match="no direct-debit batch with a file"):
        call_command("export_direct_debits", "--latest", "--output", str(tmp_path / "none.xml"))
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = services.collect_direct_debits(actor=JOB)
    out = tmp_path / "latest.xml"
    call_command("export_direct_debits", "--latest", "--output", str(out))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == batch.file_sha256


def test_the_directory_bank_drops_the_file_whole(active, travel, settings, tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    settings.FLEX_BANK = {**settings.FLEX_BANK, "implementation": "directory", "outbox": str(outbox)}
    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = services.collect_direct_debits(actor=JOB)
    assert [p.name for p in outbox.iterdir()] == [f"{batch.message_id}.xml"]
    assert hashlib.sha256((outbox / f"{batch.message_id}.xml").read_bytes()).hexdigest() == batch.file_sha256


def test_finance_downloads_the_batch_file_from_the_admin_and_a_warehouse_clerk_may_not(active, travel):
    from django.test import Client
    from django.urls import reverse

    from accounts import roles
    from tests.factories import UserFactory, log_in_staff

    monthly_invoice(active, date(2026, 3, 5))
    travel("2026-03-03")
    batch = services.collect_direct_debits(actor=JOB)
    finance = log_in_staff(Client(), UserFactory(role=roles.FINANCE))
    url = reverse("admin:billing_directdebitbatch_file", args=[batch.pk])
    assert url in finance.get(reverse("admin:billing_directdebitbatch_changelist")).content.decode()
    response = finance.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{batch.message_id}.xml"'
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == batch.file_sha256
    clerk = log_in_staff(Client(), UserFactory(role=roles.WAREHOUSE))
    assert clerk.get(url).status_code == 403
