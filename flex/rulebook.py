"""Every contract rule Flex enforces, by id, with the article it comes from (docs/rules.md).

A refusal shown to anyone names one of these ids and its article. Sources: "terms" are the Flex 2.0
general terms and conditions, "privacy statement" the Sonos privacy statement (Feb 2020), "account
privacy policy" the Sony account privacy policy (Feb 2024), "BW" the Dutch Civil Code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    article: str
    summary: str


_RULES = (
    Rule("REG-1", "terms art. 1.1.1, 1.1.4", "Applicant is 18+ or a legal entity, in the Netherlands"),
    Rule("REG-2", "terms art. 2.1", "Online application accepting the current terms version"),
    Rule("REG-3", "terms art. 2.1", "The contract takes effect when the company accepts"),
    Rule("REG-4", "terms art. 2.2.1", "No new subscription after termination by the company"),
    Rule("REG-5", "terms art. 2.2.2", "Negative credit check refuses the applicant"),
    Rule("REG-6", "terms art. 2.2.3", "Refusal by staff for another well-founded reason"),
    Rule("REG-7", "terms art. 2.3.1-2.3.4", "Nothing ships before prepayment, mandate, identity, address"),
    Rule("REG-8", "terms art. 2.3.4", "Address changes reported within 4 weeks of moving"),
    Rule("REG-9", "terms art. 3.4.1", "At most one subscription per subscriber"),
    Rule("PLAN-1", "terms art. 1.1.2, 3.1, 11", "Devices stay company property; may be refurbished"),
    Rule("PLAN-2", "terms art. 3.1, 3.3, 3.4.1", "One preconfigured plan; the same units are kept"),
    Rule("PLAN-3", "terms art. 3.4.2", "Plan change only after the first 4 months"),
    Rule("PLAN-4", "terms art. 3.5", "Add-ons at registration or after month 4; at most 4 held"),
    Rule("PLAN-5", "terms art. 3.5", "One change per 12 months"),
    Rule("PLAN-6", "terms art. 3.6", "Free shipping both ways; prepaid return label; 48h swaps"),
    Rule("PLAN-7", "terms art. 5.2.6", "Products stay at the physical address unless permitted"),
    Rule("RADIO-1", "terms art. 1.1.12, 4", "Radio HD follows the subscription"),
    Rule("REP-1", "terms art. 3.2, 5.1.5", "Defects reported, eligibility confirmed, label e-mailed"),
    Rule("REP-2", "terms art. 3.2", "Wear and tear repaired or replaced free of charge"),
    Rule("REP-3", "terms art. 3.2", "Replacement ships within 48 hours of receipt"),
    Rule("REP-4", "terms art. 7.3.5", "Refusing a repair return is a termination ground"),
    Rule("INC-1", "terms art. 6.2", "Theft or loss reported within 24 hours with police report"),
    Rule("INC-2", "terms art. 6.4", "Damage or total loss reported within 24 hours"),
    Rule("INC-3", "terms art. 6.3, 6.4", "A complete report gets a replacement of the same value"),
    Rule("INC-4", "terms art. 6.5", "Second case or own fault: no replacement, retail price owed"),
    Rule("INC-5", "terms art. 6.2, 6.4", "Late reports are flagged for staff review"),
    Rule("TERM-1", "terms art. 1.1.5", "Minimum term of 3 months, prepaid, not refundable"),
    Rule("TERM-2", "terms art. 7.1", "Cancellation with 30 days' notice, not before the minimum term ends"),
    Rule("TERM-3", "terms art. 7.1", "Ends only when all units are back in delivered condition"),
    Rule("TERM-4", "terms art. 7.1", "Refund fees after the end date if units are back within 10 days"),
    Rule("TERM-5", "terms art. 7.2", "Company may terminate with 30 days' notice after the minimum term"),
    Rule("TERM-6", "terms art. 7.3", "Company may terminate at once on listed grounds"),
    Rule("TERM-7", "terms art. 7.4", "Consequences of immediate termination"),
    Rule("TERM-8", "terms art. 8.3c", "Units not back within 30 days are charged at full value"),
    Rule("TERM-9", "terms art. 7.5", "Damage found on inspection is charged"),
    Rule("PAY-1", "terms art. 8.1, 8.2", "Monthly fees charged in advance"),
    Rule("PAY-2", "terms art. 8.3", "Invoices due 14 days after their date"),
    Rule("PAY-3", "terms art. 8.3.2a; BW 6:119", "Statutory interest from the due date"),
    Rule("PAY-4", "terms art. 8.3.2b; BW 6:96", "Collection costs after an expired 14-day reminder"),
    Rule("PAY-5", "terms art. 7.3.1", "Non-payment is a termination ground"),
    Rule("PAY-6", "terms art. 8.5", "Fees may follow webshop price changes"),
    Rule("PAY-7", "terms art. 12.1", "Changes announced at least 30 days ahead"),
    Rule("PAY-8", "terms art. 12.4", "Subscription information is sent by e-mail"),
    Rule("WD-1", "terms art. 10.1, 10.2", "Withdrawal within 14 days after the first day"),
    Rule("WD-2", "terms art. 10.3", "Refund within 14 days after withdrawal, less one fee if used"),
    Rule("PRIV-1", "terms art. 9.2; privacy statement, sharing", "Disclosures only when needed, logged"),
    Rule("PRIV-2", "terms art. 9.3", "Hashed e-mail to advertisers unless opted out"),
    Rule("PRIV-3", "privacy statement, rights; account privacy policy art. 8", "Data subject rights"),
    Rule("PRIV-4", "account privacy policy art. 8", "Verified identity before acting on a request"),
    Rule("PRIV-5", "privacy statement, children; account privacy policy art. 7", "No data of under-16s"),
    Rule("PRIV-6", "privacy statement, retention; account privacy policy art. 4", "Retention periods"),
    Rule("PRIV-7", "privacy statement, choices", "Direct marketing can be refused"),
    Rule("PRIV-8", "privacy statement, additional usage data", "Usage data collection can be off"),
    Rule("PRIV-9", "privacy statement, security", "Passwords stored only as one-way hashes"),
    Rule("PRIV-10", "privacy statement, changes; account privacy policy art. 10", "Changes announced"),
    Rule("PRIV-11", "account privacy policy, data reporting", "Yearly request metrics"),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def article_of(rule_id: str) -> str:
    try:
        return RULES[rule_id].article
    except KeyError:
        raise KeyError(f"{rule_id} is not in the rules catalogue (docs/rules.md)") from None


def localised_article(article: str) -> str:
    """An article as a reader of the active language calls it: "terms art. 2.3.4" is "voorwaarden art.
    2.3.4" in Dutch. The catalogue's own text (and the API's `article` field) stays as it is."""
    from django.utils.translation import gettext

    prefix = "terms art."
    if article.startswith(prefix):
        localised = gettext("terms art.")
        return localised + article[len(prefix) :]
    return article
