"""The admin's window on mandates and direct-debit batches (imported by `billing.admin`).

Nothing here is edited: a paper mandate is added through `record_paper_mandate` (the add form asks the
service's rules first), a revocation and a submission are buttons that call their services, and a
batch's file is downloaded through a view that checks the permission to see batches.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from billing import rules, services
from billing.models import DirectDebitBatch, DirectDebitCollection, Mandate, Subscription
from flex import clock
from flex.audit.trail import Actor
from flex.large_tables import DIGITS, EMAIL, INVOICE_NUMBER, NAME, Finder, upper
from flex.records_admin import RecordInline, StoredFileAdminMixin
from flex.refusals import Refusal
from flex.transition_admin import TransitionAdminMixin
from flex.window_admin import RefusalCheckingForm, WindowAdmin

MANDATE_REFERENCE = r"FLEX-\S+"
END_TO_END_ID = r"F\d{4}-\d+-\d+"


class PaperMandateForm(RefusalCheckingForm):
    """A mandate signed on paper: the subscription it is for, the account, the holder and the date on
    the form (PAY-1); the IBAN and the holder's name are checked before anything is written."""

    subscription = forms.ModelChoiceField(
        queryset=Subscription.objects.filter(payment_method="sepa_direct_debit"),
        widget=forms.NumberInput,
        label=_("subscription number"),
    )

    class Meta:
        model = Mandate
        fields = ["iban", "bic", "account_holder", "signed_on"]

    def refusal(self) -> Refusal | None:
        data = self.cleaned_data
        if data["signed_on"] > clock.today():
            return Refusal(
                rule="PAY-1", field="signed_on", message=str(_("The date of signature cannot lie in the future."))
            )
        return rules.valid_iban(data["iban"].replace(" ", "").upper()) or rules.account_holder_refusal(
            data["account_holder"]
        )


class CollectionInline(RecordInline):
    model = DirectDebitCollection
    fields = ["end_to_end_id", "batch", "invoice", "amount", "sequence_type", "status"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("batch", "invoice")


@admin.register(Mandate)
class MandateAdmin(TransitionAdminMixin):
    """A subscriber's SEPA mandate (PAY-1): never edited. A new account is a new mandate, given in the
    portal or recorded here from paper ("Add"), which amends the one before it."""

    list_display = ["reference", "subscriber", "status", "channel", "signed_on", "masked_iban", "last_collected_on"]
    list_filter = ["status", "channel"]
    finders = (
        Finder(_("mandate reference"), ("reference__startswith",), shape=MANDATE_REFERENCE, prepare=upper),
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(_("subscription number"), ("subscription",), shape=DIGITS),
        Finder(_("subscriber's name"), ("subscriber__last_name__icontains",), shape=NAME, words=True),
    )
    list_select_related = ["subscriber"]
    sortable_by = ["reference"]
    addable = True
    form = PaperMandateForm
    inlines = [CollectionInline]
    transition_services = {"revoke": services.revoke_mandate}

    @admin.display(description=_("IBAN"))
    def masked_iban(self, mandate):
        return mandate.masked_iban

    def has_add_permission(self, request):
        return request.user.has_perm("billing.record_paper_mandate")

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["subscription", "iban", "bic", "account_holder", "signed_on"]
        return super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        obj.pk = services.record_paper_mandate(
            data["subscription"].pk,
            iban=data["iban"],
            bic=data.get("bic", ""),
            account_holder=data["account_holder"],
            signed_on=data["signed_on"],
            actor=Actor.of_user(request.user),
        ).pk

    def save_related(self, request, form, formsets, change):
        """The service wrote everything; there is nothing related to save from the form."""


@admin.register(DirectDebitBatch)
class DirectDebitBatchAdmin(StoredFileAdminMixin, TransitionAdminMixin):
    """One collection date's pain.008 file for finance (PAY-1): status, counts, totals, the file to
    download; "Submit to the bank" hands it over (normally the daily job does)."""

    list_display = [
        "message_id",
        "collection_date",
        "status",
        "transaction_count",
        "first_count",
        "recurring_count",
        "control_sum",
        "download",
        "submitted_at",
    ]
    list_filter = ["status"]
    finders = (Finder(_("message id"), ("message_id__startswith",), shape=r"FLEX-DD-\S*", prepare=upper),)
    sortable_by = ["collection_date"]
    readonly_fields = ["download"]
    transition_services = {"submit": services.submit_batch}

    @admin.display(description=_("file"))
    def download(self, batch):
        return self.file_link(batch)


@admin.register(DirectDebitCollection)
class DirectDebitCollectionAdmin(WindowAdmin):
    list_display = ["end_to_end_id", "batch", "invoice", "mandate", "amount", "sequence_type", "status", "reason_code"]
    list_filter = ["status", "sequence_type"]
    finders = (
        Finder(_("end-to-end id"), ("end_to_end_id",), shape=END_TO_END_ID, prepare=upper),
        Finder(_("invoice number"), ("invoice__number__startswith",), shape=INVOICE_NUMBER, prepare=upper),
    )
    list_select_related = ["batch", "invoice", "mandate"]
    sortable_by = []
