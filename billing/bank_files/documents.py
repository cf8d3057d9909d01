"""Writing the bank's files with lxml: pain.002.001.03 status reports and camt.053.001.02 /
camt.054.001.02 statements and notifications, as a Dutch bank sends them (see `iso20022` for the
versions and guidelines). The sandbox bank writes its decided outcomes this way, so the daily import
reads real documents; tests use it for files of their own.

Bank transaction codes (ISO 20022 external code list "BankTransactionCode", domain PMNT):
IDDT/ESDD the credit of SEPA Core collections, IDDT/UPDD a collection returned or refunded (an unpaid
direct debit), RCDT/ESCT a SEPA credit transfer received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from billing.bank_files.iso20022 import _PREFIX, CAMT053, CAMT054, PAIN002

SETTLED_COLLECTIONS = ("PMNT", "IDDT", "ESDD")
RETURNED_COLLECTION = ("PMNT", "IDDT", "UPDD")
RECEIVED_TRANSFER = ("PMNT", "RCDT", "ESCT")


@dataclass(frozen=True)
class Rejected:
    end_to_end_id: str
    amount: Decimal
    reason_code: str
    payment_information_id: str = ""
    collection_date: date | None = None


@dataclass(frozen=True)
class BookingTransaction:
    end_to_end_id: str = ""
    amount: Decimal | None = None
    bank_reference: str = ""
    return_reason_code: str = ""
    name: str = ""
    iban: str = ""
    remittance: str = ""
    structured_reference: str = ""


@dataclass(frozen=True)
class Booking:
    amount: Decimal
    direction: str  # CRDT | DBIT
    booking_date: date
    bank_reference: str
    family: tuple[str, str, str]
    batch_message_id: str = ""
    batch_payment_information_id: str = ""
    transactions: list[BookingTransaction] = field(default_factory=list)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


class _Writer:
    def __init__(self, version: str) -> None:
        self.ns = _PREFIX + version
        self.root = etree.Element(f"{{{self.ns}}}Document", nsmap={None: self.ns})

    def add(self, parent, name: str, text: str | None = None, **attributes):
        element = etree.SubElement(parent, f"{{{self.ns}}}{name}", **attributes)
        if text is not None:
            element.text = text
        return element

    def path(self, parent, dotted: str, text: str | None = None, **attributes):
        *parents, last = dotted.split("/")
        for name in parents:
            parent = self.add(parent, name)
        return self.add(parent, last, text, **attributes)

    def money(self, parent, name: str, value: Decimal):
        return self.add(parent, name, _amount(value), Ccy="EUR")

    def bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def status_report(
    *,
    message_id: str,
    created_at: datetime,
    original_message_id: str,
    rejected: list[Rejected],
    group_status: str = "PART",
    group_reason_code: str = "",
) -> bytes:
    """A pain.002.001.03 on a pain.008 file: the whole file rejected (`group_status` RJCT with its reason)
    or the collections in `rejected`, each with its reason code."""
    w = _Writer(PAIN002)
    report = w.add(w.root, "CstmrPmtStsRpt")
    header = w.add(report, "GrpHdr")
    w.add(header, "MsgId", message_id)
    w.add(header, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    group = w.add(report, "OrgnlGrpInfAndSts")
    w.add(group, "OrgnlMsgId", original_message_id)
    w.add(group, "OrgnlMsgNmId", "pain.008.001.02")
    w.add(group, "GrpSts", group_status)
    if group_reason_code:
        w.path(w.add(group, "StsRsnInf"), "Rsn/Cd", group_reason_code)
    blocks: dict[str, list[Rejected]] = {}
    for line in rejected:
        blocks.setdefault(line.payment_information_id or f"{original_message_id}-RCUR", []).append(line)
    for payment_information_id, lines in blocks.items():
        block = w.add(report, "OrgnlPmtInfAndSts")
        w.add(block, "OrgnlPmtInfId", payment_information_id)
        for line in lines:
            tx = w.add(block, "TxInfAndSts")
            w.add(tx, "OrgnlEndToEndId", line.end_to_end_id)
            w.add(tx, "TxSts", "RJCT")
            w.path(w.add(tx, "StsRsnInf"), "Rsn/Cd", line.reason_code)
            original = w.add(tx, "OrgnlTxRef")
            w.money(w.add(original, "Amt"), "InstdAmt", line.amount)
            if line.collection_date:
                w.add(original, "ReqdColltnDt", line.collection_date.isoformat())
    return w.bytes()


def _booking(w: _Writer, parent, booking: Booking) -> None:
    entry = w.add(parent, "Ntry")
    w.money(entry, "Amt", booking.amount)
    w.add(entry, "CdtDbtInd", booking.direction)
    w.add(entry, "Sts", "BOOK")
    w.add(w.add(entry, "BookgDt"), "Dt", booking.booking_date.isoformat())
    w.add(w.add(entry, "ValDt"), "Dt", booking.booking_date.isoformat())
    if booking.bank_reference:
        w.add(entry, "AcctSvcrRef", booking.bank_reference)
    domain = w.path(entry, "BkTxCd/Domn")
    w.add(domain, "Cd", booking.family[0])
    family = w.add(domain, "Fmly")
    w.add(family, "Cd", booking.family[1])
    w.add(family, "SubFmlyCd", booking.family[2])
    if not booking.transactions and not booking.batch_payment_information_id:
        return
    details = w.add(entry, "NtryDtls")
    if booking.batch_payment_information_id or booking.batch_message_id:
        batch = w.add(details, "Btch")
        if booking.batch_message_id:
            w.add(batch, "MsgId", booking.batch_message_id)
        if booking.batch_payment_information_id:
            w.add(batch, "PmtInfId", booking.batch_payment_information_id)
        w.add(batch, "NbOfTxs", str(len(booking.transactions) or 1))
        w.money(batch, "TtlAmt", booking.amount)
        w.add(batch, "CdtDbtInd", booking.direction)
    for tx in booking.transactions:
        details_tx = w.add(details, "TxDtls")
        refs = w.add(details_tx, "Refs")
        if tx.bank_reference:
            w.add(refs, "AcctSvcrRef", tx.bank_reference)
        w.add(refs, "EndToEndId", tx.end_to_end_id or "NOTPROVIDED")
        if tx.amount is not None:
            w.money(w.path(details_tx, "AmtDtls/TxAmt"), "Amt", tx.amount)
        if tx.name or tx.iban:
            parties = w.add(details_tx, "RltdPties")
            party = "Dbtr"
            if tx.name:
                w.add(w.add(parties, party), "Nm", tx.name)
            if tx.iban:
                w.path(parties, f"{party}Acct/Id/IBAN", tx.iban)
        if tx.remittance or tx.structured_reference:
            remittance = w.add(details_tx, "RmtInf")
            if tx.remittance:
                w.add(remittance, "Ustrd", tx.remittance[:140])
            if tx.structured_reference:
                reference = w.path(remittance, "Strd/CdtrRefInf")
                w.add(reference, "Ref", tx.structured_reference)
        if tx.return_reason_code:
            w.path(w.add(details_tx, "RtrInf"), "Rsn/Cd", tx.return_reason_code)


def statement(
    version: str,
    *,
    message_id: str,
    created_at: datetime,
    account_iban: str,
    bookings: list[Booking],
    day: date,
    opening_balance: Decimal = Decimal("0"),
) -> bytes:
    """A camt.053.001.02 day statement (with opening and closing balance) or a camt.054.001.02
    debit/credit notification of `bookings` on the creditor's account."""
    assert version in (CAMT053, CAMT054)
    w = _Writer(version)
    message = w.add(w.root, "BkToCstmrStmt" if version == CAMT053 else "BkToCstmrDbtCdtNtfctn")
    header = w.add(message, "GrpHdr")
    w.add(header, "MsgId", message_id)
    w.add(header, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    report = w.add(message, "Stmt" if version == CAMT053 else "Ntfctn")
    w.add(report, "Id", message_id)
    w.add(report, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    account = w.add(report, "Acct")
    w.path(account, "Id/IBAN", account_iban)
    w.add(account, "Ccy", "EUR")
    if version == CAMT053:
        closing = opening_balance + sum(
            (b.amount if b.direction == "CRDT" else -b.amount for b in bookings), Decimal("0")
        )
        for code, value in (("OPBD", opening_balance), ("CLBD", closing)):
            balance = w.add(report, "Bal")
            w.path(balance, "Tp/CdOrPrtry/Cd", code)
            w.money(balance, "Amt", abs(value))
            w.add(balance, "CdtDbtInd", "CRDT" if value >= 0 else "DBIT")
            w.add(w.add(balance, "Dt"), "Dt", day.isoformat())
    for booking in bookings:
        _booking(w, report, booking)
    return w.bytes()
