"""Reading the bank's files: pain.002.001.03, camt.054.001.02 and camt.053.001.02.

These are the versions Dutch banks send for SEPA direct debit: the Dutch Payments Association
(Betaalvereniging Nederland) "Implementation Guidelines for the Netherlands" — "XML message for SEPA
Direct Debit Initiation" (v7.0, 2013: pain.008.001.02 in, pain.002.001.03 status report out) and "XML
message for Bank-to-Customer Statement / Debit-Credit Notification" (camt.053.001.02 / camt.054.001.02,
the guideline of the Dutch banks' reporting, 2013-2014); ABN AMRO, ING and Rabobank still deliver these.

Checks, before anything is booked (a file that fails is refused naming the line and the element):

- the XML itself: well-formed, no DTD or entities (lxml without entity resolution or network);
- camt.053 / camt.054: the official ISO 20022 XSDs in `schemas/`, as published (see their first lines
  for where the copies come from);
- pain.002.001.03: no copy of the official XSD was to be had offline (see docs/direct-debit.md, "Bank
  files in"), so it is checked by the strict structural reader below (`PAIN002`): every element it
  meets must be one the ISO message definition allows at that place, in order, as often as allowed;
  the parts Flex reads are typed (identifiers Max35Text, dates, ISO status codes, amounts as
  ActiveOrHistoricCurrencyAndAmount: a decimal of at most 18 digits, 5 after the point, not negative,
  with a three-letter currency). Subtrees Flex does not read (parties, agents, charges) are checked for
  their place only. It is not the official XSD, and says so.

Whatever passes is turned into plain values (`StatusReport`, `Statement`) with the line of each element,
so that every line Flex books can say where in the file it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

PAIN002 = "pain.002.001.03"
CAMT053 = "camt.053.001.02"
CAMT054 = "camt.054.001.02"
VERSIONS = (PAIN002, CAMT054, CAMT053)
SCHEMAS = Path(__file__).with_name("schemas")
_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


class FileInvalidError(ValueError):
    """The file is not a valid bank file; names the line and the element."""

    def __init__(self, message: str, *, line: int | None = None, element: str = "") -> None:
        self.line, self.element, self.message = line, element, message
        where = ", ".join(part for part in (f"line {line}" if line else "", f"<{element}>" if element else "") if part)
        super().__init__(f"{where}: {message}" if where else message)


# --- plain values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionStatus:
    """One collection's status in a pain.002 (OrgnlPmtInfAndSts/TxInfAndSts)."""

    line: int
    payment_information_id: str
    end_to_end_id: str
    status: str
    reason_code: str
    amount: Decimal | None
    collection_date: date | None


@dataclass(frozen=True)
class StatusReport:
    message_id: str
    created_at: datetime
    original_message_id: str
    group_status: str
    group_reason_code: str
    group_line: int
    transactions: list[TransactionStatus]


@dataclass(frozen=True)
class EntryTransaction:
    """One transaction of a booking (Ntry/NtryDtls/TxDtls)."""

    line: int
    end_to_end_id: str
    amount: Decimal | None
    bank_reference: str
    return_reason_code: str
    counterparty_name: str
    counterparty_iban: str
    remittance: str
    structured_reference: str


@dataclass(frozen=True)
class Entry:
    """One booking on the account (Ntry)."""

    line: int
    amount: Decimal
    direction: str  # CRDT | DBIT
    status: str  # BOOK | PDNG | INFO
    booking_date: date | None
    value_date: date | None
    bank_reference: str
    reversal: bool
    family: tuple[str, str, str]  # ISO bank transaction code: domain, family, sub-family
    batch_message_id: str
    batch_payment_information_id: str
    batch_count: int | None
    transactions: list[EntryTransaction]


@dataclass(frozen=True)
class Statement:
    """A camt.053 statement or a camt.054 notification: the account's bookings."""

    kind: str
    message_id: str
    created_at: datetime
    account_iban: str
    entries: list[Entry] = field(default_factory=list)


# --- the strict structural reader of pain.002.001.03 -----------------------------------------------


class _Type:
    """A simple type's check of an element's text; raises FileInvalidError."""

    def __init__(self, name: str, check) -> None:
        self.name, self.check = name, check


def _max_text(length: int) -> _Type:
    def check(text: str) -> None:
        if not 1 <= len(text) <= length:
            raise ValueError(f"must be 1 to {length} characters (Max{length}Text)")

    return _Type(f"Max{length}Text", check)


def _code(*allowed: str) -> _Type:
    def check(text: str) -> None:
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")

    return _Type("code", check)


def _pattern(regex: str, what: str) -> _Type:
    compiled = re.compile(regex)

    def check(text: str) -> None:
        if not compiled.fullmatch(text):
            raise ValueError(f"{text!r} is not {what}")

    return _Type(what, check)


def _iso_date(text: str) -> None:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (ISODate, YYYY-MM-DD)") from None


def _iso_datetime(text: str) -> None:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (ISODateTime)") from None


AMOUNT_RE = re.compile(r"\d{1,13}(\.\d{1,5})?")


def _amount_text(text: str) -> None:
    # ActiveOrHistoricCurrencyAndAmount: decimal, totalDigits 18, fractionDigits 5, minInclusive 0.
    if not AMOUNT_RE.fullmatch(text) or len(text.replace(".", "")) > 18:
        raise ValueError(f"{text!r} is not an amount (a decimal ≥ 0 with at most 5 decimals)")


TEXT35, TEXT105, TEXT140 = _max_text(35), _max_text(105), _max_text(140)
DATE, DATETIME = _Type("ISODate", _iso_date), _Type("ISODateTime", _iso_datetime)
NUMBER = _pattern(r"[0-9]{1,15}", "a number of transactions (Max15NumericText)")
DECIMAL = _pattern(r"\d{1,18}(\.\d{1,17})?", "a decimal number")
REASON = _pattern(r"[A-Z0-9]{1,4}", "an ISO 20022 external status reason code (1 to 4 letters/digits)")
GROUP_STATUS = _code("ACTC", "RCVD", "PART", "RJCT", "PDNG", "ACCP", "ACSP", "ACSC", "ACWC")
TX_STATUS = _code("ACTC", "RJCT", "PDNG", "ACCP", "ACSP", "ACSC", "ACWC")
AMOUNT = _Type("ActiveOrHistoricCurrencyAndAmount", _amount_text)
ANY = object()  # a subtree Flex does not read: checked for its place only


@dataclass(frozen=True)
class _Child:
    name: str
    min: int
    max: int | None  # None: unbounded
    spec: object  # _Type, dict of children (a sequence), ("choice", [...]) or ANY


def _seq(*children: _Child) -> list[_Child]:
    return list(children)


def _c(name, low, high, spec):
    return _Child(name, low, high, spec)


_N = None
_REASON_INFO = _seq(
    _c("Orgtr", 0, 1, ANY),
    _c("Rsn", 0, 1, ("choice", _seq(_c("Cd", 0, 1, REASON), _c("Prtry", 0, 1, TEXT35)))),
    _c("AddtlInf", 0, _N, TEXT105),
)
_ORIGINAL_TX = _seq(
    _c("IntrBkSttlmAmt", 0, 1, AMOUNT),
    _c("Amt", 0, 1, ("choice", _seq(_c("InstdAmt", 0, 1, AMOUNT), _c("EqvtAmt", 0, 1, ANY)))),
    _c("IntrBkSttlmDt", 0, 1, DATE),
    _c("ReqdColltnDt", 0, 1, DATE),
    _c("ReqdExctnDt", 0, 1, DATE),
    *[
        _c(name, 0, 1, ANY)
        for name in (
            "CdtrSchmeId",
            "SttlmInf",
            "PmtTpInf",
            "PmtMtd",
            "MndtRltdInf",
            "RmtInf",
            "UltmtDbtr",
            "Dbtr",
            "DbtrAcct",
            "DbtrAgt",
            "DbtrAgtAcct",
            "CdtrAgt",
            "CdtrAgtAcct",
            "Cdtr",
            "CdtrAcct",
            "UltmtCdtr",
        )
    ],
)
_TX_INFO = _seq(
    _c("StsId", 0, 1, TEXT35),
    _c("OrgnlInstrId", 0, 1, TEXT35),
    _c("OrgnlEndToEndId", 0, 1, TEXT35),
    _c("TxSts", 0, 1, TX_STATUS),
    _c("StsRsnInf", 0, _N, _REASON_INFO),
    _c("ChrgsInf", 0, _N, ANY),
    _c("AccptncDtTm", 0, 1, DATETIME),
    _c("AcctSvcrRef", 0, 1, TEXT35),
    _c("ClrSysRef", 0, 1, TEXT35),
    _c("OrgnlTxRef", 0, 1, _ORIGINAL_TX),
)
PAIN002_STRUCTURE = _seq(
    _c(
        "CstmrPmtStsRpt",
        1,
        1,
        _seq(
            _c(
                "GrpHdr",
                1,
                1,
                _seq(
                    _c("MsgId", 1, 1, TEXT35),
                    _c("CreDtTm", 1, 1, DATETIME),
                    _c("InitgPty", 0, 1, ANY),
                    _c("FwdgAgt", 0, 1, ANY),
                    _c("DbtrAgt", 0, 1, ANY),
                    _c("CdtrAgt", 0, 1, ANY),
                ),
            ),
            _c(
                "OrgnlGrpInfAndSts",
                1,
                1,
                _seq(
                    _c("OrgnlMsgId", 1, 1, TEXT35),
                    _c("OrgnlMsgNmId", 1, 1, TEXT35),
                    _c("OrgnlCreDtTm", 0, 1, DATETIME),
                    _c("OrgnlNbOfTxs", 0, 1, NUMBER),
                    _c("OrgnlCtrlSum", 0, 1, DECIMAL),
                    _c("GrpSts", 0, 1, GROUP_STATUS),
                    _c("StsRsnInf", 0, _N, _REASON_INFO),
                    _c("NbOfTxsPerSts", 0, _N, ANY),
                ),
            ),
            _c(
                "OrgnlPmtInfAndSts",
                0,
                _N,
                _seq(
                    _c("OrgnlPmtInfId", 1, 1, TEXT35),
                    _c("OrgnlNbOfTxs", 0, 1, NUMBER),
                    _c("OrgnlCtrlSum", 0, 1, DECIMAL),
                    _c("PmtInfSts", 0, 1, GROUP_STATUS),
                    _c("StsRsnInf", 0, _N, _REASON_INFO),
                    _c("NbOfTxsPerSts", 0, _N, ANY),
                    _c("TxInfAndSts", 0, _N, _TX_INFO),
                ),
            ),
        ),
    )
)


def _local(element) -> str:
    return etree.QName(element).localname


def _check_children(parent, children: list[_Child], namespace: str, *, choice: bool = False) -> None:
    """The children of `parent`, in the order and number `children` allows; recursively."""
    elements = [child for child in parent if isinstance(child.tag, str)]
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        if etree.QName(child).namespace != namespace:
            raise FileInvalidError(
                f"element in namespace {etree.QName(child).namespace!r}, expected {namespace!r}",
                line=child.sourceline,
                element=_local(child),
            )
    if choice:
        allowed = {spec.name: spec for spec in children}
        if len(elements) != 1 or _local(elements[0]) not in allowed:
            raise FileInvalidError(
                f"must hold exactly one of {', '.join(allowed)}", line=parent.sourceline, element=_local(parent)
            )
        _check_element(elements[0], allowed[_local(elements[0])], namespace)
        return
    position = 0
    for spec in children:
        count = 0
        while position < len(elements) and _local(elements[position]) == spec.name:
            count += 1
            if spec.max is not None and count > spec.max:
                raise FileInvalidError(
                    f"may occur at most {spec.max} time(s) here", line=elements[position].sourceline, element=spec.name
                )
            _check_element(elements[position], spec, namespace)
            position += 1
        if count < spec.min:
            raise FileInvalidError(f"missing element <{spec.name}>", line=parent.sourceline, element=_local(parent))
    if position < len(elements):
        unexpected = elements[position]
        raise FileInvalidError(
            f"element not allowed here (inside <{_local(parent)}>, in this order: "
            f"{', '.join(spec.name for spec in children)})",
            line=unexpected.sourceline,
            element=_local(unexpected),
        )


def _check_element(element, spec: _Child, namespace: str) -> None:
    if spec.spec is ANY:
        return
    if isinstance(spec.spec, _Type):
        if len(element):
            raise FileInvalidError("must hold text, not elements", line=element.sourceline, element=spec.name)
        text = (element.text or "").strip()
        try:
            spec.spec.check(text)
        except ValueError as error:
            raise FileInvalidError(str(error), line=element.sourceline, element=spec.name) from None
        if spec.spec is AMOUNT:
            currency = element.get("Ccy", "")
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise FileInvalidError(
                    "needs a currency attribute Ccy (ISO 4217)", line=element.sourceline, element=spec.name
                )
        return
    if isinstance(spec.spec, tuple):
        _check_children(element, spec.spec[1], namespace, choice=True)
        return
    _check_children(element, spec.spec, namespace)


# --- reading ---------------------------------------------------------------------------------------


@cache
def _schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{version}.xsd")))


_NS_IN_MESSAGE = re.compile(r"\{urn:iso:std:iso:20022:tech:xsd:[a-z0-9.]+\}")
_ELEMENT_IN_MESSAGE = re.compile(r"Element '([A-Za-z0-9]+)'")


def parse(content: bytes) -> etree._ElementTree:
    """The XML, refused when it is not well-formed or brings a DTD (no entities, no network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        tree = etree.ElementTree(etree.fromstring(content, parser))
    except etree.XMLSyntaxError as error:
        raise FileInvalidError(f"not well-formed XML: {error.msg}", line=error.lineno) from None
    if tree.docinfo.doctype:
        raise FileInvalidError("a document type declaration (DTD) is not accepted in a bank file", line=1)
    return tree


def version_of(tree: etree._ElementTree) -> str:
    root = tree.getroot()
    namespace = etree.QName(root).namespace or ""
    version = namespace.removeprefix(_PREFIX)
    if _local(root) != "Document" or not namespace.startswith(_PREFIX) or version not in VERSIONS:
        raise FileInvalidError(
            f"namespace {namespace!r} is not one of {', '.join(_PREFIX + v for v in VERSIONS)}",
            line=root.sourceline,
            element=_local(root),
        )
    return version


def validate(tree: etree._ElementTree, version: str) -> None:
    """The official XSD (camt) or the strict structural reader (pain.002); raises FileInvalidError."""
    if version == PAIN002:
        _check_children(tree.getroot(), PAIN002_STRUCTURE, _PREFIX + version)
        return
    schema = _schema(version)
    if not schema.validate(tree):
        error = schema.error_log.filter_from_errors()[0]
        message = _NS_IN_MESSAGE.sub("", error.message)
        named = _ELEMENT_IN_MESSAGE.match(message)
        raise FileInvalidError(
            f"{message} (official {version} XSD)", line=error.line, element=named.group(1) if named else ""
        )


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.q = f"{{{namespace}}}"

    def path(self, dotted: str) -> str:
        return "/".join(self.q + part for part in dotted.split("/"))

    def find(self, element, dotted: str):
        return element.find(self.path(dotted)) if element is not None else None

    def text(self, element, dotted: str) -> str:
        found = self.find(element, dotted)
        return (found.text or "").strip() if found is not None else ""

    def amount(self, element, dotted: str) -> Decimal | None:
        text = self.text(element, dotted)
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:  # the XSD or the structural check refused it already
            raise FileInvalidError(f"{text!r} is not an amount", element=dotted.rsplit("/", 1)[-1]) from None

    def day(self, element, dotted: str) -> date | None:
        text = self.text(element, dotted)
        return date.fromisoformat(text[:10]) if text else None

    def moment(self, element, dotted: str) -> datetime:
        return datetime.fromisoformat(self.text(element, dotted).replace("Z", "+00:00"))


def _status_report(tree, namespace: str) -> StatusReport:
    r = _Reader(namespace)
    report = r.find(tree.getroot(), "CstmrPmtStsRpt")
    group = r.find(report, "OrgnlGrpInfAndSts")
    transactions = []
    for block in report.iterfind(r.path("OrgnlPmtInfAndSts")):
        payment_information_id = r.text(block, "OrgnlPmtInfId")
        block_reason = r.text(block, "StsRsnInf/Rsn/Cd")
        for tx in block.iterfind(r.path("TxInfAndSts")):
            transactions.append(
                TransactionStatus(
                    line=tx.sourceline,
                    payment_information_id=payment_information_id,
                    end_to_end_id=r.text(tx, "OrgnlEndToEndId"),
                    status=r.text(tx, "TxSts") or r.text(block, "PmtInfSts"),
                    reason_code=r.text(tx, "StsRsnInf/Rsn/Cd") or block_reason,
                    amount=r.amount(tx, "OrgnlTxRef/Amt/InstdAmt"),
                    collection_date=r.day(tx, "OrgnlTxRef/ReqdColltnDt"),
                )
            )
    return StatusReport(
        message_id=r.text(report, "GrpHdr/MsgId"),
        created_at=r.moment(report, "GrpHdr/CreDtTm"),
        original_message_id=r.text(group, "OrgnlMsgId"),
        group_status=r.text(group, "GrpSts"),
        group_reason_code=r.text(group, "StsRsnInf/Rsn/Cd"),
        group_line=group.sourceline,
        transactions=transactions,
    )


def _entry_transaction(r: _Reader, tx, direction: str) -> EntryTransaction:
    # The counterparty: who paid us (credit) or whom the booking concerns (a returned collection: the debtor).
    party = "Dbtr" if direction == "CRDT" else "Cdtr"
    name = r.text(tx, f"RltdPties/{party}/Nm") or r.text(tx, "RltdPties/Dbtr/Nm")
    iban = r.text(tx, f"RltdPties/{party}Acct/Id/IBAN") or r.text(tx, "RltdPties/DbtrAcct/Id/IBAN")
    remittance = " ".join(
        (element.text or "").strip() for element in tx.iterfind(r.path("RmtInf/Ustrd")) if element.text
    )
    return EntryTransaction(
        line=tx.sourceline,
        end_to_end_id=r.text(tx, "Refs/EndToEndId"),
        amount=r.amount(tx, "AmtDtls/TxAmt/Amt") or r.amount(tx, "AmtDtls/InstdAmt/Amt"),
        bank_reference=r.text(tx, "Refs/AcctSvcrRef"),
        return_reason_code=r.text(tx, "RtrInf/Rsn/Cd"),
        counterparty_name=name,
        counterparty_iban=iban,
        remittance=remittance[:300],
        structured_reference=r.text(tx, "RmtInf/Strd/CdtrRefInf/Ref"),
    )


def _statement(tree, namespace: str, version: str) -> Statement:
    r = _Reader(namespace)
    message = r.find(tree.getroot(), "BkToCstmrStmt" if version == CAMT053 else "BkToCstmrDbtCdtNtfctn")
    report = "Stmt" if version == CAMT053 else "Ntfctn"
    entries, iban = [], ""
    for account_report in message.iterfind(r.path(report)):
        iban = iban or r.text(account_report, "Acct/Id/IBAN")
        for ntry in account_report.iterfind(r.path("Ntry")):
            direction = r.text(ntry, "CdtDbtInd")
            details = ntry.find(r.path("NtryDtls"))
            transactions = (
                [_entry_transaction(r, tx, direction) for tx in details.iterfind(r.path("TxDtls"))]
                if details is not None
                else []
            )
            count = r.text(details, "Btch/NbOfTxs")
            entries.append(
                Entry(
                    line=ntry.sourceline,
                    amount=r.amount(ntry, "Amt"),
                    direction=direction,
                    status=r.text(ntry, "Sts"),
                    booking_date=r.day(ntry, "BookgDt/Dt") or r.day(ntry, "BookgDt/DtTm"),
                    value_date=r.day(ntry, "ValDt/Dt") or r.day(ntry, "ValDt/DtTm"),
                    bank_reference=r.text(ntry, "AcctSvcrRef"),
                    reversal=r.text(ntry, "RvslInd") == "true",
                    family=(
                        r.text(ntry, "BkTxCd/Domn/Cd"),
                        r.text(ntry, "BkTxCd/Domn/Fmly/Cd"),
                        r.text(ntry, "BkTxCd/Domn/Fmly/SubFmlyCd"),
                    ),
                    batch_message_id=r.text(details, "Btch/MsgId"),
                    batch_payment_information_id=r.text(details, "Btch/PmtInfId"),
                    batch_count=int(count) if count else None,
                    transactions=transactions,
                )
            )
    return Statement(
        kind=version,
        message_id=r.text(message, "GrpHdr/MsgId"),
        created_at=r.moment(message, "GrpHdr/CreDtTm"),
        account_iban=iban,
        entries=entries,
    )


def read(content: bytes) -> tuple[str, StatusReport | Statement]:
    """The file's version and what it says; raises FileInvalidError naming the line and element."""
    tree = parse(content)
    version = version_of(tree)
    validate(tree, version)
    namespace = _PREFIX + version
    if version == PAIN002:
        return version, _status_report(tree, namespace)
    return version, _statement(tree, namespace, version)
