"""The monthly billing run at scale, against the raw-SQL floor in the same run (issue 8).

    .venv/bin/python bench/billing_run.py --subscriptions 1000000     # make bench-billing

On a fresh database `flex_bench` (dropped and re-created, migrated and seeded), N active subscriptions
are loaded in bulk (not measured): the demo plans (1-4 products), a third of them with one or two add-ons,
a mix of SEPA and card payers, each with exactly one period due on the run day. Then, in one run:

(a) the floor: one `INSERT … SELECT` of the same invoices (number, customer, period, totals) and their
    lines (the plan and each add-on, VAT per line) into plain tables with the same unique constraint on
    (subscription, period start), no triggers, no history, no foreign keys;
(b) the real run through the job's own code: `start_billing_run` and `bill_chunk` per chunk as the Celery
    tasks take them, one after another in this process (numbers, lines, VAT, customer details, audit,
    history triggers); the invoice e-mails the chunks enqueue are held, not sent (another queue's work);
(c) the same day run again: nothing is due, nothing is written.

Prints the figures and, as its last line, `ratio <(b)/(a)>`; writes the table into docs/performance.md.
"""

from __future__ import annotations

import resource
import time
from datetime import date, timedelta

from harness import arguments, machine, start_django, write_block

RUN_DAY = date(2026, 12, 3)
CHUNK = 100_000  # set-up rows per statement


def load(count: int) -> None:
    """N subscribers with an address and an active subscription each, one period due on RUN_DAY."""
    import pghistory
    from django.db import connection, transaction

    from devices.models import Plan, Product

    plans = list(Plan.objects.order_by("id").values_list("id", flat=True))
    addons = list(Product.objects.filter(is_addon_eligible=True).order_by("id").values_list("id", flat=True))
    # Period n of a start date d months back starts on RUN_DAY + 14 days: due today with the 14-day lead.
    first_due = RUN_DAY + timedelta(days=14)

    def chunked(statement: str, **params) -> None:
        for start in range(1, count + 1, CHUNK):
            end = min(start + CHUNK - 1, count)
            with transaction.atomic(), pghistory.context(job="bench-billing-load"), connection.cursor() as cursor:
                cursor.execute(statement.replace(" % ", " %% "), {"start": start, "end": end, **params})

    chunked(
        """INSERT INTO accounts_user (password, is_superuser, email, full_name, is_staff, is_active, date_joined)
           SELECT '!', false, 'bill' || n || '@billing.example', 'Bill ' || n, false, true, now()
           FROM generate_series(%(start)s, %(end)s) AS n"""
    )
    chunked(
        """INSERT INTO accounts_subscriber (kind, first_name, last_name, date_of_birth, organisation_name,
               kvk_number, email, phone, created_at, user_id, verified_identity, language, vat_number)
           SELECT CASE WHEN n % 20 = 0 THEN 'organisation' ELSE 'person' END, 'Anna', 'Jansen ' || n,
                  date '1970-01-01' + (n % 15000),
                  CASE WHEN n % 20 = 0 THEN 'Bedrijf ' || n || ' B.V.' ELSE '' END,
                  CASE WHEN n % 20 = 0 THEN lpad((n % 100000000)::text, 8, '0') ELSE '' END,
                  u.email, '0612345678', now(), u.id, 'BILL-' || n,
                  CASE WHEN n % 4 = 0 THEN 'en' ELSE 'nl' END,
                  CASE WHEN n % 20 = 0 THEN 'NL004495445B01' ELSE '' END
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_user u ON u.email = 'bill' || n || '@billing.example'"""
    )
    chunked(
        """INSERT INTO accounts_address (street, house_number, house_number_suffix, postcode, city, country,
               moved_in_on, reported_on, subscriber_id)
           SELECT 'Damrak', 1 + n % 300, '', (1000 + n % 8999)::text || ' AB', 'Amsterdam', 'NL',
                  date '2020-01-01', date '2020-01-01', s.id
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_subscriber s ON s.email = 'bill' || n || '@billing.example'"""
    )
    chunked(
        """INSERT INTO billing_subscription (status, payment_method, accepted_at, start_date, minimum_term_end,
               notice_by, termination_ground, plan_id, subscriber_id, radio_hd_reference)
           SELECT 'active', CASE WHEN n % 3 = 0 THEN 'card' ELSE 'sepa_direct_debit' END, now(),
                  %(first_due)s::date - ((3 + n % 10) * interval '1 month'),
                  %(first_due)s::date - ((n % 10) * interval '1 month'),
                  '', '', (%(plans)s::bigint[])[1 + n % %(plan_count)s], s.id, ''
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_subscriber s ON s.email = 'bill' || n || '@billing.example'""",
        first_due=first_due,
        plans=plans,
        plan_count=len(plans),
    )
    with connection.cursor() as cursor:
        # The demo's own subscriptions stay out of the measurement.
        cursor.execute("DELETE FROM billing_billingschedule")
        cursor.execute(
            """INSERT INTO billing_billingschedule (subscription_id, invoiced_until)
               SELECT s.id, %s FROM billing_subscription s JOIN accounts_subscriber c ON c.id = s.subscriber_id
               WHERE c.email LIKE '%%@billing.example'""",
            [first_due],
        )
        # A third hold add-ons: one, or two for every ninth subscription.
        cursor.execute(
            """INSERT INTO billing_subscriptionaddon (added_on, removed_on, product_id, subscription_id)
               SELECT s.start_date, NULL, (%(addons)s::bigint[])[1 + (s.id + k) %% %(addon_count)s], s.id
               FROM billing_subscription s, generate_series(0, 1) AS k
               WHERE s.start_date IS NOT NULL AND s.id %% 3 = 0 AND (k = 0 OR s.id %% 9 = 0)""",
            {"addons": addons, "addon_count": len(addons)},
        )
        cursor.execute("ANALYZE")


FLOOR_TABLES = """
DROP TABLE IF EXISTS floor_invoiceline; DROP TABLE IF EXISTS floor_invoice;
CREATE TABLE floor_invoice (LIKE billing_invoice INCLUDING DEFAULTS);
ALTER TABLE floor_invoice ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ON floor_invoice (number);
CREATE UNIQUE INDEX ON floor_invoice (subscription_id, period_start) WHERE kind = 'monthly';
CREATE TABLE floor_invoiceline (LIKE billing_invoiceline INCLUDING DEFAULTS);
ALTER TABLE floor_invoiceline ADD PRIMARY KEY (id);
CREATE INDEX ON floor_invoiceline (invoice_id);
CREATE SEQUENCE IF NOT EXISTS floor_invoice_id; CREATE SEQUENCE IF NOT EXISTS floor_line_id;
"""

# The same invoices the run issues: a plan line and a line per add-on held, fee incl. VAT split per line
# (net rounded half up), totals the sums of the lines, customer name and address, period and due date.
FLOOR_INVOICES = """
WITH lines AS (
    SELECT s.id AS subscription_id, p.monthly_fee AS gross FROM billing_subscription s
    JOIN billing_billingschedule b ON b.subscription_id = s.id
    JOIN devices_plan p ON p.id = s.plan_id WHERE s.status = ANY(%(billable)s) AND b.invoiced_until <= %(horizon)s
    UNION ALL
    SELECT a.subscription_id, pp.addon_monthly_fee FROM billing_subscriptionaddon a
    JOIN billing_subscription s ON s.id = a.subscription_id
    JOIN billing_billingschedule b ON b.subscription_id = s.id
    JOIN LATERAL (SELECT addon_monthly_fee FROM devices_productprice x WHERE x.product_id = a.product_id
                  AND x.valid_from <= b.invoiced_until ORDER BY x.valid_from DESC LIMIT 1) pp ON true
    WHERE s.status = ANY(%(billable)s) AND b.invoiced_until <= %(horizon)s
), totals AS (
    SELECT subscription_id, sum(round(gross / 1.21, 2)) AS net, sum(gross) AS gross FROM lines GROUP BY 1
)
INSERT INTO floor_invoice (id, number, kind, status, issue_date, due_date, period_start, period_end,
    net_total, vat_total, gross_total, customer_name, customer_address, customer_vat_number, issuer_id,
    subscription_id, subscriber_id)
SELECT nextval('floor_invoice_id'), 'F2026-' || lpad(row_number() OVER (ORDER BY s.id)::text, 8, '0'), 'monthly',
       'open', %(day)s, %(due)s, b.invoiced_until, (b.invoiced_until + interval '1 month')::date - 1,
       t.net, t.gross - t.net, t.gross,
       CASE WHEN c.kind = 'organisation' THEN c.organisation_name ELSE c.first_name || ' ' || c.last_name END,
       a.street || ' ' || a.house_number || a.house_number_suffix || E'\\n' || a.postcode || ' ' || a.city,
       c.vat_number, %(issuer)s, s.id, s.subscriber_id
FROM billing_subscription s
JOIN billing_billingschedule b ON b.subscription_id = s.id
JOIN totals t ON t.subscription_id = s.id
JOIN accounts_subscriber c ON c.id = s.subscriber_id
JOIN LATERAL (SELECT * FROM accounts_address x WHERE x.subscriber_id = s.subscriber_id
              ORDER BY x.moved_in_on DESC, x.id DESC LIMIT 1) a ON true
"""

FLOOR_LINES = """
INSERT INTO floor_invoiceline (id, description, quantity, unit_price, vat_rate, net, vat, gross, invoice_id)
SELECT nextval('floor_line_id'), l.description, 1, l.gross, 21.00, round(l.gross / 1.21, 2),
       l.gross - round(l.gross / 1.21, 2), l.gross, i.id
FROM floor_invoice i
JOIN LATERAL (
    SELECT p.name || ' – monthly fee' AS description, p.monthly_fee AS gross FROM billing_subscription s
    JOIN devices_plan p ON p.id = s.plan_id WHERE s.id = i.subscription_id
    UNION ALL
    SELECT 'Add-on ' || pr.name || ' – monthly fee', pp.addon_monthly_fee FROM billing_subscriptionaddon a
    JOIN devices_product pr ON pr.id = a.product_id
    JOIN LATERAL (SELECT addon_monthly_fee FROM devices_productprice x WHERE x.product_id = a.product_id
                  AND x.valid_from <= i.period_start ORDER BY x.valid_from DESC LIMIT 1) pp ON true
    WHERE a.subscription_id = i.subscription_id
) l ON true
"""


def floor() -> tuple[float, int, int]:
    """(a): seconds, invoices, lines."""
    from django.db import connection, transaction

    from billing.models import BILLABLE_STATUSES, InvoiceIssuer

    issuer = InvoiceIssuer.objects.order_by("-valid_from").first().pk
    horizon = RUN_DAY + timedelta(days=14)
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLES)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            FLOOR_INVOICES,
            {
                "horizon": horizon,
                "day": RUN_DAY,
                "due": horizon,
                "issuer": issuer,
                "billable": [str(s) for s in BILLABLE_STATUSES],
            },
        )
        invoices = cursor.rowcount
        cursor.execute(FLOOR_LINES)
        lines = cursor.rowcount
    return time.perf_counter() - started, invoices, lines


def into_real_tables() -> float:
    """(a'): the floor's rows copied as they are into the real invoice tables (their indexes, deferred
    foreign keys and triggers, no computing), then taken out again: what the tables cost by themselves."""
    from django.db import connection, transaction

    from billing.services.invoicing import INVOICE_COLUMNS

    columns = ", ".join(c for c in INVOICE_COLUMNS if c != "id")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO billing_invoice (id, {columns}) SELECT id + 1000000000, {columns} FROM floor_invoice"
        )
        cursor.execute(
            """INSERT INTO billing_invoiceline (invoice_id, description, quantity, unit_price, vat_rate, net, vat,
                   gross)
               SELECT invoice_id + 1000000000, description, quantity, unit_price, vat_rate, net, vat, gross
               FROM floor_invoiceline"""
        )
    seconds = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_invoiceline WHERE invoice_id >= 1000000000")
        cursor.execute("DELETE FROM billing_invoice WHERE id >= 1000000000")
    return seconds


def real_run() -> tuple[float, int, object]:
    """(b): seconds, queries, the run."""
    from billing import services
    from flex import clock
    from flex.audit.trail import Actor
    from flex.celery import held_tasks

    actor = Actor.system("billing_run")
    started = time.perf_counter()
    with clock.travel_to(RUN_DAY), held_tasks():
        run, chunks = services.start_billing_run(RUN_DAY, actor=actor)
        for first_id, last_id in chunks:
            services.bill_chunk(run.pk, first_id, last_id, actor=actor)
        run = services.finish_billing_run(run.pk, actor=actor)
    return time.perf_counter() - started, run


def main() -> None:
    args = arguments(__doc__, "subscriptions", 1_000_000)
    start_django(
        args.database_url,
        DEBUG="0",
        SECRET_KEY="bench-only-not-a-secret",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        FLEX_SANDBOX_AUTOPILOT="0",
    )
    from billing.models import Invoice, InvoiceLine

    count = args.subscriptions
    started = time.perf_counter()
    load(count)
    print(f"loaded {count} subscriptions in {time.perf_counter() - started:.0f} s", flush=True)

    floor_seconds, floor_invoices, floor_lines = floor()
    print(f"(a) floor: {floor_invoices} invoices, {floor_lines} lines in {floor_seconds:.1f} s", flush=True)
    tables_seconds = into_real_tables()
    print(f"(a') the same rows into the real tables: {tables_seconds:.1f} s", flush=True)
    lines_before = InvoiceLine.objects.filter(invoice__kind="monthly").count()  # the demo seed's own
    invoices_before = Invoice.objects.filter(kind="monthly").count()
    real_seconds, run = real_run()
    lines = InvoiceLine.objects.filter(invoice__kind="monthly").count() - lines_before
    print(f"(b) real run: {run.invoices_issued} invoices, {lines} lines in {real_seconds:.1f} s", flush=True)
    assert run.invoices_issued == floor_invoices == count, (run.invoices_issued, floor_invoices, count)
    assert lines == floor_lines, (lines, floor_lines)
    rerun_seconds, rerun = real_run()
    issued = Invoice.objects.filter(kind="monthly").count() - invoices_before
    assert rerun.invoices_issued == 0 and issued == floor_invoices, (rerun.invoices_issued, issued)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = real_seconds / floor_seconds
    table = "\n".join(
        [
            f"Run `.venv/bin/python bench/billing_run.py --subscriptions {count}` ({machine()}; demo plans with "
            "1-4 products, a third with add-ons, two thirds SEPA; e-mails held).",
            "",
            "| step | figure |",
            "| --- | --- |",
            f"| (a) floor: one INSERT … SELECT into plain tables | {floor_invoices} invoices, {floor_lines} lines "
            f"in {floor_seconds:.1f} s |",
            f"| (a') the same rows copied into the real tables (their 15 indexes, deferred foreign keys, "
            f"triggers; no computing) | {tables_seconds:.1f} s = {tables_seconds / floor_seconds:.2f} × (a) |",
            f"| (b) the real run, {run.chunks} chunks | {run.invoices_issued} invoices in {real_seconds:.1f} s, "
            f"{run.invoices_issued / real_seconds:.0f} a second |",
            f"| (b) / (a) | {ratio:.2f} (target ≤ 2.0); (b) / (a') = {real_seconds / tables_seconds:.2f} |",
            f"| (c) the same day again | 0 written in {rerun_seconds:.2f} s = {rerun_seconds / floor_seconds:.3f} "
            "× (a) (target ≤ 0.1) |",
            f"| peak resident memory | {peak:.0f} MiB (target ≤ 500) |",
        ]
    )
    print(table)
    if not args.no_write:
        write_block(
            "billing_run",
            table,
            "## The monthly billing run (`bench/billing_run.py`)\n\n"
            "Targets (issue 8): the real run within 2× the raw-SQL floor measured in the same run; a rerun of\n"
            "the finished day within 0.1× the floor; peak memory ≤ 500 MiB.",
        )
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
