"""Credit bureau: is the applicant creditworthy? (REG-5, terms art. 2.2.2). The check is done by the bureau."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date

from accounts.adapters import sandbox_state
from flex.partners import JsonHttpClient, PartnerConfig, PartnerTimeout, adapter, sandbox_latency

# PRIV-1: what the bureau receives to find the person.
DISCLOSED_CATEGORIES = ["identity", "address"]


@dataclass(frozen=True)
class CreditSubject:
    reference: str
    name: str
    date_of_birth: date | None
    kvk_number: str
    postcode: str
    house_number: int


@dataclass(frozen=True)
class CreditResult:
    is_positive: bool
    bureau_reference: str
    detail: str = ""


class CreditBureau(ABC):
    disclosed_categories = DISCLOSED_CATEGORIES  # what every call sends (PRIV-1 disclosure log)

    def __init__(self, cfg: PartnerConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def check(self, subject: CreditSubject) -> CreditResult: ...


class SandboxCreditBureau(CreditBureau):
    """Answers like the bureau, decided by the name so testers can choose the outcome:

    - a last name starting with "Wanbetaler" is registered with payment arrears: negative;
    - "Traag" times out on the first request and answers on the next (the job retries);
    - "Onbereikbaar" always times out (the check ends as partner unavailable, for staff to retry);
    - anyone else: positive.
    """

    def check(self, subject: CreditSubject) -> CreditResult:
        sandbox_latency()
        surname = subject.name.split()[-1].lower() if subject.name else ""
        if surname.startswith("onbereikbaar"):
            raise PartnerTimeout("credit bureau (sandbox): no answer")
        if surname.startswith("traag") and sandbox_state.first_time("credit_bureau", f"slow:{subject.reference}"):
            raise PartnerTimeout("credit bureau (sandbox): first request timed out")
        if surname.startswith("wanbetaler"):
            return CreditResult(False, f"CB-{subject.reference}", "registered payment arrears")
        return CreditResult(True, f"CB-{subject.reference}", "no registrations")


class HttpCreditBureau(CreditBureau):
    """The bureau's REST API: POST /checks answers {"outcome": "positive"|"negative", "reference", "detail"}."""

    def __init__(self, cfg: PartnerConfig) -> None:
        super().__init__(cfg)
        self.http = JsonHttpClient(cfg, timeout=20.0)

    def check(self, subject: CreditSubject) -> CreditResult:
        answer = self.http.request(
            "POST",
            "/checks",
            {
                "reference": subject.reference,
                "name": subject.name,
                "date_of_birth": subject.date_of_birth.isoformat() if subject.date_of_birth else None,
                "kvk_number": subject.kvk_number or None,
                "postcode": subject.postcode,
                "house_number": subject.house_number,
            },
        )
        return CreditResult(answer["outcome"] == "positive", answer.get("reference", ""), answer.get("detail", ""))


def credit_bureau() -> CreditBureau:
    return adapter(
        "credit_bureau",
        {
            "sandbox": "accounts.adapters.credit_bureau.SandboxCreditBureau",
            "http": "accounts.adapters.credit_bureau.HttpCreditBureau",
        },
    )
