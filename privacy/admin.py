from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.models import Disclosure
from flex.large_tables import EMAIL, NAME, Finder, IndexedValuesFilter
from flex.records_admin import RecordAdmin


@admin.register(Disclosure)
class DisclosureAdmin(RecordAdmin):
    list_display = ["at", "partner", "subscriber", "purpose", "categories", "reference"]
    list_filter = ["partner", ("purpose", IndexedValuesFilter), "at"]
    finders = (
        Finder(_("e-mail"), ("subscriber__email__iexact",), shape=EMAIL),
        Finder(_("subscriber's name"), ("subscriber__last_name__icontains",), shape=NAME, words=True),
        Finder(_("reference"), ("reference",), shape=r"\S*\d\S*"),
    )
    list_select_related = ["partner", "subscriber"]
    sortable_by = []
