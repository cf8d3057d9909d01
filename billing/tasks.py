"""Celery tasks for billing: parse ids, call one service, nothing else.

Every task is safe to run twice or to crash halfway: the services they call check state under a row
lock and "only once" is a unique constraint. Partner timeouts are retried with backoff.
"""

from celery import shared_task

from billing import emails, services
from flex import clock
from flex.audit.trail import Actor
from flex.partners import PartnerTimeout

PARTNER_RETRY = {"autoretry_for": (PartnerTimeout,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8}


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_invoice_email(invoice_id: int) -> None:
    emails.send_invoice(int(invoice_id))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_invoice_emails(invoice_ids: list[int]) -> int:
    """A chunk's invoices by e-mail (PAY-8), each once: a retry skips those already sent."""
    return sum(emails.send_invoice(int(pk)) for pk in invoice_ids)


@shared_task
def run_monthly_billing() -> int:
    """PAY-1, daily: open today's run and hand its chunks to the workers; the last chunk closes it."""
    from celery import chord

    actor = Actor.system("billing_run")
    run, chunks = services.start_billing_run(clock.today(), actor=actor)
    if not chunks:
        services.finish_billing_run(run.pk, actor=actor)
        return run.pk
    chord(bill_subscriptions.s(run.pk, first, last) for first, last in chunks)(finish_billing_run.si(run.pk))
    return run.pk


@shared_task(acks_late=True, reject_on_worker_lost=True)
def bill_subscriptions(run_id: int, first_id: int, last_id: int) -> int:
    """One chunk of a run. A worker lost halfway leaves nothing (one transaction); the message is
    delivered again (acks_late) and the chunk redone. A chunk that fails is recorded on the run."""
    try:
        return len(services.bill_chunk(int(run_id), int(first_id), int(last_id), actor=Actor.system("billing_run")))
    except Exception:  # logged and recorded on the run by bill_chunk; the chord must still close the run
        return 0


@shared_task
def finish_billing_run(run_id: int) -> None:
    services.finish_billing_run(int(run_id), actor=Actor.system("billing_run"))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_application_decision(application_id: int) -> None:
    emails.send_application_decision(int(application_id))


@shared_task
def request_due_returns() -> int:
    return services.request_due_returns(actor=Actor.system("request_due_returns"))


@shared_task
def run_application_checks(application_id: int) -> None:
    for kind in services.start_checks(int(application_id), actor=Actor.system("checks")):
        run_application_check.delay(int(application_id), kind)


CHECK_RETRIES = 4


@shared_task(bind=True, max_retries=CHECK_RETRIES)
def run_application_check(self, application_id: int, kind: str) -> None:
    actor = Actor.system(f"check:{kind}")
    try:
        services.run_check(int(application_id), kind, actor=actor)
    except PartnerTimeout as timeout:
        if self.request.retries >= CHECK_RETRIES:
            services.mark_check_unavailable(int(application_id), kind, detail=str(timeout), actor=actor)
            return
        if self.request.is_eager:
            # In-process (make run, tests) there is no queue to wait in: try again at once.
            run_application_check.apply(args=(application_id, kind), retries=self.request.retries + 1)
            return
        raise self.retry(exc=timeout, countdown=30 * 2**self.request.retries) from timeout


@shared_task(**PARTNER_RETRY)
def activate_radio_hd(subscription_id: int) -> None:
    services.activate_radio_hd(int(subscription_id), actor=Actor.system("radio_hd"))


@shared_task
def allocate_application(application_id: int) -> None:
    services.allocate_application(int(application_id), actor=Actor.system("allocation"))


@shared_task
def resume_awaiting_stock() -> int:
    return services.resume_awaiting_stock(actor=Actor.system("allocation"))


@shared_task(**PARTNER_RETRY)
def refund_prepayment(application_id: int) -> None:
    services.refund_prepayment(int(application_id), actor=Actor.system("refunds"))


@shared_task(**PARTNER_RETRY)
def deliver_sandbox_payment_webhook(body: str, signature: str) -> None:
    """The sandbox payment provider calling our webhook, through the same code as the HTTP endpoint."""
    services.receive_payment_webhook(body.encode(), signature)


@shared_task
def collect_direct_debits() -> int | None:
    """Daily (PAY-1): the open invoices of SEPA payers whose collection date has come, into their
    batch, its pain.008 file written and handed to the bank."""
    batch = services.collect_direct_debits(actor=Actor.system("direct_debits"))
    return batch.pk if batch else None


@shared_task
def lapse_unused_mandates() -> int:
    """Daily: mandates with no collection for 36 months lapse (SEPA Core rulebook)."""
    return services.lapse_unused_mandates(actor=Actor.system("mandates"))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_recollection_email(collection_id: int) -> None:
    """PAY-8: the new pre-notification of a collection tried again after AM04."""
    emails.send_recollection(int(collection_id))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_collection_stopped_email(collection_id: int, ask_for_mandate: bool) -> None:
    """PAY-8: the bank could not collect; the subscriber is asked to pay (or give a new mandate)."""
    emails.send_collection_stopped(int(collection_id), bool(ask_for_mandate))


@shared_task(**PARTNER_RETRY)
def import_bank_files() -> int:
    """Daily (PAY-1): the bank's new report files (pain.002, camt.054, camt.053), fetched and booked."""
    return len(services.fetch_bank_files(actor=Actor.system("bank_files")))


@shared_task
def charge_cards() -> dict:
    """Daily (PAY-1): card payers' open invoices whose due date or retry day has come are charged."""
    return services.charge_due_invoices(actor=Actor.system("card_charges"))


@shared_task(**PARTNER_RETRY)
def settle_sandbox_charge(payment_id: str) -> None:
    """The sandbox provider's card network answering a charge a moment later (sandbox only)."""
    from billing.adapters.payments import payment_provider

    payment_provider().settle_charge(payment_id)


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_card_charge_stopped_email(charge_id: int) -> None:
    emails.send_card_charge_stopped(int(charge_id))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_card_chargeback_email(charge_id: int) -> None:
    emails.send_card_chargeback(int(charge_id))


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_payment_chargeback_email(payment_id: int) -> None:
    emails.send_payment_chargeback(int(payment_id))


@shared_task
def pay_out_refunds() -> int | None:
    """Daily (PAY-1, WD-2, TERM-4): provider refunds left unsent go out again; requested credit
    transfers go into the day's pain.001 file, handed to the bank."""
    actor = Actor.system("refunds")
    services.send_requested_refunds(actor=actor)
    batch = services.pay_out_credit_transfers(actor=actor)
    return batch.pk if batch else None
