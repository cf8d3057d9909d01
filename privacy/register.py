"""The personal-data register: every field of every model, classified.

For each field: is it personal data, which category (the categories of the privacy statement), and
what erasure does with it (PRIV-3, PRIV-6): keep under legal hold, anonymise, delete, or nothing
because it is not personal. A field added to any model without an entry here fails the test suite
(tests/privacy/test_register.py), so no personal data arrives unnoticed.

Row-level history (django-pghistory event tables) repeats the fields of the model it tracks; its
entries follow that model's, so that erasing a person also erases their history.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.apps import apps
from django.db import models


class Category(enum.StrEnum):
    IDENTITY = "identity"  # name, date of birth, KvK
    CONTACT = "contact"  # e-mail, phone
    ADDRESS = "address"  # physical address and move dates
    CREDENTIALS = "credentials"  # password hashes, sessions, keys
    CONTRACT = "contract"  # subscription, plan, devices held
    FINANCIAL = "financial"  # invoices, payments, IBAN
    ONLINE = "online identifiers"  # IP, request paths, actor labels
    AUDIT = "audit"  # who did what (staff and subscribers)


class Erasure(enum.StrEnum):
    LEGAL_HOLD = "keep under legal hold"  # PRIV-6: tax and accounting records, 7 years, no further use
    ANONYMISE = "anonymise"
    DELETE = "delete"
    NONE = "nothing (not personal)"


@dataclass(frozen=True)
class Entry:
    personal: bool
    category: Category | None
    erasure: Erasure
    note: str = ""


def personal(category: Category, erasure: Erasure, note: str = "") -> Entry:
    return Entry(True, category, erasure, note)


NOT_PERSONAL = Entry(False, None, Erasure.NONE)
# A key to another row: personal only through that row, which has its own entry.
LINK = Entry(False, None, Erasure.NONE, "link; the linked row carries the classification")
C, E, N, L = Category, Erasure, NOT_PERSONAL, LINK


def _not_personal(*names: str) -> dict[str, Entry]:
    return dict.fromkeys(names, N)


REGISTER: dict[str, dict[str, Entry]] = {
    # --- accounts ---------------------------------------------------------------------------------
    "accounts.User": {
        "id": N,
        "password": personal(C.CREDENTIALS, E.DELETE, "one-way hash only (PRIV-9)"),
        "last_login": personal(C.ONLINE, E.DELETE),
        "is_superuser": N,
        "email": personal(C.CONTACT, E.ANONYMISE, "login name; replaced by a placeholder"),
        "full_name": personal(C.IDENTITY, E.ANONYMISE),
        "is_staff": N,
        "is_active": N,
        "date_joined": personal(C.CONTRACT, E.ANONYMISE),
        "groups": N,
        "user_permissions": N,
    },
    "accounts.User_groups": _not_personal("id", "user", "group"),
    "accounts.User_user_permissions": _not_personal("id", "user", "permission"),
    "accounts.Subscriber": {
        "id": N,
        "user": L,
        "kind": N,
        "first_name": personal(C.IDENTITY, E.ANONYMISE),
        "last_name": personal(C.IDENTITY, E.ANONYMISE, "kept on invoices under legal hold"),
        "date_of_birth": personal(C.IDENTITY, E.DELETE, "needed only for the age check (REG-1)"),
        "organisation_name": personal(C.IDENTITY, E.LEGAL_HOLD, "a company name is on its invoices"),
        "kvk_number": personal(C.IDENTITY, E.LEGAL_HOLD, "public register number, on invoices"),
        "vat_number": personal(
            C.IDENTITY, E.LEGAL_HOLD, "a business customer's VAT number is on its invoices (Wet OB art. 35a)"
        ),
        "email": personal(C.CONTACT, E.ANONYMISE),
        "phone": personal(C.CONTACT, E.DELETE),
        "language": personal(C.CONTACT, E.DELETE, "the language we write to them in (PAY-8)"),
        "verified_identity": personal(C.IDENTITY, E.DELETE, "the identity provider's pseudonym (REG-4)"),
        "identity_verified_at": personal(C.IDENTITY, E.DELETE),
        "created_at": personal(C.CONTRACT, E.ANONYMISE),
    },
    "accounts.Address": {
        "id": N,
        "subscriber": L,
        "street": personal(C.ADDRESS, E.DELETE),
        "house_number": personal(C.ADDRESS, E.DELETE),
        "house_number_suffix": personal(C.ADDRESS, E.DELETE),
        "postcode": personal(C.ADDRESS, E.DELETE),
        "city": personal(C.ADDRESS, E.DELETE),
        "country": personal(C.ADDRESS, E.DELETE),
        "moved_in_on": personal(C.ADDRESS, E.DELETE),
        "reported_on": personal(C.ADDRESS, E.DELETE),
    },
    "accounts.Partner": _not_personal("id", "code", "name", "kind", "is_active"),
    "accounts.PartnerApiKey": _not_personal(
        "id", "prefix", "hashed_key", "created", "name", "revoked", "expiry_date", "partner", "scopes"
    ),
    "accounts.IdempotentRequest": {
        **_not_personal("id", "api_key", "key", "method", "path", "body_hash", "response_status", "created_at"),
        "response_body": personal(C.CONTRACT, E.DELETE, "a partner's answer may name a subscriber"),
    },
    # The sandbox partners' own records (payment ids, amounts, invoice numbers, return URLs): in production
    # the partner holds these, not Flex; no name, e-mail, address or account number is kept in them.
    "accounts.SandboxState": _not_personal("id", "partner", "key", "data", "created_at", "updated_at"),
    # --- devices ----------------------------------------------------------------------------------
    "devices.Product": _not_personal("id", "sku", "name", "kind", "colour", "is_addon_eligible", "is_active"),
    "devices.ProductPrice": _not_personal(
        "id", "product", "valid_from", "webshop_price", "recommended_retail_price", "addon_monthly_fee"
    ),
    "devices.Plan": _not_personal(
        "id", "code", "version", "name", "description", "monthly_fee", "allows_refurbished", "is_available", "products"
    ),
    "devices.PlanItem": _not_personal("id", "plan", "product", "quantity"),
    "devices.Shipment": {
        **_not_personal(
            "id",
            "reference",
            "subscriber",
            "address",
            "units",
            "warehouse_order",
            "carrier",
            "warehouse",
            "carrier_partner",
        ),
        **{
            name: personal(C.CONTRACT, E.LEGAL_HOLD, "proves what was delivered where and when")
            for name in (
                "status",
                "status_changed_at",
                "tracking_code",
                "shipped_at",
                "delivered_at",
                "requested_at",
                "created_at",
            )
        },
    },
    "devices.ShipmentItem": {"id": N, "shipment": L, "unit": L},
    "devices.TrackingEvent": {
        **_not_personal("id", "shipment", "reference", "source", "event_id", "code", "applied"),
        "occurred_at": personal(C.CONTRACT, E.LEGAL_HOLD),
        "received_at": personal(C.CONTRACT, E.LEGAL_HOLD),
    },
    "devices.DeviceUnit": {
        **_not_personal(
            "id",
            "serial_number",
            "product",
            "condition",
            "status",
            "status_changed_at",
            "inspection_passed",
            "warehouse",
            "registered_at",
        ),
        "inspection_note": personal(C.CONTRACT, E.ANONYMISE, "free text may describe the subscriber's use"),
    },
    # --- billing ----------------------------------------------------------------------------------
    "billing.Subscription": {
        "id": N,
        "subscriber": L,
        "plan": N,
        "status": personal(C.CONTRACT, E.LEGAL_HOLD, "basis of invoices"),
        "payment_method": personal(C.FINANCIAL, E.LEGAL_HOLD),
        "accepted_at": personal(C.CONTRACT, E.LEGAL_HOLD),
        "start_date": personal(C.CONTRACT, E.LEGAL_HOLD),
        "minimum_term_end": personal(C.CONTRACT, E.LEGAL_HOLD),
        "notice_given_on": personal(C.CONTRACT, E.LEGAL_HOLD),
        "notice_by": personal(C.CONTRACT, E.LEGAL_HOLD),
        "end_date": personal(C.CONTRACT, E.LEGAL_HOLD),
        "termination_ground": personal(C.CONTRACT, E.LEGAL_HOLD),
        "ended_on": personal(C.CONTRACT, E.LEGAL_HOLD),
        "radio_hd_reference": N,
        "radio_hd_activated_at": personal(C.CONTRACT, E.LEGAL_HOLD),
    },
    "billing.BillingSchedule": {
        "subscription": L,
        "invoiced_until": personal(C.CONTRACT, E.LEGAL_HOLD, "which periods are invoiced (PAY-1)"),
    },
    "billing.SubscriptionAddOn": {
        "id": N,
        "subscription": L,
        "product": N,
        "added_on": personal(C.CONTRACT, E.LEGAL_HOLD),
        "removed_on": personal(C.CONTRACT, E.LEGAL_HOLD),
    },
    "billing.TermsVersion": _not_personal("id", "version", "in_force_from", "title", "url"),
    "billing.Application": {
        "id": N,
        "reference": N,
        "subscriber": L,
        "plan": N,
        "subscription": L,
        "shipment": L,
        **{
            name: personal(C.CONTRACT, E.LEGAL_HOLD, "how the contract came about (REG-2, REG-3)")
            for name in (
                "status",
                "status_changed_at",
                "created_at",
                "submitted_at",
                "decided_at",
                "decided_by",
                "decision_emailed_at",
                "terms_version",
                "terms_accepted_at",
                "refusal_reason",
                "refusal_rule",
                "refusal_note",
            )
        },
        "terms_accepted_ip": personal(C.ONLINE, E.LEGAL_HOLD, "proof of acceptance of the terms (REG-2)"),
        "payment_method": personal(C.FINANCIAL, E.LEGAL_HOLD),
        "iban": personal(C.FINANCIAL, E.LEGAL_HOLD, "SEPA mandate: kept 14 months after last use (SEPA rulebook)"),
        "account_holder": personal(C.FINANCIAL, E.LEGAL_HOLD, "SEPA mandate"),
        "mandate_reference": personal(C.FINANCIAL, E.LEGAL_HOLD, "SEPA mandate"),
        "mandate_signed_at": personal(C.FINANCIAL, E.LEGAL_HOLD, "SEPA mandate"),
        "card_token": personal(C.FINANCIAL, E.DELETE, "a provider token, no card number"),
        "prepayment_reference": personal(C.FINANCIAL, E.LEGAL_HOLD),
        "identity_transaction": personal(C.IDENTITY, E.DELETE, "the identity provider's transaction"),
    },
    "billing.ApplicationAddOn": {"id": N, "application": L, "product": N},
    "billing.ApplicationCheck": {
        **_not_personal("id", "application", "kind", "attempts"),
        **{
            name: personal(C.CONTRACT, E.ANONYMISE, "outcome of a check about the person")
            for name in ("outcome", "detail", "refusal_reason", "checked_at")
        },
    },
    "billing.RefusalRecord": _not_personal("id", "refused_on", "rule", "reason", "stage"),
    "billing.SubscriptionUnit": {
        "id": N,
        "subscription": L,
        "unit": L,
        "allocated_at": personal(C.CONTRACT, E.LEGAL_HOLD, "which units a person held: proves returns"),
        "returned_at": personal(C.CONTRACT, E.LEGAL_HOLD),
    },
    "billing.Invoice": {
        "id": N,
        "subscriber": L,
        "subscription": L,
        "application": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "tax record, 7 years (AWR art. 52)")
            for name in (
                "number",
                "kind",
                "status",
                "issue_date",
                "due_date",
                "net_total",
                "vat_total",
                "gross_total",
                "paid_at",
                "emailed_at",
                "period_start",
                "period_end",
                "customer_name",
                "customer_address",
                "customer_vat_number",
            )
        },
        "issuer": N,
        "corrects": L,
    },
    # The company's own details on its invoices, and the log of the monthly runs: no person in them.
    "billing.InvoiceIssuer": _not_personal(
        "id", "valid_from", "name", "address", "vat_number", "kvk_number", "iban", "email", "source"
    ),
    "billing.BillingRun": {
        **_not_personal(
            "id",
            "run_on",
            "started_at",
            "finished_at",
            "status",
            "subscriptions_due",
            "chunks",
            "chunks_done",
            "invoices_issued",
            "gross_total",
        ),
        "triggered_by": personal(C.AUDIT, E.ANONYMISE, "a staff member's e-mail when one started it"),
        "errors": Entry(False, None, Erasure.NONE, "error text and the first and last subscription id of a chunk"),
    },
    "billing.InvoiceLine": {
        "id": N,
        "invoice": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "tax record, 7 years (AWR art. 52)")
            for name in ("description", "quantity", "unit_price", "vat_rate", "net", "vat", "gross")
        },
    },
    "billing.Payment": {
        "id": N,
        "subscriber": L,
        "invoice": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in (
                "amount",
                "method",
                "provider_reference",
                "status",
                "received_at",
                "refund_reference",
                "booked_on",
                "unallocated",
                "reversed_on",
                "reason_code",
            )
        },
    },
    "billing.PaymentAllocation": {
        "id": N,
        "payment": L,
        "invoice": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in ("amount", "allocated_at", "released_on")
        },
    },
    "billing.Mandate": {
        "id": N,
        "reference": N,
        "subscriber": L,
        "subscription": L,
        "replaced_by": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "SEPA mandate: proof of the authorisation (PAY-1), kept 7 years")
            for name in (
                "status",
                "iban",
                "bic",
                "account_holder",
                "signed_on",
                "signed_at",
                "channel",
                "text_version",
                "text",
                "ended_on",
                "first_collected_on",
                "last_collected_on",
            )
        },
        "signed_ip": personal(C.ONLINE, E.LEGAL_HOLD, "proof the mandate was given online (PAY-1, REG-2)"),
        "recorded_by": personal(C.AUDIT, E.ANONYMISE, "the staff member who recorded a paper mandate"),
    },
    # A batch names no one itself; its file does (names, accounts): kept as the accounting record it is.
    "billing.DirectDebitBatch": {
        **_not_personal(
            "id",
            "collection_date",
            "message_id",
            "status",
            "created_at",
            "file_version",
            "file_sha256",
            "file_size",
            "file_written_at",
            "transaction_count",
            "first_count",
            "recurring_count",
            "control_sum",
            "submitted_at",
            "bank_reference",
            "settled_on",
        ),
        "file": personal(C.FINANCIAL, E.LEGAL_HOLD, "the pain.008 file names debtors and accounts; 7 years"),
    },
    "billing.CardCharge": {
        "id": N,
        "invoice": L,
        "subscriber": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in (
                "attempt",
                "amount",
                "status",
                "idempotency_key",
                "provider_payment_id",
                "failure_code",
                "chargeback_reason",
                "requested_at",
                "sent_at",
                "decided_at",
                "provider_event_at",
                "next_attempt_on",
                "gave_up_at",
            )
        },
    },
    "billing.ProviderEvent": {
        **_not_personal("id", "event_id", "event_type", "occurred_at", "received_at"),
        # The provider's payment id and what the event did point at a subscriber's payment.
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in ("payment_id", "outcome")
        },
    },
    "billing.Refund": {
        "id": N,
        "payment": L,
        "subscriber": L,
        "batch": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in (
                "amount",
                "from_credit",
                "reason",
                "rule",
                "route",
                "status",
                "key",
                "external_reference",
                "creditor_name",
                "creditor_iban",
                "failure_reason",
                "requested_by",
                "requested_at",
                "sent_at",
                "completed_at",
                "failed_at",
            )
        },
    },
    "billing.CreditTransferBatch": {
        **_not_personal(
            "id",
            "execution_date",
            "message_id",
            "status",
            "created_at",
            "file_sha256",
            "file_size",
            "transaction_count",
            "control_sum",
            "submitted_at",
            "bank_reference",
        ),
        "file": personal(C.FINANCIAL, E.LEGAL_HOLD, "the pain.001 file names creditors and accounts; 7 years"),
    },
    "billing.DirectDebitCollection": {
        "id": N,
        "batch": L,
        "invoice": L,
        "mandate": L,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in ("amount", "sequence_type", "end_to_end_id", "status", "reason_code", "refund_claimed_on")
        },
    },
    # The bank's files: what the bank said about a subscriber's money (names, accounts, remittance) is
    # an accounting record, kept 7 years; the stored XML file likewise.
    "billing.BankFile": {
        **_not_personal(
            "id",
            "kind",
            "message_id",
            "created_by_bank_at",
            "file_name",
            "sha256",
            "size",
            "source",
            "imported_at",
            "entry_count",
            "settled_count",
            "rejected_count",
            "matched_count",
            "unmatched_count",
            "needs_staff_count",
            "ignored_count",
        ),
        "file": personal(
            C.FINANCIAL, E.LEGAL_HOLD, "the bank's file as received: accounting record, 7 years (AWR art. 52)"
        ),
        "imported_by": personal(C.AUDIT, E.LEGAL_HOLD, "who imported it (staff e-mail or job)"),
    },
    "billing.BankFileEntry": {
        "id": N,
        "bank_file": L,
        "batch": L,
        "collection": L,
        "payment": L,
        "invoice": L,
        "line": N,
        "outcome": N,
        "policy": N,
        **{
            name: personal(C.FINANCIAL, E.LEGAL_HOLD, "accounting record, 7 years (AWR art. 52)")
            for name in (
                "end_to_end_id",
                "bank_reference",
                "status_or_direction",
                "amount",
                "reason_code",
                "booking_date",
                "counterparty_name",
                "counterparty_iban",
                "remittance_info",
                "detail",
                "transfer_reference",
                "resolved_at",
            )
        },
        "resolved_by": personal(C.AUDIT, E.LEGAL_HOLD, "the finance staff member who resolved it"),
    },
    "billing.ReturnReasonPolicy": _not_personal("id", "code", "meaning", "action", "source"),
    # The finance queue is a proxy of BankFileEntry (filled in below the table).
    # --- privacy ----------------------------------------------------------------------------------
    "accounts.Disclosure": {
        "id": N,
        "at": personal(C.AUDIT, E.LEGAL_HOLD, "proof of lawful disclosure (PRIV-1)"),
        "partner": N,
        "subscriber": L,
        "categories": personal(C.AUDIT, E.LEGAL_HOLD),
        "purpose": personal(C.AUDIT, E.LEGAL_HOLD),
        "reference": personal(
            C.CONTRACT, E.DELETE, "what it was for (an application's reference): the partner's key to the person"
        ),
    },
    # --- audit and history ------------------------------------------------------------------------
    "audit.AuditEvent": {
        "id": N,
        "at": personal(C.AUDIT, E.ANONYMISE),
        "actor_user": L,
        "actor": personal(C.AUDIT, E.ANONYMISE, "e-mail of the person who acted"),
        "action": N,
        "target_type": N,
        "target_id": N,
        "rule": N,
        "reason": personal(C.AUDIT, E.ANONYMISE, "free text"),
        "data": personal(C.AUDIT, E.ANONYMISE),
    },
    "pghistory.Context": {
        "id": N,
        "created_at": N,
        "updated_at": N,
        "metadata": personal(C.AUDIT, E.ANONYMISE, "actor label and reason of a change"),
    },
    "pghistory.Events": {
        **_not_personal(
            "pgh_slug",
            "pgh_model",
            "pgh_id",
            "pgh_created_at",
            "pgh_label",
            "pgh_context_id",
            "pgh_context",
            "pgh_obj_model",
            "pgh_obj_id",
        ),
        "pgh_data": personal(C.AUDIT, E.ANONYMISE, "a database view over the event tables"),
        "pgh_diff": personal(C.AUDIT, E.ANONYMISE, "a database view over the event tables"),
    },
    "pghistory.MiddlewareEvents": {
        **_not_personal(
            "pgh_slug",
            "pgh_model",
            "pgh_id",
            "pgh_created_at",
            "pgh_label",
            "pgh_context_id",
            "pgh_context",
            "pgh_obj_model",
            "pgh_obj_id",
        ),
        "pgh_data": personal(C.AUDIT, E.ANONYMISE, "a database view over the event tables"),
        "pgh_diff": personal(C.AUDIT, E.ANONYMISE, "a database view over the event tables"),
        "user": L,
        "url": personal(C.ONLINE, E.ANONYMISE),
    },
    # --- Django and libraries ---------------------------------------------------------------------
    "admin.LogEntry": {
        "id": N,
        "action_time": personal(C.AUDIT, E.ANONYMISE),
        "user": L,
        "content_type": N,
        "object_id": N,
        "object_repr": personal(C.AUDIT, E.ANONYMISE, "may be a person's name"),
        "action_flag": N,
        "change_message": personal(C.AUDIT, E.ANONYMISE),
    },
    "auth.Permission": _not_personal("id", "name", "content_type", "codename"),
    "auth.Group": _not_personal("id", "name", "permissions"),
    "auth.Group_permissions": _not_personal("id", "group", "permission"),
    "contenttypes.ContentType": _not_personal("id", "app_label", "model"),
    "sessions.Session": {
        "session_key": personal(C.CREDENTIALS, E.DELETE),
        "session_data": personal(C.CREDENTIALS, E.DELETE, "holds the user id"),
        "expire_date": personal(C.CREDENTIALS, E.DELETE),
    },
    "rest_framework_api_key.APIKey": _not_personal(
        "id", "prefix", "hashed_key", "created", "name", "revoked", "expiry_date"
    ),
    "sequences.Sequence": _not_personal("name", "last"),
    # django-axes: failed log-ins (lockout); successful log-ins are not logged (AXES_DISABLE_ACCESS_LOG).
    "axes.AccessAttempt": {
        "id": N,
        "user_agent": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "ip_address": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "username": personal(C.CONTACT, E.DELETE, "the e-mail a failed log-in named"),
        "http_accept": N,
        "path_info": N,
        "attempt_time": personal(C.ONLINE, E.DELETE),
        "get_data": personal(C.ONLINE, E.DELETE, "query string, secrets masked"),
        "post_data": personal(C.ONLINE, E.DELETE, "form fields, password and code masked"),
        "failures_since_start": N,
    },
    "axes.AccessAttemptExpiration": {"access_attempt": L, "expires_at": N},
    "axes.AccessFailureLog": {
        "id": N,
        "user_agent": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "ip_address": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "username": personal(C.CONTACT, E.DELETE, "the e-mail a failed log-in named"),
        "http_accept": N,
        "path_info": N,
        "attempt_time": personal(C.ONLINE, E.DELETE),
        "locked_out": N,
    },
    "axes.AccessLog": {
        "id": N,
        "user_agent": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "ip_address": personal(C.ONLINE, E.DELETE, "failed log-ins, kept until the lock lifts or staff unlock"),
        "username": personal(C.CONTACT, E.DELETE, "the e-mail a failed log-in named"),
        "http_accept": N,
        "path_info": N,
        "attempt_time": personal(C.ONLINE, E.DELETE),
        "logout_time": personal(C.ONLINE, E.DELETE),
        "session_hash": personal(C.CREDENTIALS, E.DELETE),
    },
    # django-otp: a staff member's authenticator (second factor).
    "otp_totp.TOTPDevice": {
        "id": N,
        "user": L,
        "name": N,
        "confirmed": N,
        "throttling_failure_timestamp": personal(C.CREDENTIALS, E.DELETE),
        "throttling_failure_count": N,
        "created_at": personal(C.CREDENTIALS, E.DELETE),
        "last_used_at": personal(C.CREDENTIALS, E.DELETE),
        "key": personal(C.CREDENTIALS, E.DELETE, "the shared TOTP secret"),
        "step": N,
        "t0": N,
        "digits": N,
        "tolerance": N,
        "drift": N,
        "last_t": N,
    },
}
REGISTER["billing.UnmatchedTransfer"] = REGISTER["billing.BankFileEntry"]

# Row-level history tables: django-pghistory's own columns.
HISTORY_COLUMNS = {
    "pgh_id": N,
    "pgh_created_at": Entry(True, C.AUDIT, E.ANONYMISE, "when a row changed"),
    "pgh_label": N,
    "pgh_obj": L,
    "pgh_context": L,
}


def _field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields] + [f.name for f in model._meta.many_to_many]


def _tracked_model(model: type[models.Model]) -> type[models.Model] | None:
    """The model a pghistory event table tracks, or None for any other model."""
    from pghistory.models import Event

    if issubclass(model, Event) and model._meta.app_label not in ("pghistory",):
        return model.pgh_tracked_model
    return None


def entry_for(model: type[models.Model], field_name: str) -> Entry | None:
    tracked = _tracked_model(model)
    if tracked is not None:
        if field_name in HISTORY_COLUMNS:
            return HISTORY_COLUMNS[field_name]
        return REGISTER.get(tracked._meta.label, {}).get(field_name)
    return REGISTER.get(model._meta.label, {}).get(field_name)


def all_models() -> list[type[models.Model]]:
    """Every model; a proxy of a classified model (billing.OpenReceivable of billing.Invoice) is another
    view of that model's table, whose fields are classified there."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if not (
            model._meta.proxy
            and model._meta.label not in REGISTER
            and model._meta.concrete_model._meta.label in REGISTER
        )
    ]


def unclassified() -> list[str]:
    """`app.Model.field` for every field without an entry: must be empty."""
    return [
        f"{model._meta.label}.{name}"
        for model in all_models()
        for name in _field_names(model)
        if entry_for(model, name) is None
    ]


def stale() -> list[str]:
    """Entries for models or fields that no longer exist: the register must not lie either."""
    known = {model._meta.label: set(_field_names(model)) for model in all_models()}
    return [
        f"{label}.{name}"
        for label, fields in REGISTER.items()
        for name in fields
        if name not in known.get(label, set())
    ]


@dataclass(frozen=True)
class Row:
    model: str
    field: str
    personal: bool
    category: str
    erasure: str
    note: str


def rows() -> list[Row]:
    result = []
    for model in sorted(all_models(), key=lambda m: m._meta.label):
        for name in _field_names(model):
            entry = entry_for(model, name)
            if entry is None:
                continue
            note = entry.note
            if _tracked_model(model) is not None and name not in HISTORY_COLUMNS:
                note = f"history of {_tracked_model(model)._meta.label}" + (f"; {note}" if note else "")
            result.append(Row(model._meta.label, name, entry.personal, entry.category or "", entry.erasure, note))
    return result


def as_markdown(selected: list[Row] | None = None) -> str:
    lines = [
        "| model | field | personal | category | on erasure | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows() if selected is None else selected:
        lines.append(
            f"| {row.model} | {row.field} | {'yes' if row.personal else 'no'} | {row.category} | {row.erasure} "
            f"| {row.note} |"
        )
    return "\n".join(lines) + "\n"


def document() -> str:
    """docs/personal-data-register.md: the whole register with how to read it."""
    personal_rows = [row for row in rows() if row.personal]
    return (
        "# Personal-data register\n\n"
        "Generated by `python manage.py personal_data_register > docs/personal-data-register.md` (or\n"
        "`make docs`) from `privacy/register.py`; a test fails when a field has no entry or this page is\n"
        "out of date. *On erasure* says what a GDPR erasure request (PRIV-3) does with the field; "
        "*keep under legal hold* means the fiscal retention of PRIV-6 (7 years, no further use).\n\n"
        f"{len(personal_rows)} fields hold personal data.\n\n"
        "## Fields holding personal data\n\n"
        f"{as_markdown(personal_rows)}\n"
        "## Every field\n\n"
        f"{as_markdown()}"
    )
