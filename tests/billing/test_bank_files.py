"""Bank files in (PAY-1, PAY-2, PAY-8): pain.002 rejects, camt.054 returns and refunds, camt.053 batch
credits and transfers, booked once, with the reason-code policy kept as data."""

from datetime import date
from pathlib import Path
from string import Template

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import translation

from accounts import roles
from billing import services
from billing.models import (
    BankFile,
    BankFileEntry,
    BatchStatus,
    CollectionStatus,
    DirectDebitCollection,
    EntryOutcome,
    InvoiceStatus,
    Mandate,
    MandateStatus,
    Payment,
    PaymentStatus,
)
from billing.services import direct_debit
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.refusals import Refused
from tests.billing.sepa import monthly_invoice
from tests.factories import UserFactory, log_in_staff, subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("direct_debits")
FILES = Path(__file__).with_name("bank_files")
STOP_CODES = ["AC04", "AC06", "MD01", "MS02", "MS03", "SL01", "MD07"]


def sample(name: str, **values) -> bytes:
    defaults = {"MSG_ID": f"BANK-{name[:12]}-1", "CREATED": "2026-03-05T07:30:00", "SEQ": "FRST"}
    return Template((FILES / name).read_text()).substitute({**defaults, **values}).encode()


def book(content: bytes, name: str = "file.xml"):
    """Import as the upload does; the e-mails it leaves for after the commit go out as a commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.import_bank_file(content, file_name=name, actor=Actor.system("test"))


@pytest.fixture
def collected(travel):
    """An invoice due 5 March 2026 in a batch at the bank (FRST on Anna's mandate)."""
    subscription = subscribe(delivered_on=date(2026, 1, 5))
    invoice = monthly_invoice(subscription, date(2026, 3, 5))
    travel("2026-03-03")
    services.collect_direct_debits(actor=JOB)
    [collection] = DirectDebitCollection.objects.filter(invoice=invoice)
    assert collection.status == CollectionStatus.SUBMITTED
    return collection


def statement(collection, booked="2026-03-05", msg="STMT-20260305", remittance="geen", transfer="10.00"):
    return sample(
        "camt.053-day-statement.xml",
        MSG_ID=msg,
        BATCH=collection.batch.message_id,
        E2E=collection.end_to_end_id,
        AMOUNT=f"{collection.amount:.2f}",
        BOOKED=booked,
        CLOSING="1080.00",
        TRANSFER=transfer,
        REMITTANCE=remittance,
    )


def reject(collection, code, msg="PAIN002-1"):
    return sample(
        "pain.002-transaction-rejected.xml",
        MSG_ID=msg,
        BATCH=collection.batch.message_id,
        SEQ=collection.sequence_type,
        E2E=collection.end_to_end_id,
        AMOUNT=f"{collection.amount:.2f}",
        CODE=code,
        COLLECTION_DATE=collection.batch.collection_date.isoformat(),
    )


def returned(collection, code, booked="2026-03-26", msg="CAMT054-1"):
    return sample(
        "camt.054-return.xml",
        MSG_ID=msg,
        E2E=collection.end_to_end_id,
        AMOUNT=f"{collection.amount:.2f}",
        CODE=code,
        BOOKED=booked,
    )


def refreshed(obj):
    obj.refresh_from_db()
    return obj


# --- settlement ------------------------------------------------------------------------------------


def test_a_settled_collection_books_its_payment_on_the_booking_date_pay_1(collected, travel):
    travel("2026-03-06")
    result = book(statement(collected, booked="2026-03-05"))
    payment = Payment.objects.get(provider_reference=collected.end_to_end_id)
    assert (payment.method, payment.booked_on, payment.amount) == (
        "sepa_direct_debit",
        date(2026, 3, 5),
        collected.amount,
    )
    assert payment.invoice == collected.invoice and refreshed(collected.invoice).status == InvoiceStatus.PAID
    assert refreshed(collected).status == CollectionStatus.SETTLED
    batch = refreshed(collected.batch)
    assert (batch.status, batch.settled_on) == (BatchStatus.SETTLED, date(2026, 3, 5))
    settled = BankFileEntry.objects.get(bank_file=result.bank_file, outcome=EntryOutcome.SETTLED)
    assert (settled.collection, settled.payment, settled.end_to_end_id) == (collected, payment, collected.end_to_end_id)
    assert result.bank_file.settled_count == 1 and result.bank_file.unmatched_count == 2


def test_the_same_file_twice_counts_once_and_another_with_its_message_id_is_refused_pay_1(collected, travel):
    travel("2026-03-06")
    content = statement(collected)
    assert book(content).created
    again = book(content)
    with translation.override("en"):
        assert not again.created and "imported already" in again.message
    assert Payment.objects.filter(method="sepa_direct_debit").count() == 1
    assert BankFile.objects.count() == 1 and BankFileEntry.objects.count() == 3
    with pytest.raises(Refused) as other:
        book(statement(collected, transfer="11.00"))
    assert (other.value.refusal.rule, other.value.refusal.field) == ("PAY-1", "message_id")
    assert BankFile.objects.count() == 1


# --- pain.002 --------------------------------------------------------------------------------------


def test_a_whole_file_reject_rejects_the_batch_and_books_nothing_pay_1(collected, travel):
    content = sample("pain.002-file-rejected.xml", MSG_ID="PAIN002-RJCT", BATCH=collected.batch.message_id)
    result = book(content)
    assert refreshed(collected.batch).status == BatchStatus.REJECTED
    collection = refreshed(collected)
    assert (collection.status, collection.reason_code) == (CollectionStatus.REJECTED, "FF01")
    assert not Payment.objects.filter(method="sepa_direct_debit").exists()
    [entry] = result.bank_file.entries.all()
    assert entry.outcome == EntryOutcome.BATCH_REJECTED and "FF01" in entry.detail
    # A technical reject: the invoice goes into a later batch on the same mandate.
    travel("2026-03-04")
    later = direct_debit.gather_due_collections(actor=JOB)
    assert later.collections.filter(invoice=collected.invoice).exists()


def test_am04_collects_once_more_with_a_new_pre_notification_pay_1_pay_8(collected, travel):
    mail.outbox.clear()
    book(reject(collected, "AM04"))
    collection = refreshed(collected)
    assert (collection.status, collection.reason_code) == (CollectionStatus.REJECTED, "AM04")
    again = DirectDebitCollection.objects.get(invoice=collected.invoice, status=CollectionStatus.PENDING)
    # At least the pre-notification period (14 days) ahead of today, on a business day.
    assert again.batch.collection_date >= date(2026, 3, 17) and again.batch.collection_date.weekday() < 5
    assert again.amount == collected.amount and again.sequence_type == "FRST"
    [notice] = mail.outbox
    assert notice.to == [collected.invoice.subscriber.email]
    assert again.batch.collection_date.strftime("%d-%m-%Y") in notice.body and "45,00" in notice.body
    entry = BankFileEntry.objects.get(collection=collected)
    assert (entry.outcome, entry.policy) == (EntryOutcome.REJECTED, "recollect_once")

    # The re-collection goes to the bank with its batch, by the daily job.
    travel(again.batch.collection_date.replace(day=again.batch.collection_date.day - 2).isoformat())
    batch = services.collect_direct_debits(actor=JOB)
    assert batch == again.batch and refreshed(again).status == CollectionStatus.SUBMITTED

    # A second AM04 on the re-collection stops: no third collection; the subscriber is asked to pay.
    mail.outbox.clear()
    book(reject(refreshed(again), "AM04", msg="PAIN002-2"))
    assert not DirectDebitCollection.objects.filter(
        invoice=collected.invoice, status__in=[CollectionStatus.PENDING, CollectionStatus.SUBMITTED]
    ).exists()
    [stop] = mail.outbox
    assert f"/portal/invoices/{collected.invoice.number}/pay/" in stop.body
    assert "/portal/payment-method/" not in stop.body
    assert refreshed(collected.mandate).status == MandateStatus.ACTIVE


@pytest.mark.parametrize("code", STOP_CODES)
def test_a_stop_code_revokes_the_mandate_and_asks_to_pay_or_give_a_new_one_pay_1(collected, travel, code):
    mail.outbox.clear()
    book(reject(collected, code))
    assert refreshed(collected.mandate).status == MandateStatus.REVOKED
    assert AuditEvent.objects.filter(action="revoke", data__reason_code=code).exists()
    [ask] = mail.outbox
    assert f"/portal/invoices/{collected.invoice.number}/pay/" in ask.body and "/portal/payment-method/" in ask.body
    assert refreshed(collected.invoice).status == InvoiceStatus.OPEN
    assert not DirectDebitCollection.objects.filter(invoice=collected.invoice, status=CollectionStatus.PENDING).exists()
    entry = BankFileEntry.objects.get(collection=collected)
    assert (entry.outcome, entry.policy, entry.reason_code) == (EntryOutcome.REJECTED, "stop_mandate", code)


def test_md06_refund_reverses_the_payment_reopens_the_invoice_and_records_the_refund_right_pay_1(collected, travel):
    travel("2026-03-06")
    book(statement(collected))
    assert refreshed(collected.invoice).status == InvoiceStatus.PAID
    travel("2026-03-27")
    mail.outbox.clear()
    book(returned(collected, "MD06", booked="2026-03-26"))
    payment = Payment.objects.get(provider_reference=collected.end_to_end_id)
    assert (payment.status, payment.reason_code, payment.reversed_on) == (
        PaymentStatus.REVERSED,
        "MD06",
        date(2026, 3, 26),
    )
    assert refreshed(collected.invoice).status == InvoiceStatus.OPEN
    collection = refreshed(collected)
    assert (collection.status, collection.refund_claimed_on) == (CollectionStatus.RETURNED, date(2026, 3, 26))
    assert refreshed(collected.mandate).status == MandateStatus.ACTIVE and mail.outbox == []
    # Not collected again behind the debtor's back on the same mandate.
    travel("2026-03-30")
    direct_debit.gather_due_collections(actor=JOB)
    assert not DirectDebitCollection.objects.filter(invoice=collected.invoice, status=CollectionStatus.PENDING).exists()


def test_a_return_after_settlement_reverses_the_payment_pay_1(collected, travel):
    travel("2026-03-06")
    book(statement(collected))
    book(returned(collected, "AC04", booked="2026-03-09"))
    assert Payment.objects.get(provider_reference=collected.end_to_end_id).status == PaymentStatus.REVERSED
    assert refreshed(collected.invoice).status == InvoiceStatus.OPEN
    assert refreshed(collected.mandate).status == MandateStatus.REVOKED


def test_an_unknown_reason_code_stops_and_asks_staff_with_the_code_recorded_pay_1(collected, travel):
    mail.outbox.clear()
    result = book(reject(collected, "AG01"))
    entry = BankFileEntry.objects.get(collection=collected)
    assert (entry.outcome, entry.policy, entry.reason_code) == (EntryOutcome.NEEDS_STAFF, "ask_staff", "AG01")
    assert result.bank_file.needs_staff_count == 1
    assert refreshed(collected).reason_code == "AG01" and mail.outbox == []
    assert refreshed(collected.mandate).status == MandateStatus.ACTIVE
    assert not DirectDebitCollection.objects.filter(invoice=collected.invoice, status=CollectionStatus.PENDING).exists()


# --- refused files ---------------------------------------------------------------------------------


def _malformed(collected):
    good_pain = reject(collected, "AM04")
    good_camt = statement(collected)
    return {
        "bad XML": (good_pain[:-40], "line"),
        "wrong namespace": (good_camt.replace(b"camt.053.001.02", b"camt.053.001.08"), "<Document>"),
        "missing element": (good_pain.replace(b"<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>", b""), "OrgnlMsgNmId"),
        "missing element (camt)": (good_camt.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"", 1), "<Dt>"),
        "amount not a number": (good_pain.replace(b">45.00<", b">45,00<"), "<InstdAmt>"),
        "amount not a number (camt)": (good_camt.replace(b'Ccy="EUR">45.00<', b'Ccy="EUR">fourty-five<', 1), "<Amt>"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad XML",
        "wrong namespace",
        "missing element",
        "missing element (camt)",
        "amount not a number",
        "amount not a number (camt)",
    ],
)
def test_a_malformed_file_is_refused_naming_the_element_and_nothing_is_booked_pay_1(collected, travel, case, settings):
    content, named = _malformed(collected)[case]
    with pytest.raises(Refused) as refused:
        book(content, name="bad.xml")
    assert refused.value.refusal.rule == "PAY-1" and named in refused.value.refusal.message
    assert "line" in refused.value.refusal.message
    assert not BankFile.objects.exists() and not BankFileEntry.objects.exists()
    assert refreshed(collected).status == CollectionStatus.SUBMITTED
    assert not Payment.objects.filter(method="sepa_direct_debit").exists()
    stored = Path(settings.MEDIA_ROOT) / "bank-files"
    assert not stored.exists() or not any(stored.iterdir())


# --- transfers ---------------------------------------------------------------------------------------


def test_a_transfer_naming_the_invoice_in_free_text_pays_it_pay_2(collected, travel):
    invoice = collected.invoice
    loose = invoice.number.lower().replace("-", " ")  # "f2026 000002"
    travel("2026-03-06")
    # The collection is rejected first; the subscriber then pays by transfer.
    book(reject(collected, "MS02"))
    book(statement(collected, remittance=f"betaling factuur {loose} dank u", transfer=f"{invoice.gross_total:.2f}"))
    payment = Payment.objects.get(method="bank_transfer")
    assert (payment.invoice, payment.amount, payment.booked_on) == (invoice, invoice.gross_total, date(2026, 3, 5))
    assert refreshed(invoice).status == InvoiceStatus.PAID
    entry = BankFileEntry.objects.get(payment=payment)
    assert entry.outcome == EntryOutcome.MATCHED and entry.counterparty_iban == "NL20INGB0001234567"


def test_an_unmatched_transfer_waits_in_the_queue_until_finance_assigns_it_pay_2(collected, travel):
    travel("2026-03-06")
    book(reject(collected, "MS02"))
    book(statement(collected, remittance="voor de huur", transfer=f"{collected.invoice.gross_total:.2f}"))
    queue = BankFileEntry.objects.filter(outcome=EntryOutcome.UNMATCHED).order_by("line")
    assert queue.count() == 2
    finance = log_in_staff(Client(), UserFactory(role=roles.FINANCE))
    entry = queue.filter(amount=collected.invoice.gross_total).get()
    response = finance.post(
        reverse("admin:billing_unmatchedtransfer_changelist"),
        {"action": "assign", "_selected_action": [entry.pk], "invoice_number": collected.invoice.number, "index": 0},
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.outcome == EntryOutcome.ASSIGNED and entry.payment.method == "bank_transfer"
    assert refreshed(collected.invoice).status == InvoiceStatus.PAID
    assert AuditEvent.objects.filter(action="assign_transfer", actor_user__isnull=False).exists()
    other = queue.get()
    finance.post(
        reverse("admin:billing_unmatchedtransfer_changelist"),
        {"action": "mark_to_refund", "_selected_action": [other.pk], "index": 0, "reason": "unknown payer"},
    )
    assert refreshed(other).outcome == EntryOutcome.TO_REFUND
    # Customer service may not work the queue.
    service = log_in_staff(Client(), UserFactory(role=roles.CUSTOMER_SERVICE))
    assert service.get(reverse("admin:billing_unmatchedtransfer_changelist")).status_code == 403


def test_the_same_transfer_in_the_notification_and_the_statement_counts_once_pay_2(collected, travel):
    travel("2026-03-06")
    number = collected.invoice.number
    book(statement(collected, msg="STMT-A", remittance=number))
    book(statement(collected, msg="STMT-B", remittance=number))
    assert Payment.objects.filter(method="bank_transfer").count() == 1
    assert BankFileEntry.objects.filter(outcome=EntryOutcome.UNMATCHED).count() == 1


# --- ways in -----------------------------------------------------------------------------------------


def test_the_command_imports_files_and_exits_non_zero_on_a_refused_one_pay_1(collected, travel, tmp_path, capsys):
    from django.core.management import ManagementUtility

    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(reject(collected, "MS02"))
    bad.write_bytes(b"<Document")
    call_command("import_bank_file", str(good))
    assert "PAIN002-1" in capsys.readouterr().out
    with pytest.raises(CommandError, match=r"bad\.xml"):
        call_command("import_bank_file", str(good), str(bad))
    assert BankFile.objects.count() == 1
    # As a shell runs it: the refusal on stderr and a non-zero exit code (it closes the connection last).
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "import_bank_file", str(bad)]).execute()
    assert exited.value.code != 0 and "not well-formed XML" in capsys.readouterr().err


def test_finance_uploads_a_file_in_the_admin_and_sees_what_each_line_did_pay_1(collected, travel):
    travel("2026-03-06")
    finance = log_in_staff(Client(), UserFactory(role=roles.FINANCE))
    page = finance.get(reverse("admin:billing_bankfile_changelist"))
    assert reverse("admin:billing_bankfile_upload") in page.content.decode()  # the upload form
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("statement.xml", statement(collected), content_type="application/xml")
    response = finance.post(reverse("admin:billing_bankfile_upload"), {"file": upload})
    bank_file = BankFile.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{bank_file.pk}/change/")
    detail = finance.get(response["Location"]).content.decode()
    with translation.override("nl"):  # the admin speaks the staff member's language, Dutch by default
        assert collected.end_to_end_id in detail and str(EntryOutcome.SETTLED.label) in detail
    refused = finance.post(
        reverse("admin:billing_bankfile_upload"),
        {"file": SimpleUploadedFile("bad.xml", b"<Document/>", content_type="application/xml")},
        follow=True,
    )
    assert "PAY-1" in refused.content.decode() and BankFile.objects.count() == 1


def test_staff_without_the_import_permission_cannot_upload_pay_1(collected):
    from django.core.files.uploadedfile import SimpleUploadedFile

    service = log_in_staff(Client(), UserFactory(role=roles.CUSTOMER_SERVICE))
    upload = SimpleUploadedFile("s.xml", reject(collected, "MS02"), content_type="application/xml")
    assert service.post(reverse("admin:billing_bankfile_upload"), {"file": upload}).status_code == 403
    assert not BankFile.objects.exists()


def test_admin_lists_of_files_lines_and_queue_take_a_fixed_number_of_queries(
    collected, travel, django_assert_max_num_queries
):
    travel("2026-03-06")
    for n in range(3):
        book(statement(collected, msg=f"STMT-{n}", transfer=f"1{n}.00"))
    finance = log_in_staff(Client(), UserFactory(role=roles.FINANCE))
    finance.get(reverse("admin:billing_bankfile_changelist"))  # warm the session and permissions
    for name in ("bankfile", "bankfileentry", "unmatchedtransfer", "returnreasonpolicy"):
        with django_assert_max_num_queries(14):
            assert finance.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200, name


# --- the daily job and the sandbox bank ------------------------------------------------------------


def test_the_daily_job_imports_the_sandbox_banks_files_once_pay_1(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 5))
    Mandate.objects.filter(subscription=subscription).update(account_holder="J. Wanbetaler")
    other = subscribe(delivered_on=date(2026, 1, 5))
    refused = monthly_invoice(subscription, date(2026, 3, 5))
    paid = monthly_invoice(other, date(2026, 3, 5))
    travel("2026-03-03")
    services.collect_direct_debits(actor=JOB)
    travel("2026-03-06")
    results = services.fetch_bank_files(actor=Actor.system("bank_files"))
    assert sorted(r.bank_file.kind for r in results) == ["camt.053.001.02", "pain.002.001.03"]
    assert refreshed(paid).status == InvoiceStatus.PAID
    assert Payment.objects.get(invoice=paid, method="sepa_direct_debit").booked_on == date(2026, 3, 5)
    assert DirectDebitCollection.objects.get(invoice=refused, reason_code="AM04").status == CollectionStatus.REJECTED
    assert services.fetch_bank_files(actor=Actor.system("bank_files"))[0].created is False
    assert BankFile.objects.count() == 2
