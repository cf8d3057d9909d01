"""Celery tasks for billing: parse ids, call one service, nothing else."""

from celery import shared_task

from billing import emails, services
from flex.audit.trail import Actor


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_invoice_email(invoice_id: int) -> None:
    emails.send_invoice(int(invoice_id))


@shared_task
def request_due_returns() -> int:
    return services.request_due_returns(actor=Actor.system("request_due_returns"))
