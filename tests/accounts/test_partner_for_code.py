"""One place makes a partner row for a code: on first use, and never a second row or a changed kind."""

import pytest

from accounts.models import Disclosure, Partner, PartnerKind
from accounts.services import log_disclosure, partner_for_code

pytestmark = pytest.mark.django_db


def test_the_first_use_makes_the_row_and_later_uses_meet_it_unchanged():
    warehouse = partner_for_code("wh-north", kind=PartnerKind.WAREHOUSE, name="Warehouse North")
    assert (warehouse.code, warehouse.name, warehouse.kind) == ("wh-north", "Warehouse North", "warehouse")
    again = partner_for_code("wh-north", kind=PartnerKind.CARRIER, name="Someone else")
    assert again.pk == warehouse.pk and (again.kind, again.name) == ("warehouse", "Warehouse North")
    assert partner_for_code("bureau", kind=PartnerKind.CREDIT_BUREAU).name == "bureau"


def test_a_disclosure_is_logged_on_the_partner_row_the_code_names():
    warehouse = partner_for_code("wh-north", kind=PartnerKind.WAREHOUSE, name="Warehouse North")
    disclosure = log_disclosure(
        "wh-north",
        kind=PartnerKind.CARRIER,
        subscriber=None,
        categories=["address"],
        purpose="shipping",
        reference="S1",
    )
    assert disclosure.partner_id == warehouse.pk
    assert Partner.objects.filter(code="wh-north").count() == 1
    assert Disclosure.objects.get().partner.kind == "warehouse"


def test_a_partner_row_the_caller_holds_is_used_only_when_it_has_the_code(django_assert_num_queries):
    warehouse = partner_for_code("wh-north", kind=PartnerKind.WAREHOUSE)
    carrier = partner_for_code("carrier", kind=PartnerKind.CARRIER)
    disclose = lambda partner: log_disclosure(  # noqa: E731
        "wh-north",
        kind=PartnerKind.WAREHOUSE,
        subscriber=None,
        categories=["address"],
        purpose="shipping",
        reference="S1",
        partner=partner,
    )
    with django_assert_num_queries(1):  # the disclosure itself, no lookup of the partner
        held = disclose(warehouse)
    other = disclose(carrier)
    assert held.partner_id == other.partner_id == warehouse.pk
