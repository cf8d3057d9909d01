"""Writing a SEPA credit-transfer file (pain.001.001.03) as a stream, and validating one as a stream.

Version: pain.001.001.03 (ISO 20022, 2009), the message of the EPC's "SEPA Credit Transfer Scheme
Customer-to-Bank Implementation Guidelines" (EPC132-08) and of the Dutch Payments Association's
"XML message for SEPA Credit Transfer Initiation, Implementation Guidelines for the Netherlands"
(pain.001.001.03), which every Dutch bank takes. `schemas/` holds the ISO schema exactly as published
(its first lines name the ISO 20022 catalogue; the copy bundled with sepaxml), so a change of
version is a new schema and a new writer, on purpose.

Flex is the debtor here (the account the refunds are paid from: `FLEX_CREDITOR`'s IBAN and BIC) and
each subscriber a creditor. One payment information block per file (one requested execution date);
its count and control sum are given first and the transfers then streamed, a thousand per write.
Every value passes the EPC checks of `billing.direct_debit.epc` (the same Latin character set and
lengths in EPC132-08 as in EPC130-08) before it is written; the file is written under a temporary
name and renamed only when complete, and `validate()` reads it back through the XSD while streaming.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from billing.direct_debit import epc

# The same outcome and the same refusal as the direct-debit file's writer: one shape for every SEPA file.
from billing.direct_debit.pain008 import CountMismatchError, WrittenFile

VERSION = "pain.001.001.03"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{VERSION}"
SCHEMA_PATH = Path(__file__).with_name("schemas") / f"{VERSION}.xsd"


@dataclass(frozen=True)
class Debtor:
    """The account the transfers are paid from (ours)."""

    name: str
    iban: str
    bic: str


class Transfer(NamedTuple):
    end_to_end_id: str
    amount: Decimal
    creditor_name: str
    creditor_iban: str
    remittance: str


class FileInvalid(ValueError):  # noqa: N818 - reads as "the file is invalid"
    """The file breaks the XSD or does not add up."""


_GROUP_HEADER = (
    "<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>"
    "<CtrlSum>{control_sum}</CtrlSum><InitgPty><Nm>{debtor}</Nm></InitgPty></GrpHdr>\n"
)
_PAYMENT_HEADER = (
    "<PmtInf><PmtInfId>{id}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>true</BtchBookg>"
    "<NbOfTxs>{count}</NbOfTxs><CtrlSum>{control_sum}</CtrlSum>"
    "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf><ReqdExctnDt>{date}</ReqdExctnDt>"
    "<Dbtr><Nm>{name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>"
    "<DbtrAgt><FinInstnId><BIC>{bic}</BIC></FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>\n"
)
# Values have passed `epc` first: the EPC set holds none of XML's markup characters, so no value can
# change the document's structure (see pain008); `validate()` proves every file against the XSD anyway.
_TRANSFER = (
    "<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>"
    '<Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt>'
    "<Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>"
    "<RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></CdtTrfTxInf>\n"
)


def _checked(tx: Transfer) -> Transfer:
    where = f" ({tx.end_to_end_id})"
    return Transfer(
        end_to_end_id=epc.sepa_identifier(tx.end_to_end_id, field="EndToEndId" + where),
        amount=epc.amount(tx.amount, field="InstdAmt" + where),
        creditor_name=epc.sepa_text(tx.creditor_name, field="Cdtr/Nm" + where, max_length=epc.NAME_LENGTH),
        creditor_iban=epc.iban(tx.creditor_iban, field="CdtrAcct/IBAN" + where),
        remittance=epc.sepa_text(tx.remittance, field="RmtInf/Ustrd" + where, max_length=epc.REMITTANCE_LENGTH),
    )


def write(
    path: Path,
    *,
    message_id: str,
    created_at: datetime,
    execution_date: date,
    debtor: Debtor,
    count: int,
    control_sum: Decimal,
    transfers: Iterable[Transfer],
) -> WrittenFile:
    """Write the file at `path` (complete or not at all). Raises `epc.FieldInvalid` for a value that
    cannot go into a SEPA file, `CountMismatchError` when the transfers do not match the header."""
    message_id = epc.sepa_identifier(message_id, field="GrpHdr/MsgId")
    name = epc.sepa_text(debtor.name, field="Dbtr/Nm", max_length=epc.NAME_LENGTH)
    iban = epc.iban(debtor.iban, field="DbtrAcct/IBAN")
    bic = epc.bic(debtor.bic, field="DbtrAgt/BIC")
    if not count:
        raise CountMismatchError("a credit-transfer file holds at least one transfer")
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    digest, size = hashlib.sha256(), 0

    def out(raw, text: str) -> None:
        nonlocal size
        data = text.encode()
        digest.update(data)
        size += len(data)
        raw.write(data)

    try:
        with open(partial, "wb", buffering=1 << 20) as raw:
            out(raw, f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}"><CstmrCdtTrfInitn>\n')
            amounts = f"{control_sum:.2f}"
            created = created_at.replace(microsecond=0, tzinfo=None).isoformat()
            out(
                raw,
                _GROUP_HEADER.format(
                    message_id=message_id, created=created, count=count, control_sum=amounts, debtor=name
                ),
            )
            out(
                raw,
                _PAYMENT_HEADER.format(
                    id=f"{message_id}-1",
                    count=count,
                    control_sum=amounts,
                    date=execution_date.isoformat(),
                    name=name,
                    iban=iban,
                    bic=bic,
                ),
            )
            written, total, lines = 0, Decimal("0.00"), []
            for tx in transfers:
                tx = _checked(tx)
                written += 1
                total += tx.amount
                lines.append(
                    _TRANSFER.format(
                        e2e=tx.end_to_end_id,
                        amount=f"{tx.amount:.2f}",
                        name=tx.creditor_name,
                        iban=tx.creditor_iban,
                        remittance=tx.remittance,
                    )
                )
                if len(lines) == 1000:
                    out(raw, "".join(lines))
                    lines.clear()
            out(raw, "".join(lines))
            out(raw, "</PmtInf></CstmrCdtTrfInitn></Document>\n")
            if written != count or total != control_sum:
                raise CountMismatchError(
                    f"{written} transfers of {total} written, header says {count} of {control_sum}"
                )
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return WrittenFile(path, message_id, count, control_sum, digest.hexdigest(), size)


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate(path: Path) -> tuple[int, Decimal]:
    """Validate `path` against the pain.001.001.03 XSD while streaming through it, and check that the
    group header's count and control sum are what its transfers add up to. (count, control sum)."""
    q = f"{{{NAMESPACE}}}"
    declared, count, total = None, 0, Decimal("0.00")
    try:
        for _event, element in etree.iterparse(
            str(path), events=("end",), tag=[f"{q}CdtTrfTxInf", f"{q}GrpHdr"], schema=schema(), huge_tree=True
        ):
            if element.tag == f"{q}GrpHdr":
                declared = (int(element.findtext(f"{q}NbOfTxs")), Decimal(element.findtext(f"{q}CtrlSum")))
                continue
            count += 1
            total += Decimal(element.findtext(f"{q}Amt/{q}InstdAmt"))
            element.clear()
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as error:
        raise FileInvalid(str(error)) from error
    if declared != (count, total):
        raise FileInvalid(f"group header says {declared}, the file holds {count} transfers of {total}")
    return count, total
