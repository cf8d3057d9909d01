"""Admin pages that stay fast on tables of millions of rows (issue 13).

Three things make a Django changelist slow on a big table, and each has its answer here:

- The count. The paginator runs `COUNT(*)` over the whole filtered list on every page, and the
  changelist a second one over the unfiltered table. `EstimatedCountPaginator` counts exactly up to
  10,000 rows (a count over `LIMIT 10001`, cheap whatever the table size) and above that takes the
  PostgreSQL planner's estimate for the same query, shown as "about …"; `show_full_result_count` is off.
- The search. Django's search ORs `icontains` over every field, across joins, and adds `DISTINCT`
  over every column when a field is on a to-many relation. Here an admin lists `finders`: each says
  what a term looks like (an invoice number, an e-mail address, a postcode, a name) and which indexed
  lookups find it. A term is sent only to the finders it fits, so an invoice number is one unique-index
  probe, an e-mail one expression-index probe (`UPPER(email)`), a name a trigram-index search
  (`pg_trgm` GIN on `UPPER(name)`, which is what `icontains` compiles to), and a to-many lookup a
  semi-join (`pk IN (…)`), never `DISTINCT`.
- Sidebar filters over free-text columns (`SELECT DISTINCT col` over the whole table on every page):
  `IndexedValuesFilter` reads the distinct values by skipping through the column's index (a recursive
  query that costs one index probe per distinct value).

Every default ordering and every filter of a large table has an index (see the apps' migrations); the
date hierarchy (a `SELECT DISTINCT date_trunc(…)` over the whole list) is used only on small tables, a
date filter in the sidebar takes its place on large ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.contrib import admin
from django.contrib.admin.utils import lookup_spawns_duplicates
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EstimatedCountPaginator(Paginator):
    """Exact counts for lists of up to 10,000 rows; above that, the planner's estimate (`estimated`)."""

    exact_up_to = 10_000
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        capped = queryset.order_by()[: self.exact_up_to + 1].count()
        if capped <= self.exact_up_to:
            return capped
        estimate = planner_estimate(queryset)
        if estimate is None:  # not PostgreSQL (the embedded demo): exact, its tables are small
            return super().count
        self.estimated = True
        return max(estimate, capped)


def planner_estimate(queryset) -> int | None:
    """The number of rows PostgreSQL expects `queryset` to return (EXPLAIN, nothing is read)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True)
class Finder:
    """One thing a person types in the search box, and how rows are found by it.

    `shape` is a regular expression the whole term must match (case-insensitive); `lookups` are ORed
    and should each be served by one index; `prepare` turns the typed term into the value looked up
    (upper-cased number, normalised postcode). With `words`, every word of the term must match one of
    the lookups (a first and a last name typed together). A lookup may be a function of the value that
    returns the condition, for a match in a small table turned into a list of keys first (a product by
    name: one query on the catalogue, then an index probe on the large table).
    """

    label: str
    lookups: tuple[str | Callable[[object], Q], ...]
    shape: str = r".+"
    prepare: Callable[[str], object] = str
    words: bool = False
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.shape, re.IGNORECASE))

    def fits(self, term: str) -> bool:
        return bool(self.pattern.fullmatch(term))

    def condition(self, model, term: str) -> Q:
        parts = term.split() if self.words else [term]
        return Q.create([self._any_lookup(model, self.prepare(part)) for part in parts], connector=Q.AND)

    def _any_lookup(self, model, value) -> Q:
        conditions = []
        for lookup in self.lookups:
            if callable(lookup):
                conditions.append(lookup(value))
            elif lookup_spawns_duplicates(model._meta, lookup):
                # A to-many relation (a subscriber's addresses): a semi-join, so no row comes twice and
                # no DISTINCT is needed over the whole list.
                conditions.append(Q(pk__in=model._default_manager.filter(**{lookup: value}).values("pk")))
            else:
                conditions.append(Q(**{lookup: value}))
        return Q.create(conditions, connector=Q.OR)


# Shapes shared by the admins; they do not overlap, so a term goes to one kind of index.
EMAIL = r"[^@\s]+@[^@\s]+"
DIGITS = r"\d{1,18}"  # an id or a KvK number (fits a bigint)
NAME = r"[^\d@]*[^\W\d_][^\d@]*"  # letters, spaces, hyphens, apostrophes: no digit, no @
POSTCODE = r"\d{4} ?[a-z]{2}"
INVOICE_NUMBER = r"[a-z]\d{4}(-\d*)?"  # F2026-000123, or the start of one (F2026, F2026-0001)
REFERENCE = r"[a-z]{3}\d+"  # APP0000123, SHP0000042: a letter code and a counter, or the start of one
SERIAL = r"[^\s@]*\d[^\s@]*"  # a warehouse's serial number has a digit somewhere; typed whole or its start


def upper(term: str) -> str:
    return term.upper()


def dutch_postcode(term: str) -> str:
    """'1234ab' and '1234 ab' are both written '1234 AB' (how addresses store them)."""
    compact = term.replace(" ", "").upper()
    return f"{compact[:4]} {compact[4:]}"


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that costs the same on a thousand rows as on ten million."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per choice is a scan of the whole list
    finders: tuple[Finder, ...] = ()

    def get_search_fields(self, request):
        # Django shows the search box when there are search fields; the finders do the searching.
        return [finder.label for finder in self.finders] or super().get_search_fields(request)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if self.finders and not self.search_help_text:
            changelist.search_help_text = _("Search by %(things)s.") % {
                "things": ", ".join(str(finder.label) for finder in self.finders)
            }
        return changelist

    def get_search_results(self, request, queryset, search_term):
        if not self.finders:
            return super().get_search_results(request, queryset, search_term)
        term = " ".join(search_term.split())
        if not term:
            return queryset, False
        fitting = [finder.condition(queryset.model, term) for finder in self.finders if finder.fits(term)]
        if not fitting:
            return queryset.none(), False
        return queryset.filter(Q.create(fitting, connector=Q.OR)), False


class IndexedValuesFilter(admin.FieldListFilter):
    """A sidebar filter over a free-text column's values, read by skipping through its index.

    Django's `AllValuesFieldListFilter` runs `SELECT DISTINCT col` over the whole table on every page;
    this reads the same values with a recursive query that jumps from one value to the next in the
    column's b-tree index (one probe per distinct value). The column must be indexed.
    """

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_kwarg = field_path
        self.lookup_val = params.get(self.lookup_kwarg)
        super().__init__(field, request, params, model, model_admin, field_path)
        self.model = model

    def expected_parameters(self):
        return [self.lookup_kwarg]

    def values(self) -> list[str]:
        table, column = self.model._meta.db_table, self.field.column
        connection = connections[self.model._default_manager.db]
        quote = connection.ops.quote_name
        if connection.vendor == "postgresql":
            sql = (
                f"WITH RECURSIVE v(val) AS ("  # noqa: S608 (identifiers from the model, quoted)
                f"  (SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL "
                f"   ORDER BY 1 LIMIT 1)"
                f"  UNION ALL"
                f"  SELECT (SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} > v.val "
                f"          ORDER BY 1 LIMIT 1) FROM v WHERE v.val IS NOT NULL"
                f") SELECT val FROM v WHERE val IS NOT NULL"
            )
        else:
            sql = f"SELECT DISTINCT {quote(column)} FROM {quote(table)} ORDER BY 1"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return [row[0] for row in cursor.fetchall() if row[0] not in (None, "")]

    def choices(self, changelist):
        values = self.lookup_val or []
        yield {
            "selected": not values,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "display": _("All"),
        }
        for value in self.values():
            yield {
                "selected": value in values,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}),
                "display": value,
            }
