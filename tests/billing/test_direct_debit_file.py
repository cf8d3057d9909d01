"""The pain.008.001.02 file: valid against the official XSD, and what the XSD lets through but the EPC
rules (and Dutch banks) do not: characters outside the SEPA Latin set, over-long fields, a fake
creditor identifier, a bad IBAN or BIC. Refused with the field and the rule, nothing left behind."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from billing.direct_debit import epc, pain008

CREDITOR = pain008.Creditor("Flex B.V.", "NL69ZZZ123456780000", "NL91ABNA0417164300", "ABNANL2A")
NS = {"p": pain008.NAMESPACE}


def tx(n: int = 1, **changes) -> pain008.Transaction:
    values = {
        "end_to_end_id": f"F2026-{n:06d}-1",
        "amount": Decimal("45.00"),
        "mandate_id": f"FLEX-APP{n:07d}",
        "mandate_signed_on": date(2026, 1, 4),
        "debtor_name": "Anna de Vries",
        "debtor_iban": "NL91ABNA0417164300",
        "debtor_bic": "ABNANL2A",
        "remittance": f"Flex factuur/invoice F2026-{n:06d}",
    }
    return pain008.Transaction(**(values | changes))


def group(sequence_type: str, transactions: list) -> pain008.PaymentGroup:
    return pain008.PaymentGroup(
        payment_information_id=f"FLEX-DD-20260302-{sequence_type}",
        sequence_type=sequence_type,
        collection_date=date(2026, 3, 2),
        count=len(transactions),
        control_sum=sum((t.amount for t in transactions), Decimal("0.00")),
        transactions=iter(transactions),
    )


def write(tmp_path, groups, creditor=CREDITOR):
    return pain008.write(
        tmp_path / "batch.xml",
        message_id="FLEX-DD-20260302",
        created_at=datetime(2026, 2, 26, 5, 30),
        creditor=creditor,
        groups=groups,
    )


def test_file_with_first_and_recurring_collections_is_valid_against_the_official_xsd(tmp_path):
    written = write(tmp_path, [group("FRST", [tx(1)]), group("RCUR", [tx(2), tx(3, debtor_bic="")])])
    facts = pain008.validate(written.path)
    assert (facts.count, facts.control_sum, facts.sequence_types) == (3, Decimal("135.00"), {"FRST": 1, "RCUR": 2})
    document = etree.parse(str(written.path))
    pain008.schema().assertValid(document)  # the whole document at once, too
    assert document.xpath("//p:PmtInf/p:PmtTpInf/p:SeqTp/text()", namespaces=NS) == ["FRST", "RCUR"]
    assert document.xpath("//p:CdtrSchmeId//p:Othr/p:Id/text()", namespaces=NS) == ["NL69ZZZ123456780000"] * 2
    # A debtor bank not known by BIC is "NOTPROVIDED" (EPC130-08): the IBAN routes it.
    assert document.xpath("//p:DbtrAgt//p:Othr/p:Id/text()", namespaces=NS) == ["NOTPROVIDED"]
    assert written.sha256 and written.size == written.path.stat().st_size


def test_names_with_ampersand_and_accents_are_transliterated_into_the_sepa_set(tmp_path):
    written = write(tmp_path, [group("FRST", [tx(1, debtor_name="Bakker & Zn — Café Ærø, Straße")])])
    text = written.path.read_text()
    assert "<Nm>Bakker + Zn - Cafe AEro, Strasse</Nm>" in text
    assert "&" not in text.split("?>", 1)[1] and "é" not in text


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"debtor_name": "张伟"}, "Dbtr/Nm (F2026-000001-1)", epc.CHARSET_RULE),
        ({"debtor_name": "A" * 71}, "Dbtr/Nm (F2026-000001-1)", epc.LENGTH_RULE),
        ({"remittance": "R" * 141}, "RmtInf/Ustrd (F2026-000001-1)", epc.LENGTH_RULE),
        ({"end_to_end_id": "E" * 36}, "EndToEndId", epc.LENGTH_RULE),
        ({"end_to_end_id": "F2026//1"}, "EndToEndId", epc.IDENTIFIER_RULE),
        ({"end_to_end_id": "F2026 1"}, "EndToEndId", epc.CHARSET_RULE),
        ({"mandate_id": "FLEX-É1"}, "MndtId (F2026-000001-1)", epc.CHARSET_RULE),
        ({"debtor_iban": "NL50BANK1234567890"}, "DbtrAcct/IBAN (F2026-000001-1)", epc.IBAN_RULE),
        ({"debtor_bic": "ABN"}, "DbtrAgt/BIC (F2026-000001-1)", epc.BIC_RULE),
        ({"amount": Decimal("0.00")}, "InstdAmt (F2026-000001-1)", epc.AMOUNT_RULE),
    ],
)
def test_a_value_that_cannot_be_made_valid_is_refused_naming_field_and_rule_and_no_file_is_left(
    tmp_path, changes, field, rule
):
    with pytest.raises(epc.FieldInvalid) as refused:
        write(tmp_path, [group("RCUR", [tx(2), tx(1, **changes)])])
    assert refused.value.field.startswith(field)
    assert refused.value.rule == rule
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_long_names_are_refused_never_cut(tmp_path):
    name = "Van " + "Oranje-Nassau " * 5  # 74 characters
    with pytest.raises(epc.FieldInvalid) as refused:
        write(tmp_path, [group("FRST", [tx(1, debtor_name=name)])])
    assert refused.value.rule == epc.LENGTH_RULE
    assert "70" in refused.value.message and "73" in refused.value.message


@pytest.mark.parametrize("identifier", ["NL00ZZZ000000000000", "NL52ZZZ405365330000", "NL69ZZZ12345678", "XX"])
def test_a_fake_creditor_identifier_is_refused(tmp_path, identifier):
    creditor = pain008.Creditor("Flex B.V.", identifier, "NL91ABNA0417164300", "ABNANL2A")
    with pytest.raises(epc.FieldInvalid) as refused:
        write(tmp_path, [group("FRST", [tx(1)])], creditor=creditor)
    assert (refused.value.field, refused.value.rule) == ("CdtrSchmeId", epc.CREDITOR_ID_RULE)


def test_real_creditor_identifiers_pass_the_mod_97_check():
    # The Dutch Payments Association's example, and ours computed with the same check.
    assert epc.creditor_identifier("NL51ZZZ405365330000") == "NL51ZZZ405365330000"
    assert epc.creditor_identifier_check_digits("NL", "123456780000") == "69"


def test_sepaxml_lets_through_what_ours_refuses(tmp_path):
    """sepaxml's own check (its XSD validation) accepts `&`, `é` and a fake creditor id; ours does not."""
    sepaxml = pytest.importorskip("sepaxml")
    config = {
        "name": "Café & Co",
        "IBAN": "NL91ABNA0417164300",
        "BIC": "ABNANL2A",
        "batch": True,
        "creditor_id": "NL00ZZZ000000000000",
        "currency": "EUR",
    }
    sepa = sepaxml.SepaDD(config, schema="pain.008.001.02", clean=False)
    sepa.add_payment(
        {
            "name": "Bakker & Zn é",
            "IBAN": "NL91ABNA0417164300",
            "BIC": "ABNANL2A",
            "amount": 4500,
            "type": "FRST",
            "collection_date": date(2026, 3, 2),
            "mandate_id": "FLEX-APP0000001",
            "mandate_date": date(2026, 1, 4),
            "description": "Flex factuur/invoice F2026-000001",
        }
    )
    exported = sepa.export(validate=True)  # sepaxml: valid
    assert b"&amp;" in exported and "é".encode() in exported and b"NL00ZZZ000000000000" in exported
    creditor = pain008.Creditor(config["name"], config["creditor_id"], config["IBAN"], config["BIC"])
    with pytest.raises(epc.FieldInvalid) as refused:
        write(tmp_path, [group("FRST", [tx(1, debtor_name="Bakker & Zn é")])], creditor=creditor)
    assert refused.value.rule == epc.CREDITOR_ID_RULE
    written = write(tmp_path, [group("FRST", [tx(1, debtor_name="Bakker & Zn é")])])
    assert "<Nm>Bakker + Zn e</Nm>" in written.path.read_text()


def test_counts_that_do_not_match_the_header_leave_no_file(tmp_path):
    short = group("FRST", [tx(1), tx(2)])
    short.count = 3
    with pytest.raises(pain008.CountMismatchError):
        write(tmp_path, [short])
    assert list(tmp_path.iterdir()) == []


def test_validation_streams_and_catches_a_tampered_file(tmp_path):
    written = write(tmp_path, [group("RCUR", [tx(1), tx(2)])])
    text = written.path.read_text()
    tampered = tmp_path / "tampered.xml"
    tampered.write_text(text.replace("<CtrlSum>90.00</CtrlSum>", "<CtrlSum>95.00</CtrlSum>", 1))
    with pytest.raises(pain008.FileInvalid, match=r"90\.00"):
        pain008.validate(tampered)
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("<PmtMtd>DD</PmtMtd>", "<PmtMtd>TRF</PmtMtd>"))
    with pytest.raises(pain008.FileInvalid, match="PmtMtd"):
        pain008.validate(broken)
