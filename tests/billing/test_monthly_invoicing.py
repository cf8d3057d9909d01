"""The monthly run (PAY-1, PAY-2, PAY-6, PAY-8, TERM-1): periods, prices on the period's first day,
VAT per line, one invoice per period, numbers without gaps, documents that never change."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import DatabaseError, transaction

from accounts.models import Subscriber
from billing import rules, services
from billing.models import BillingRun, BillingSchedule, Invoice, InvoiceKind, InvoiceLine
from devices import prices
from flex.audit.models import AuditEvent
from flex.audit.trail import Actor
from flex.money import format_eur
from tests.factories import PlanFactory, ProductFactory, subscribe

pytestmark = pytest.mark.django_db
JOB = Actor.system("billing_run")


def number_sequence(invoices) -> list[int]:
    return sorted(int(i.number.split("-")[1]) for i in invoices)


# --- periods (pure rules) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "number", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 1, 31)),
        (date(2026, 1, 31), 2, date(2026, 2, 28)),  # clamped to February's end
        (date(2027, 11, 30), 4, date(2028, 2, 29)),  # a leap year's February
        (date(2026, 1, 31), 3, date(2026, 3, 31)),  # counted from the start date, not from 28 February
        (date(2026, 3, 15), 13, date(2027, 3, 15)),
    ],
)
def test_periods_run_from_the_start_date_the_same_day_each_month_clamped_pay_1(start, number, expected):
    assert rules.period_start(start, number) == expected


def test_a_period_ends_the_day_before_the_next_one_starts_pay_1():
    assert rules.period_end(date(2026, 1, 31), 1) == date(2026, 2, 27)
    assert rules.period_end(date(2026, 1, 31), 2) == date(2026, 3, 30)
    assert rules.period_number(date(2026, 1, 31), date(2026, 3, 30)) == 2
    assert rules.period_number(date(2026, 1, 31), date(2026, 3, 31)) == 3


def test_a_period_is_invoiced_from_the_lead_time_before_it_starts_not_a_day_earlier_pay_1():
    start, until = date(2026, 1, 31), date(2026, 4, 30)  # period 4: the prepayment covers 1-3
    assert rules.periods_to_invoice(start, until, today=date(2026, 4, 15), lead_days=14) == []
    due = rules.periods_to_invoice(start, until, today=date(2026, 4, 16), lead_days=14)
    assert [(p.number, p.start, p.end) for p in due] == [(4, date(2026, 4, 30), date(2026, 5, 30))]


def test_after_missed_runs_every_period_due_is_invoiced_oldest_first_pay_1():
    due = rules.periods_to_invoice(date(2026, 6, 10), date(2026, 9, 10), today=date(2026, 12, 3), lead_days=14)
    assert [p.start for p in due] == [date(2026, 9, 10), date(2026, 10, 10), date(2026, 11, 10), date(2026, 12, 10)]


# --- the run -------------------------------------------------------------------------------------


def test_monthly_invoicing_starts_with_period_4_the_prepayment_covers_1_to_3_term_1(travel):
    subscription = subscribe(plan=PlanFactory(monthly_fee=Decimal("45.00")), delivered_on=date(2026, 1, 31))
    with travel("2026-04-15"):  # 15 days before period 4
        assert services.run_monthly_billing(actor=JOB).invoices_issued == 0
    with travel("2026-04-16"):
        run = services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind=InvoiceKind.MONTHLY)
    assert (run.invoices_issued, run.gross_total, run.status) == (1, Decimal("45.00"), "finished")
    assert (invoice.period_start, invoice.period_end) == (date(2026, 4, 30), date(2026, 5, 30))
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 4, 16), date(2026, 4, 30))  # PAY-2: 14 days
    assert BillingSchedule.objects.get(subscription=subscription).invoiced_until == date(2026, 5, 31)


def test_an_active_subscriber_since_june_is_invoiced_every_period_missed_pay_1(travel):
    subscription = subscribe(delivered_on=date(2026, 6, 10))
    with travel("2026-12-03"):
        services.run_monthly_billing(actor=JOB)
    periods = list(subscription.invoices.filter(kind="monthly").order_by("period_start").values_list("period_start"))
    assert periods == [(date(2026, 9, 10),), (date(2026, 10, 10),), (date(2026, 11, 10),), (date(2026, 12, 10),)]


def test_the_invoice_names_what_art_35a_asks_as_it_was_at_issue(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    subscriber = subscription.subscriber
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind="monthly")
    address = subscriber.addresses.get()
    assert invoice.customer_name == subscriber.display_name
    assert address.postcode in invoice.customer_address and address.street in invoice.customer_address
    assert invoice.issuer.vat_number and invoice.issuer.name and invoice.issuer.address
    subscriber.first_name = "Anders"
    subscriber.save()
    invoice.refresh_from_db()
    assert invoice.customer_name != "Anders " + subscriber.last_name  # the document keeps the name at issue


def test_lines_per_plan_and_add_on_with_vat_rounded_once_per_line(travel):
    addons = [ProductFactory(is_addon_eligible=True, price__addon_monthly_fee=Decimal("10.00")) for _ in range(2)]
    plan = PlanFactory(monthly_fee=Decimal("10.00"))
    subscription = subscribe(plan=plan, addons=addons, delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind="monthly")
    lines = list(invoice.lines.order_by("id"))
    assert len(lines) == 3 and plan.name in lines[0].description
    assert all((line.net, line.vat, line.vat_rate) == (Decimal("8.26"), Decimal("1.74"), 21) for line in lines)
    # Per line: 3 × 8.26 = 24.78 net; rounding the total instead would give 24.79.
    assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (
        Decimal("24.78"),
        Decimal("5.22"),
        Decimal("30.00"),
    )


def test_an_add_on_price_change_counts_from_the_period_that_starts_on_its_first_day_pay_6(travel):
    addon = ProductFactory(is_addon_eligible=True)  # € 9.00 a month
    subscription = subscribe(addons=[addon], delivered_on=date(2026, 1, 1))  # periods start on the 1st
    staff = Actor.system("finance")
    with travel("2026-02-20"):
        prices.add_price(
            addon.pk,
            valid_from=date(2026, 4, 1),  # the day period 4 starts
            webshop_price=Decimal("399.00"),
            recommended_retail_price=Decimal("399.00"),
            addon_monthly_fee=Decimal("11.00"),
            actor=staff,
        )
    with travel("2026-03-18"):
        services.run_monthly_billing(actor=JOB)
    addon_line = subscription.invoices.get(kind="monthly").lines.exclude(unit_price=subscription.plan.monthly_fee)
    assert addon_line.get().unit_price == Decimal("11.00")


def test_a_price_from_the_day_after_the_period_start_waits_for_the_next_period_pay_6(travel):
    addon = ProductFactory(is_addon_eligible=True)  # € 9.00 a month
    subscription = subscribe(addons=[addon], delivered_on=date(2025, 12, 31))  # period 4 starts 31 March
    with travel("2026-02-20"):
        prices.add_price(
            addon.pk,
            valid_from=date(2026, 4, 1),
            webshop_price=Decimal("399.00"),
            recommended_retail_price=Decimal("399.00"),
            addon_monthly_fee=Decimal("11.00"),
            actor=Actor.system("finance"),
        )
    with travel("2026-04-16"):  # periods 4 (31 March) and 5 (30 April) both due
        services.run_monthly_billing(actor=JOB)
    fees = [
        invoice.lines.exclude(unit_price=subscription.plan.monthly_fee).get().unit_price
        for invoice in subscription.invoices.filter(kind="monthly").order_by("period_start")
    ]
    assert fees == [Decimal("9.00"), Decimal("11.00")]


def test_only_billable_subscriptions_are_invoiced(travel):
    pending = subscribe()  # not delivered: no period has started
    with travel("2027-06-01"):
        run = services.run_monthly_billing(actor=JOB)
    assert run.subscriptions_due == 0
    assert not pending.invoices.filter(kind="monthly").exists()


def test_running_the_day_again_issues_nothing_twice_pay_1(travel):
    subscribe(delivered_on=date(2026, 1, 31))
    subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        first = services.run_monthly_billing(actor=JOB)
        again = services.run_monthly_billing(actor=JOB)
    assert (first.invoices_issued, again.invoices_issued, again.subscriptions_due) == (2, 0, 0)
    assert Invoice.objects.filter(kind="monthly").count() == 2


def test_the_database_refuses_a_second_invoice_for_a_period_pay_1(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind="monthly")
    BillingSchedule.objects.filter(subscription=subscription).update(invoiced_until=date(2026, 4, 30))  # not moved
    run = services.start_billing_run(date(2026, 4, 16), actor=JOB)[0]
    with travel("2026-04-16"), pytest.raises(DatabaseError, match="one_invoice_per_period"):
        services.bill_chunk(run.pk, subscription.pk, subscription.pk, actor=JOB)
    assert subscription.invoices.filter(kind="monthly").get() == invoice


@pytest.mark.parametrize(("language", "words"), [("nl", "incasso"), ("en", "direct debit")])
def test_the_invoice_e_mail_is_the_sepa_pre_notification_in_the_subscribers_language_pay_8(
    travel, settings, django_capture_on_commit_callbacks, language, words
):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    Subscriber.objects.filter(pk=subscription.subscriber_id).update(language=language)
    with travel("2026-04-16"), django_capture_on_commit_callbacks(execute=True):
        services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind="monthly")
    message = next(m for m in mail.outbox if invoice.number in m.subject)
    assert message.to == [subscription.subscriber.email]
    # The amount and the collection date 14 days ahead, with the creditor identifier (SEPA Core).
    assert format_eur(invoice.gross_total) in message.body and "30-04-2026" in message.body
    assert settings.FLEX_CREDITOR["identifier"] in message.body and words in message.body.lower()
    assert invoice.lines.get().description in message.body
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is not None  # sent once


def test_an_issued_invoice_never_changes_the_database_refuses(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
    invoice = subscription.invoices.get(kind="monthly")
    for change in ({"gross_total": Decimal("1.00"), "net_total": Decimal("1.00"), "vat_total": 0}, {"number": "X"}):
        with pytest.raises(DatabaseError, match="Cannot update"), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(**change)
    with pytest.raises(DatabaseError, match="Cannot update"), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(gross=Decimal("1.00"))
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")  # its state may move on


def test_a_credit_note_points_at_the_invoice_it_corrects(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        services.run_monthly_billing(actor=JOB)
        invoice = subscription.invoices.get(kind="monthly")
        credit = services.issue_credit_note(invoice)
    assert credit.corrects == invoice and credit.gross_total == -invoice.gross_total
    assert credit.customer_name == invoice.customer_name


def test_numbers_are_consecutive_across_chunks_and_the_run_is_audited(travel, settings):
    settings.FLEX = {**settings.FLEX, "BILLING_CHUNK_SIZE": 2}
    for _ in range(5):
        subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        run = services.run_monthly_billing(actor=JOB)
    monthly = Invoice.objects.filter(kind="monthly")
    assert (run.chunks, run.chunks_done, run.invoices_issued) == (3, 3, 5)
    everything = number_sequence(Invoice.objects.filter(issue_date__year=2026))
    assert everything == list(range(everything[0], everything[0] + len(everything)))
    assert AuditEvent.objects.filter(action="issue_invoices", rule="PAY-1").count() == 3
    assert monthly.count() == 5


def test_a_failing_chunk_is_recorded_and_a_rerun_completes_with_no_gap_and_no_duplicate(travel, settings, monkeypatch):
    settings.FLEX = {**settings.FLEX, "BILLING_CHUNK_SIZE": 2}
    for _ in range(5):
        subscribe(delivered_on=date(2026, 1, 31))
    real = services.invoicing._advance
    calls = []

    def crash_in_the_second_chunk(drafts):
        calls.append(1)
        real(drafts)
        if len(calls) == 2:
            raise RuntimeError("worker lost")  # after its invoices were written, before its commit

    monkeypatch.setattr(services.invoicing, "_advance", crash_in_the_second_chunk)
    with travel("2026-04-16"):
        broken = services.run_monthly_billing(actor=JOB)
    assert (broken.status, broken.invoices_issued, broken.chunks_done) == ("finished_with_errors", 3, 2)
    assert "worker lost" in broken.errors[0]["error"]
    monkeypatch.setattr(services.invoicing, "_advance", real)
    with travel("2026-04-17"):
        rerun = services.run_monthly_billing(actor=JOB)
    assert (rerun.status, rerun.invoices_issued) == ("finished", 2)
    monthly = Invoice.objects.filter(kind="monthly")
    assert monthly.count() == 5 and monthly.values("subscription").distinct().count() == 5
    everything = number_sequence(Invoice.objects.filter(issue_date__year=2026))
    assert everything == list(range(everything[0], everything[0] + len(everything)))


def test_the_scheduled_job_fans_the_chunks_out_and_closes_the_run(travel, settings):
    from billing import tasks

    settings.FLEX = {**settings.FLEX, "BILLING_CHUNK_SIZE": 1}
    subscribe(delivered_on=date(2026, 1, 31))
    subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-16"):
        run_id = tasks.run_monthly_billing.apply().get()
    run = BillingRun.objects.get(pk=run_id)
    assert (run.status, run.chunks, run.chunks_done, run.invoices_issued) == ("finished", 2, 2, 2)
    assert run.finished_at is not None and run.duration >= timedelta(0)


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_same_chunk_issue_each_invoice_once_pay_1(travel, monkeypatch):
    import threading

    from django.db import connection

    for _ in range(3):
        subscribe(delivered_on=date(2026, 1, 31))
    travel("2026-04-16")
    run, [(first_id, last_id)] = services.start_billing_run(date(2026, 4, 16), actor=JOB)
    real_write = services.invoicing._write
    written, may_commit = threading.Event(), threading.Event()

    def write_then_wait(drafts, **kwargs):
        real_write(drafts, **kwargs)
        written.set()  # the first worker holds its schedule rows, uncommitted
        assert may_commit.wait(10)

    monkeypatch.setattr(services.invoicing, "_write", write_then_wait)
    results, errors = {}, []

    def first_worker():
        try:
            results["first"] = services.bill_chunk(run.pk, first_id, last_id, actor=Actor.system("worker-1"))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert written.wait(10)
    monkeypatch.setattr(services.invoicing, "_write", real_write)
    results["second"] = services.bill_chunk(run.pk, first_id, last_id, actor=Actor.system("worker-2"))
    may_commit.set()
    worker.join(10)

    assert errors == []
    assert (len(results["first"]), results["second"]) == (3, [])  # the second skipped the locked rows
    monthly = Invoice.objects.filter(kind="monthly")
    assert monthly.count() == 3 and monthly.values("subscription").distinct().count() == 3
    everything = number_sequence(Invoice.objects.filter(issue_date__year=2026))
    assert everything == list(range(everything[0], everything[0] + len(everything)))


def test_fees_run_after_a_termination_by_the_company_until_the_units_are_back_term_7(travel):
    subscription = subscribe(delivered_on=date(2026, 1, 31))
    with travel("2026-04-10"):
        services.terminate_immediately(
            subscription.pk, ground="non_payment", actor=Actor.system("finance"), reason="unpaid invoices"
        )
    with travel("2026-04-16"):  # TERM-7 / TERM-3: fees are charged until the units come back (TERM-4 refunds later)
        services.run_monthly_billing(actor=JOB)
    assert subscription.invoices.filter(kind="monthly", period_start=date(2026, 4, 30)).exists()
