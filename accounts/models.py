"""People and logins: users, subscribers and their physical addresses, partner systems and their keys."""

from __future__ import annotations

from datetime import date, timedelta

import pghistory
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from flex.indexes import trigram_index

# REG-8 (terms art. 2.3.4): a move must be reported within 4 weeks.
ADDRESS_REPORT_PERIOD = timedelta(weeks=4)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("e-mail is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # PRIV-9: only a one-way hash is stored
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractBaseUser, PermissionsMixin):
    """A login: staff member or subscriber. Logs in with e-mail."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    is_staff = models.BooleanField(_("staff"), default=False, help_text=_("May log in to the back office."))
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        indexes = [
            # Log-in and search look e-mail up case-insensitively (`email__iexact`, issue 13).
            models.Index(Upper("email"), name="user_email_upper"),
            trigram_index("full_name", name="user_full_name_trgm"),
            models.Index(fields=["email"], condition=Q(is_staff=True), name="user_staff_by_email"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class SubscriberKind(models.TextChoices):
    PERSON = "person", _("natural person")
    ORGANISATION = "organisation", _("legal entity")


@pghistory.track()
class Subscriber(models.Model):
    """A customer: a natural person aged 18+ or a legal entity in the Netherlands (REG-1)."""

    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriber")
    kind = models.CharField(_("kind"), max_length=20, choices=SubscriberKind.choices, default=SubscriberKind.PERSON)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    kvk_number = models.CharField(
        _("KvK number"), max_length=8, blank=True, help_text=_("Chamber of Commerce number, 8 digits.")
    )
    vat_number = models.CharField(
        _("VAT number"),
        max_length=20,
        blank=True,
        help_text=_("A business customer's VAT identification number, printed on its invoices (Wet OB art. 35a)."),
    )
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[("nl", "Nederlands"), ("en", "English")],
        default="nl",
        help_text=_("The language of the e-mails we send (PAY-8): the one the subscriber signed up in."),
    )
    verified_identity = models.CharField(
        _("verified identity"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("The identity provider's pseudonymous reference for this person (REG-4 matching)."),
    )
    identity_verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["last_name", "organisation_name", "id"]
        indexes = [
            # The admin's list order and its kind filter; its search by e-mail, KvK number and name (issue 13).
            models.Index(fields=["last_name", "organisation_name", "id"], name="subscriber_list_order"),
            models.Index(fields=["kind", "last_name", "organisation_name", "id"], name="subscriber_kind_order"),
            models.Index(Upper("email"), name="subscriber_email_upper"),
            models.Index(fields=["kvk_number"], condition=~Q(kvk_number=""), name="subscriber_kvk"),
            trigram_index("last_name", name="subscriber_last_name_trgm"),
            trigram_index("first_name", name="subscriber_first_name_trgm"),
            trigram_index("organisation_name", name="subscriber_org_name_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                name="person_has_name_and_birth_date",
                condition=~Q(kind="person") | (Q(date_of_birth__isnull=False) & ~Q(last_name="")),
            ),
            models.CheckConstraint(
                name="organisation_has_name_and_kvk",
                condition=~Q(kind="organisation") | (~Q(organisation_name="") & Q(kvk_number__regex=r"^[0-9]{8}$")),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == SubscriberKind.ORGANISATION:
            return self.organisation_name
        return f"{self.first_name} {self.last_name}".strip()

    def age_on(self, day: date) -> int | None:
        from accounts.rules import age_on

        return None if self.date_of_birth is None else age_on(self.date_of_birth, day)


@pghistory.track()
class Address(models.Model):
    """A physical address of a subscriber from its move date; the latest move date is current (REG-7, REG-8)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="addresses")
    street = models.CharField(_("street"), max_length=200)
    house_number = models.PositiveIntegerField(_("house number"))
    house_number_suffix = models.CharField(_("suffix"), max_length=10, blank=True)
    postcode = models.CharField(_("postcode"), max_length=7, help_text=_("Dutch postcode: 1234 AB"))
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="NL")
    moved_in_on = models.DateField(_("move date"))
    reported_on = models.DateField(_("reported on"))

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["subscriber", "-moved_in_on", "-id"]
        indexes = [
            models.Index(fields=["-moved_in_on", "-id"], name="address_list_order"),
            models.Index(fields=["postcode", "house_number"], name="address_postcode"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "moved_in_on"], name="one_address_per_move_date"),
            models.CheckConstraint(name="address_in_netherlands", condition=Q(country="NL")),
        ]

    def __str__(self) -> str:
        return f"{self.street} {self.house_number}{self.house_number_suffix}, {self.postcode} {self.city}"

    @property
    def is_reported_late(self) -> bool:
        """REG-8: reported more than 4 weeks after the move."""
        return self.reported_on > self.moved_in_on + ADDRESS_REPORT_PERIOD


class PartnerKind(models.TextChoices):
    WAREHOUSE = "warehouse", _("warehouse")
    CARRIER = "carrier", _("carrier")
    PAYMENTS = "payments", _("payment provider")
    CREDIT_BUREAU = "credit_bureau", _("credit bureau")
    IDENTITY = "identity", _("identity provider")
    RADIO = "radio", _("Radio HD")
    BANK = "bank", _("bank (direct-debit files)")


@pghistory.track()
class Partner(models.Model):
    """A partner system that talks to Flex over the API, or that Flex discloses data to (PRIV-1)."""

    code = models.SlugField(_("code"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=PartnerKind.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerApiKeyManager(APIKeyManager):
    def get_usable_keys(self):
        # Every API request checks its key and then its partner: one query for both.
        return super().get_usable_keys().select_related("partner")


@pghistory.track(exclude=["hashed_key"])
class PartnerApiKey(AbstractAPIKey):
    """A partner's API key: stored as a hash (only the prefix is readable), with scopes.

    The hash is SHA-512 of the whole key (djangorestframework-api-key's `Sha512ApiKeyHasher`): the secret
    part is 32 random characters (~190 bits), so a slow password hash would add only CPU to every
    request, no safety (OWASP ASVS 5.0, 6.5.2). A key stored with a password hasher (before version 3 of
    that library) still works and is re-hashed with SHA-512 at its first use."""

    objects = PartnerApiKeyManager()

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list, blank=True, help_text=_("e.g. catalogue:read, units:write"))

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")


class IdempotentRequest(models.Model):
    """The remembered answer to a POST sent with an Idempotency-Key, per API key."""

    api_key = models.ForeignKey(PartnerApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="one_request_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status or 'in progress'}"


# No row-level history: the log is written once and read (PRIV-1); its rows are the record, and erasure
# only clears the subscriber link. A history row per disclosure would copy each one (issue 13).
class Disclosure(models.Model):
    """Personal data handed to a partner (PRIV-1, terms art. 9.2): who, which categories, why, when.

    Written in the same transaction as the call's outcome, or before a call whose outcome may be lost,
    so that no disclosure goes unrecorded. The subscriber link is cleared, not the row, on erasure.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="disclosures")
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="disclosures"
    )
    categories = models.JSONField(_("data categories"), default=list)
    purpose = models.CharField(_("purpose"), max_length=200)
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("What it was for."))
    at = models.DateTimeField(_("disclosed at"), db_index=True)

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="disclosure_list_order"),
            models.Index(fields=["purpose"], name="disclosure_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} – {self.purpose}"


class SandboxState(models.Model):
    """What a sandbox partner remembers between calls: an open checkout and its payment, a request that
    already timed out once. Kept in the database, not in a process's cache, so that every process (web,
    worker, `seed_demo`) talks to the same partner, as they would to a real one. Only the sandbox
    implementations read or write it (`accounts.adapters.sandbox_state`)."""

    partner = models.CharField(max_length=30)  # the adapter kind: payments, credit_bureau, ...
    key = models.CharField(max_length=100)  # the partner's own id, e.g. a payment id
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()  # the partner's wall clock, as a real partner's
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("sandbox partner state")
        verbose_name_plural = _("sandbox partner states")
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="one_sandbox_state_per_key")]

    def __str__(self) -> str:
        return f"{self.partner}:{self.key}"
