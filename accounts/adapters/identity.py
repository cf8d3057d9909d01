"""Identity provider (iDIN): the applicant proves who they are at their bank (REG-7, terms art. 2.3.3).

Redirect flow, as iDIN works: `start()` gives the URL of the provider's page, the applicant consents
there and comes back to `return_url?trxid=...`; `result(trxid)` fetches the verified attributes.
The consumer reference is the provider's stable pseudonym for the person (iDIN's BIN), which lets
REG-4 recognise someone who applies again under another e-mail address. The provider echoes the
reference we started the transaction with (iDIN's merchant reference), so that a transaction is only
ever attached to the application that started it (REG-7).

The transaction id arrives in the return URL's query string, so anyone can put anything there: it is
refused when empty or longer than the provider's ids can be, and the HTTP client sends it as one
percent-encoded path segment, never as path or query syntax of its own.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from flex.partners import JsonHttpClient, PartnerConfig, PartnerRejected, adapter, sandbox_latency
from flex.refusals import Refusal, Refused

# PRIV-1: what the applicant lets the provider tell us, and so what the provider learns about the request.
DISCLOSED_CATEGORIES = ["identity", "address"]


@dataclass(frozen=True)
class ClaimedIdentity:
    reference: str
    name: str
    date_of_birth: date | None
    postcode: str
    house_number: int


@dataclass(frozen=True)
class VerifiedIdentity:
    transaction_id: str
    status: str  # "success", "cancelled" or "failure"
    reference: str = ""  # the reference the transaction was started with (ours: the application's)
    consumer_reference: str = ""
    name: str = ""
    date_of_birth: date | None = None
    postcode: str = ""
    house_number: int | None = None
    country: str = ""

    @property
    def is_verified(self) -> bool:
        return self.status == "success"

    @classmethod
    def from_attributes(cls, transaction_id: str, attributes: dict, *, reference_key: str) -> VerifiedIdentity:
        """The provider's attribute set; `reference_key` names its pseudonym field (iDIN: consumer_bin)."""
        born = attributes.get("date_of_birth")
        return cls(
            transaction_id=transaction_id,
            status=attributes["status"],
            reference=attributes.get("reference") or "",
            consumer_reference=attributes.get(reference_key, ""),
            name=attributes.get("name", ""),
            date_of_birth=date.fromisoformat(born) if born else None,
            postcode=attributes.get("postcode", ""),
            house_number=attributes.get("house_number"),
            country=attributes.get("country", ""),
        )


class IdentityProvider(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES  # what every call sends (PRIV-1 disclosure log)
    max_transaction_id_length = 128  # iDIN's transaction ids are 16 digits; brokers' ids are short too

    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def start(self, claimed: ClaimedIdentity, return_url: str) -> str:
        """The URL to send the applicant to."""

    def result(self, transaction_id: str) -> VerifiedIdentity:
        """The outcome of a transaction the applicant came back from (REG-7). A transaction id that
        cannot be one of the provider's (empty, too long) is refused before the provider is asked."""
        if not transaction_id or len(transaction_id) > self.max_transaction_id_length:
            raise Refused(
                Refusal(
                    rule="REG-7",
                    field="trxid",
                    message=_(
                        "The bank sent back no identity confirmation we can look up. Verify your identity again."
                    ),
                )
            )
        return self.fetch_result(transaction_id)

    @abstractmethod
    def fetch_result(self, transaction_id: str) -> VerifiedIdentity:
        """Ask the provider for the outcome of a transaction id that passed `result`'s checks."""


SANDBOX_SALT = "flex.sandbox.identity"


def consumer_reference(name: str, born: date) -> str:
    """The sandbox's stable pseudonym: the same person gets the same reference on every visit."""
    return hashlib.sha256(f"{' '.join(name.lower().split())}|{born.isoformat()}".encode()).hexdigest()[:32]


class SandboxIdentityProvider(IdentityProvider):
    """A bank page (`/sandbox/identity/`) where the tester confirms or edits the attributes, then back.

    Transactions are signed tokens, not stored rows: like a bank's, they cannot be forged or edited.
    A token carries the attributes, so it is longer than a real provider's id.
    """

    max_transaction_id_length = 4096

    def start(self, claimed: ClaimedIdentity, return_url: str) -> str:
        sandbox_latency()
        session = signing.dumps(
            {
                "reference": claimed.reference,
                "name": claimed.name,
                "date_of_birth": claimed.date_of_birth.isoformat() if claimed.date_of_birth else "",
                "postcode": claimed.postcode,
                "house_number": claimed.house_number,
                "return_url": return_url,
            },
            salt=SANDBOX_SALT,
        )
        return f"{reverse('sandbox:identity')}?{urlencode({'session': session})}"

    @staticmethod
    def complete(session: str, *, confirmed: bool, name: str, date_of_birth: date, postcode: str, house_number: int):
        """What the sandbox bank page does when the tester presses a button: the return URL."""
        claimed = signing.loads(session, salt=SANDBOX_SALT, max_age=3600)
        attributes = {"status": "cancelled", "reference": claimed["reference"]}
        if confirmed:
            attributes = {
                "status": "success",
                "reference": claimed["reference"],
                "consumer_reference": consumer_reference(name, date_of_birth),
                "name": name,
                "date_of_birth": date_of_birth.isoformat(),
                "postcode": postcode,
                "house_number": house_number,
                "country": "NL",
            }
        trxid = signing.dumps(attributes, salt=SANDBOX_SALT + ".result")
        separator = "&" if "?" in claimed["return_url"] else "?"
        return f"{claimed['return_url']}{separator}{urlencode({'trxid': trxid})}"

    def fetch_result(self, transaction_id: str) -> VerifiedIdentity:
        sandbox_latency()
        try:
            attributes = signing.loads(transaction_id, salt=SANDBOX_SALT + ".result", max_age=3600)
        except signing.BadSignature:
            raise PartnerRejected("identity: unknown or expired transaction") from None
        return VerifiedIdentity.from_attributes(transaction_id, attributes, reference_key="consumer_reference")


class HttpIdentityProvider(IdentityProvider):
    """An iDIN broker's REST API: POST /transactions, GET /transactions/{id}."""

    def __init__(self, cfg: PartnerConfig) -> None:
        super().__init__(cfg)
        self.http = JsonHttpClient(cfg)

    def start(self, claimed: ClaimedIdentity, return_url: str) -> str:
        answer = self.http.request(
            "POST",
            "/transactions",
            {
                "reference": claimed.reference,
                "return_url": return_url,
                "requested": ["name", "date_of_birth", "address", "consumer_bin"],
            },
        )
        return answer["issuer_url"]

    def fetch_result(self, transaction_id: str) -> VerifiedIdentity:
        # One path segment whatever the applicant typed: "/", "?", "#" and "%" are encoded by quote, and
        # the dots too, since a segment of only dots would be resolved as "this" or "parent" directory.
        segment = quote(transaction_id, safe="").replace(".", "%2E")
        answer = self.http.request("GET", f"/transactions/{segment}")
        return VerifiedIdentity.from_attributes(transaction_id, answer, reference_key="consumer_bin")


def identity_provider() -> IdentityProvider:
    return adapter(
        "identity",
        {
            "sandbox": "accounts.adapters.identity.SandboxIdentityProvider",
            "http": "accounts.adapters.identity.HttpIdentityProvider",
        },
    )
