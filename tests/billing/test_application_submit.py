"""REG-7 (terms art. 2.3.1-2.3.4): an application is submitted only when every precondition holds. Four
conditions share the rule id, so each test names the condition (the refused field) that said no."""

import pytest

from billing import services
from billing.management.demo_applications import pay_prepayment, verify_identity
from billing.models import Application, ApplicationStatus
from flex.refusals import Refused
from tests.signup import APPLICANT, draft


def refusal_of_submit(application):
    with pytest.raises(Refused) as refused:
        services.submit_application(application.pk, actor=APPLICANT)
    return refused.value.refusal.rule, refused.value.refusal.field


def with_mandate(signup):
    application = draft(signup)
    services.choose_payment(
        application.pk,
        method="sepa_direct_debit",
        iban="NL91ABNA0417164300",
        account_holder="S. Jansen",
        accepts_terms=True,
        ip_address=None,
        actor=APPLICANT,
    )
    return application


def test_reg_7_submit_is_refused_while_the_prepayment_is_unpaid(signup):
    application = with_mandate(signup)
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    assert refusal_of_submit(application) == ("REG-7", "prepayment")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert not application.checks.exists()


def test_reg_7_submit_is_refused_before_the_identity_is_verified(signup):
    application = with_mandate(signup)
    assert refusal_of_submit(application) == ("REG-7", "identity")
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.DRAFT


def test_reg_7_submit_goes_through_once_everything_is_in_place(signup):
    application = with_mandate(signup)
    subscriber = application.subscriber
    verify_identity(application, name=subscriber.display_name, date_of_birth=subscriber.date_of_birth)
    pay_prepayment(application, method="ideal")
    services.submit_application(application.pk, actor=APPLICANT)
    assert Application.objects.get(pk=application.pk).status != ApplicationStatus.DRAFT
