"""The bank that collects our SEPA direct debits: it takes a pain.008 file and later reports what it
could not collect (rejects before settlement, pain.002; returns and refunds after it, camt.054).

One interface, three implementations, chosen by `FLEX_BANK`:

- `sandbox` (sandbox mode only): accepts the file and, some days later by the project clock, reports
  realistic R-transactions for it (see `SandboxBank`), as real pain.002 / camt.054 / camt.053 files;
- `directory`: a file drop. The file is written into `FLEX_BANK_OUTBOX` under its message id
  (complete or not at all: a temporary name, then a rename), where the bank's connectivity client
  (EBICS, SFTP) picks it up; the bank's files arrive in `FLEX_BANK_INBOX`, read by the daily import
  and moved to its `processed/` folder once imported;
- `http`: an upload to a provider's file API at `FLEX_BANK_URL` (multipart, `Authorization: Bearer
  FLEX_BANK_KEY`), which answers with its id for the file and lists its reports on that id; the
  report files themselves are listed at `GET /reports`, fetched at `GET /reports/<id>` and
  acknowledged with `POST /reports/<id>/acknowledge`.

The file names the debtors and their accounts: each submission is logged as a disclosure (PRIV-1).
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from lxml import etree

from billing.direct_debit import pain008
from flex import clock
from flex.partners import PartnerRejected, PartnerTimeout, sandbox_latency

# PRIV-1: the bank learns each debtor's name and account, and what they owe.
DISCLOSED_CATEGORIES = ["identity", "financial"]


@dataclass(frozen=True)
class BankConfig:
    implementation: str
    outbox: str
    url: str
    key: str
    partner_code: str
    kind: str = "bank"
    inbox: str = ""


@dataclass(frozen=True)
class ReportFile:
    """A file the bank sent: a pain.002 status report, a camt.054 notification or a camt.053 statement."""

    name: str
    kind: str  # its ISO 20022 message version, e.g. "camt.053.001.02"
    day: date  # the day it reports on (imports run in this order)
    content: bytes = field(repr=False)
    handle: str = ""  # the adapter's own id, for `acknowledge`


def _kind_of(content: bytes) -> str:
    head = content[:2000].decode("utf-8", "replace")
    match = re.search(r"urn:iso:std:iso:20022:tech:xsd:((?:pain|camt)\.\d{3}\.\d{3}\.\d{2})", head)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Submission:
    reference: str


@dataclass(frozen=True)
class BankReport:
    """One collection the bank did not (or no longer) collect, as pain.002 / camt.054 report it."""

    message_id: str
    end_to_end_id: str
    kind: str  # "reject" (before settlement, pain.002) | "return" | "refund" (after it, camt.054)
    reason_code: str  # ISO 20022 external status reason code: AM04, AC04, MS02, MD06, ...
    amount: Decimal
    reported_on: date

    def as_dict(self) -> dict:
        data = asdict(self)
        data["amount"], data["reported_on"] = str(self.amount), self.reported_on.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BankReport:
        return cls(
            **{**data, "amount": Decimal(data["amount"]), "reported_on": date.fromisoformat(data["reported_on"])}
        )


class Bank(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES

    def __init__(self, cfg: BankConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def submit(self, *, message_id: str, stream: BinaryIO, sha256: str, collection_date: date) -> Submission:
        """Hand over the file; the same message id with the same content again is the same submission."""

    @abstractmethod
    def reports(self, message_id: str) -> list[BankReport]:
        """What the bank has reported so far about the file's collections."""

    @abstractmethod
    def report_files(self) -> list[ReportFile]:
        """The report files the bank has for us now (those imported before may be among them)."""

    def acknowledge(self, report_file: ReportFile) -> None:
        """The file was imported (or found imported already): the bank need not offer it again. The
        sandbox offers the same files again (they are imported once: their message ids)."""
        return None


def _sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


class SandboxBank(Bank):
    """Accepts any valid file and decides, per collection, what a real bank would report, some days
    later by the project clock:

    - a debtor whose name holds "Wanbetaler": AM04 (insufficient funds), rejected on the collection date;
    - "Gesloten": AC04 (account closed), rejected the business day before;
    - "Weigeraar": MS02 (the debtor refused), rejected the day before;
    - "Terugboeker": MD06 (refund within 8 weeks), reported 3 weeks after the collection date;
    - every other collection: about 2 % fail, by a hash of its end-to-end id (1 % AM04, 0.4 % MS02,
      0.3 % MD06, 0.2 % AC04, 0.1 % MD07 deceased), as a month of real collections would.

    Reports are kept in the sandbox table every process shares; the file itself is not.
    """

    PARTNER = "bank"
    NAMED = (
        ("Wanbetaler", "reject", "AM04", 0),
        ("Gesloten", "reject", "AC04", -1),
        ("Weigeraar", "reject", "MS02", -1),
    )
    NAMED_REFUND = ("Terugboeker", "refund", "MD06", 21)
    # Per 1000 collections: (up to, kind, code, days after the collection date)
    BY_HASH = (
        (10, "reject", "AM04", 0),
        (14, "reject", "MS02", -1),
        (17, "refund", "MD06", 21),
        (19, "return", "AC04", 2),
        (20, "return", "MD07", 3),
    )

    def submit(self, *, message_id, stream, sha256, collection_date) -> Submission:
        from accounts.adapters import sandbox_state

        sandbox_latency()
        known = sandbox_state.recall(self.PARTNER, message_id)
        if known is not None:
            if known["sha256"] != sha256:
                # Banks refuse a second file with a message id they already have (duplicate check).
                raise PartnerRejected(f"bank (sandbox): message id {message_id} was already submitted")
            return Submission(known["reference"])
        transactions: list[list[str]] = []
        reports = [report.as_dict() for report in self._decide(message_id, stream, collection_date, transactions)]
        reference = f"SBX-{sha256[:12]}"
        sandbox_state.remember(
            self.PARTNER,
            message_id,
            {
                "sha256": sha256,
                "reference": reference,
                "collection_date": collection_date.isoformat(),
                "reports": reports,
                # [end-to-end id, amount, payment information id, debtor, IBAN]: for the day statement
                "transactions": transactions,
            },
        )
        return Submission(reference)

    def _decide(self, message_id: str, stream: BinaryIO, collection_date: date, transactions: list):
        q = f"{{{pain008.NAMESPACE}}}"
        for _event, element in etree.iterparse(stream, events=("end",), tag=f"{q}DrctDbtTxInf", huge_tree=True):
            end_to_end_id = element.findtext(f"{q}PmtId/{q}EndToEndId")
            name = element.findtext(f"{q}Dbtr/{q}Nm") or ""
            amount = Decimal(element.findtext(f"{q}InstdAmt"))
            iban = element.findtext(f"{q}DbtrAcct/{q}Id/{q}IBAN") or ""
            block = element.getparent().findtext(f"{q}PmtInfId") or ""
            transactions.append([end_to_end_id, str(amount), block, name, iban])
            element.clear()
            outcome = next(((kind, code, days) for word, kind, code, days in self.NAMED if word in name), None)
            if outcome is None and self.NAMED_REFUND[0] in name:
                outcome = self.NAMED_REFUND[1:]
            if outcome is None:
                bucket = int(hashlib.sha256(end_to_end_id.encode()).hexdigest()[:8], 16) % 1000
                outcome = next(((k, c, d) for upto, k, c, d in self.BY_HASH if bucket < upto), None)
            if outcome is not None:
                kind, code, days = outcome
                yield BankReport(message_id, end_to_end_id, kind, code, amount, collection_date + timedelta(days=days))

    def reports(self, message_id: str) -> list[BankReport]:
        from accounts.adapters import sandbox_state

        sandbox_latency()
        known = sandbox_state.recall(self.PARTNER, message_id)
        if known is None:
            raise PartnerRejected(f"bank (sandbox): no file with message id {message_id}")
        today = clock.today()
        found = [BankReport.from_dict(data) for data in known["reports"]]
        return [report for report in found if report.reported_on <= today]

    def report_files(self) -> list[ReportFile]:
        """Every file the bank has reported by today (the project clock), for every file it took: a
        pain.002 per day with rejects, a camt.053 on the collection date with the credit of each
        payment information block (its collections not rejected, each with its end-to-end id), and a
        camt.054 per day with returns and refunds. Written from the decided outcomes with lxml; the
        same day gives the same bytes, so a file fetched twice is imported once."""
        from accounts.models import SandboxState
        from billing.bank_files import documents, iso20022

        sandbox_latency()
        today, files = clock.today(), []
        creditor = settings.FLEX_CREDITOR
        for message_id, known in SandboxState.objects.filter(partner=self.PARTNER).values_list("key", "data"):
            collection_date = date.fromisoformat(known["collection_date"])
            reports = [BankReport.from_dict(data) for data in known["reports"]]
            by_day: dict[tuple[str, date], list[BankReport]] = {}
            for report in reports:
                if report.reported_on <= today:
                    by_day.setdefault(
                        ((report.kind == "reject" and "reject") or "return", report.reported_on), []
                    ).append(report)
            rejected = {report.end_to_end_id for report in reports if report.kind == "reject"}
            blocks = {tx[0]: tx[2] for tx in known.get("transactions", [])}
            names = {tx[0]: (tx[3], tx[4]) for tx in known.get("transactions", [])}
            for (what, day), found in sorted(by_day.items()):
                moment = datetime.combine(day, time(7, 0))
                if what == "reject":
                    content = documents.status_report(
                        message_id=f"SBX-002-{day:%Y%m%d}-{message_id}"[:35],
                        created_at=moment,
                        original_message_id=message_id,
                        rejected=[
                            documents.Rejected(
                                r.end_to_end_id,
                                r.amount,
                                r.reason_code,
                                blocks.get(r.end_to_end_id, ""),
                                collection_date,
                            )
                            for r in found
                        ],
                    )
                    files.append(ReportFile(f"pain002-{message_id}-{day:%Y%m%d}.xml", iso20022.PAIN002, day, content))
                    continue
                bookings = [
                    documents.Booking(
                        amount=r.amount,
                        direction="DBIT",
                        booking_date=day,
                        bank_reference=f"SBX-R-{r.end_to_end_id}"[:35],
                        family=documents.RETURNED_COLLECTION,
                        transactions=[
                            documents.BookingTransaction(
                                end_to_end_id=r.end_to_end_id,
                                amount=r.amount,
                                bank_reference=f"SBX-R-{r.end_to_end_id}"[:35],
                                return_reason_code=r.reason_code,
                                name=names.get(r.end_to_end_id, ("", ""))[0][:70],
                                iban=names.get(r.end_to_end_id, ("", ""))[1],
                            )
                        ],
                    )
                    for r in found
                ]
                content = documents.statement(
                    iso20022.CAMT054,
                    message_id=f"SBX-054-{day:%Y%m%d}-{message_id}"[:35],
                    created_at=moment,
                    account_iban=creditor["iban"],
                    bookings=bookings,
                    day=day,
                )
                files.append(ReportFile(f"camt054-{message_id}-{day:%Y%m%d}.xml", iso20022.CAMT054, day, content))
            if collection_date <= today and known.get("transactions"):
                credits: dict[str, list[documents.BookingTransaction]] = {}
                for end_to_end_id, amount, block, _name, _iban in known["transactions"]:
                    if end_to_end_id not in rejected:
                        credits.setdefault(block, []).append(
                            documents.BookingTransaction(end_to_end_id=end_to_end_id, amount=Decimal(amount))
                        )
                bookings = [
                    documents.Booking(
                        amount=sum((tx.amount for tx in txs), Decimal("0")),
                        direction="CRDT",
                        booking_date=collection_date,
                        bank_reference=f"SBX-C-{block}"[:35],
                        family=documents.SETTLED_COLLECTIONS,
                        batch_message_id=message_id,
                        batch_payment_information_id=block,
                        transactions=txs,
                    )
                    for block, txs in sorted(credits.items())
                ]
                if bookings:
                    content = documents.statement(
                        iso20022.CAMT053,
                        message_id=f"SBX-053-{collection_date:%Y%m%d}-{message_id}"[:35],
                        created_at=datetime.combine(collection_date, time(18, 0)),
                        account_iban=creditor["iban"],
                        bookings=bookings,
                        day=collection_date,
                    )
                    files.append(
                        ReportFile(
                            f"camt053-{message_id}-{collection_date:%Y%m%d}.xml",
                            iso20022.CAMT053,
                            collection_date,
                            content,
                        )
                    )
        return files


_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class DirectoryBank(Bank):
    """A file drop: `<outbox>/<message id>.xml`, written under a temporary name and renamed when whole."""

    def submit(self, *, message_id, stream, sha256, collection_date) -> Submission:
        if not self.cfg.outbox:
            raise ImproperlyConfigured("FLEX_BANK=directory needs FLEX_BANK_OUTBOX")
        if not _SAFE_NAME.match(message_id):
            raise PartnerRejected(f"bank (directory): {message_id!r} cannot be a file name")
        outbox = Path(self.cfg.outbox)
        target = outbox / f"{message_id}.xml"
        if target.exists():
            with open(target, "rb") as existing:
                if _sha256_of(existing) == sha256:
                    return Submission(target.name)
            raise PartnerRejected(f"bank (directory): {target} already holds another file")
        partial = outbox / f".{message_id}.partial"
        try:
            with open(partial, "wb") as out:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except OSError as error:
            raise PartnerTimeout(f"bank (directory): {error}") from error
        finally:
            if partial.exists():
                partial.unlink()
        return Submission(target.name)

    def reports(self, message_id: str) -> list[BankReport]:
        """The bank's files arrive in its own inbox and are read by the bank-file import, not here."""
        return []

    def report_files(self) -> list[ReportFile]:
        """The XML files the connectivity client left whole in `FLEX_BANK_INBOX` (not dot-files: those
        are still being written)."""
        if not self.cfg.inbox:
            raise ImproperlyConfigured("FLEX_BANK=directory needs FLEX_BANK_INBOX to fetch the bank's files")
        files = []
        for path in sorted(Path(self.cfg.inbox).glob("*.xml")):
            if path.name.startswith(".") or not path.is_file():
                continue
            content = path.read_bytes()
            modified = date.fromtimestamp(path.stat().st_mtime)
            files.append(ReportFile(path.name, _kind_of(content), modified, content, handle=str(path)))
        return files

    def acknowledge(self, report_file: ReportFile) -> None:
        """Moved to `processed/` beside it, so the next run does not read it again."""
        source = Path(report_file.handle)
        if source.exists():
            processed = source.parent / "processed"
            processed.mkdir(exist_ok=True)
            os.replace(source, processed / source.name)


class HttpBank(Bank):
    """A provider's file API: POST /files (multipart `file`, `message_id`, `sha256`) answers {"id"};
    GET /files/{id}/reports answers a list of reports in `BankReport.as_dict()`'s shape."""

    def __init__(self, cfg: BankConfig, timeout: float = 120.0) -> None:
        import httpx

        super().__init__(cfg)
        if not cfg.url:
            raise ImproperlyConfigured("FLEX_BANK=http needs FLEX_BANK_URL")
        self._client = httpx.Client(base_url=cfg.url, timeout=timeout, headers={"Authorization": f"Bearer {cfg.key}"})
        self._ids: dict[str, str] = {}

    def _call(self, method: str, path: str, **kwargs):
        import httpx

        try:
            response = self._client.request(method, path, **kwargs)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise PartnerTimeout(f"bank: {type(error).__name__} on {method} {path}") from error
        if response.status_code >= 500:
            raise PartnerTimeout(f"bank: {response.status_code} on {method} {path}")
        if response.status_code >= 400:
            raise PartnerRejected(f"bank: {response.status_code} on {method} {path}: {response.text[:300]}")
        return response.json()

    def submit(self, *, message_id, stream, sha256, collection_date) -> Submission:
        answer = self._call(
            "POST",
            "/files",
            data={"message_id": message_id, "sha256": sha256, "collection_date": collection_date.isoformat()},
            files={"file": (f"{message_id}.xml", stream, "application/xml")},
        )
        return Submission(answer["id"])

    def reports(self, message_id: str) -> list[BankReport]:
        return [BankReport.from_dict(data) for data in self._call("GET", f"/files/{message_id}/reports")]

    def report_files(self) -> list[ReportFile]:
        """`GET /reports` answers [{"id", "name", "day"}] of the files not yet acknowledged; each is
        fetched at `GET /reports/<id>` (the XML)."""
        import httpx

        files = []
        for listed in self._call("GET", "/reports"):
            try:
                response = self._client.get(f"/reports/{listed['id']}")
            except (httpx.TimeoutException, httpx.TransportError) as error:
                raise PartnerTimeout(f"bank: {type(error).__name__} fetching report {listed['id']}") from error
            if response.status_code >= 400:
                raise PartnerTimeout(f"bank: {response.status_code} fetching report {listed['id']}")
            content = response.content
            day = date.fromisoformat(listed["day"]) if listed.get("day") else clock.today()
            files.append(
                ReportFile(listed.get("name", listed["id"]), _kind_of(content), day, content, handle=listed["id"])
            )
        return files

    def acknowledge(self, report_file: ReportFile) -> None:
        self._call("POST", f"/reports/{report_file.handle}/acknowledge")


IMPLEMENTATIONS = {"sandbox": SandboxBank, "directory": DirectoryBank, "http": HttpBank}


def bank_config() -> BankConfig:
    cfg = settings.FLEX_BANK
    return BankConfig(
        implementation=cfg["implementation"],
        outbox=cfg["outbox"],
        url=cfg["url"],
        key=cfg["key"],
        partner_code=cfg["partner_code"],
        inbox=cfg.get("inbox", ""),
    )


def bank() -> Bank:
    cfg = bank_config()
    if cfg.implementation == "sandbox" and not settings.FLEX_SANDBOX:
        raise ImproperlyConfigured("FLEX_BANK=sandbox outside sandbox mode (FLEX_SANDBOX)")
    try:
        return IMPLEMENTATIONS[cfg.implementation](cfg)
    except KeyError:
        raise ImproperlyConfigured(
            f"FLEX_BANK={cfg.implementation!r}: choose one of {sorted(IMPLEMENTATIONS)}"
        ) from None
