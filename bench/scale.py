"""Operations at a million rows (issue 13): load a business-sized data set, then time every admin list,
search and filter, the portal pages and the partner API list endpoints.

    .venv/bin/python bench/scale.py                      # 300,000 subscriptions, 3,000,000 invoices
    .venv/bin/python bench/scale.py --subscriptions 3000 --no-write   # a quick look
    BENCH_REUSE=1 .venv/bin/python bench/scale.py         # measure again on the database already loaded

The data goes in set-based (INSERT … SELECT over generate_series, in chunks of one transaction each),
with the history triggers on and a pghistory context per chunk, as a production bulk job writes it.
Every page is requested through Django's test client, 5 times after one warm-up; the median and the
query count of the last request are reported against the issue's targets (admin ≤ 300 ms, portal ≤ 30 ms).
"""

from __future__ import annotations

import json
import statistics
import time

from harness import QueryCounter, arguments, fresh_database, machine, write_block

CHUNK = 100_000
DEMO_WAREHOUSE_KEY = "demowhse.warehouse-demo-key-not-for-production"  # seed_demo's (sandbox mode only)
SURNAMES = [
    "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit",
]  # fmt: skip
FIRST_NAMES = ["Anna", "Bram", "Daan", "Eva", "Femke", "Gijs", "Hanna", "Ivo", "Joke", "Kees", "Lotte", "Milan"]


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def load(subscriptions: int, invoices: int, units: int, applications: int) -> dict[str, float]:
    """Bulk-load the data set; returns seconds per table."""
    import pghistory
    from django.db import connection, transaction

    from billing.models import Plan
    from devices.models import Product
    from devices.services import configured_partner

    plan_ids = list(Plan.objects.values_list("pk", flat=True))
    # The units belong to the demo warehouse, as stock registered through its API would.
    warehouse_id = configured_partner("warehouse").pk
    product_ids = list(Product.objects.values_list("pk", flat=True))
    surnames, first_names = sql_array(SURNAMES), sql_array(FIRST_NAMES)
    timings: dict[str, float] = {}

    def chunked(name: str, total: int, statement: str, **params) -> None:
        started = time.perf_counter()
        for start in range(1, total + 1, CHUNK):
            end = min(start + CHUNK - 1, total)
            with transaction.atomic(), pghistory.context(job="bench-scale-load", table=name), connection.cursor() as c:
                c.execute(statement.replace(" % ", " %% "), {"start": start, "end": end, **params})
        timings[name] = time.perf_counter() - started

    chunked(
        "users",
        subscriptions,
        """INSERT INTO accounts_user (password, is_superuser, email, full_name, is_staff, is_active, date_joined)
           SELECT '!', false, 'scale' || n || '@scale.example', 'Scale ' || n, false, true, now()
           FROM generate_series(%(start)s, %(end)s) AS n""",
    )
    chunked(
        "subscribers",
        subscriptions,
        f"""INSERT INTO accounts_subscriber (kind, first_name, last_name, date_of_birth, organisation_name,
               kvk_number, email, phone, created_at, user_id, verified_identity, language, vat_number)
           SELECT CASE WHEN n % 20 = 0 THEN 'organisation' ELSE 'person' END,
                  ({first_names})[1 + n % {len(FIRST_NAMES)}], ({surnames})[1 + (n / 7) % {len(SURNAMES)}],
                  date '1960-01-01' + (n % 15000),
                  CASE WHEN n % 20 = 0 THEN ({surnames})[1 + n % {len(SURNAMES)}] || ' B.V.' ELSE '' END,
                  CASE WHEN n % 20 = 0 THEN lpad((n % 100000000)::text, 8, '0') ELSE '' END,
                  u.email, '06' || lpad((n % 100000000)::text, 8, '0'),
                  now(), u.id, 'BIN-' || n, 'nl', ''
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_user u ON u.email = 'scale' || n || '@scale.example'""",
    )
    chunked(
        "addresses",
        subscriptions,
        """INSERT INTO accounts_address (street, house_number, house_number_suffix, postcode, city, country,
               moved_in_on, reported_on, subscriber_id)
           SELECT 'Damrak', 1 + n % 300, '', (1000 + n % 8999)::text || ' AB', 'Amsterdam', 'NL',
                  date '2020-01-01', date '2020-01-01', s.id
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_subscriber s ON s.email = 'scale' || n || '@scale.example'""",
    )
    chunked(
        "subscriptions",
        subscriptions,
        """INSERT INTO billing_subscription (status, payment_method, accepted_at, start_date, minimum_term_end,
               notice_by, termination_ground, plan_id, subscriber_id, radio_hd_reference)
           SELECT CASE WHEN n % 50 = 0 THEN 'notice_given' WHEN n % 97 = 0 THEN 'ended' ELSE 'active' END,
                  'sepa_direct_debit', timestamptz '2025-01-01' + (n % 365) * interval '1 day',
                  date '2025-01-03' + (n % 365), date '2025-04-03' + (n % 365), '', '',
                  (%(plans)s::bigint[])[1 + n % %(plan_count)s], s.id, ''
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_subscriber s ON s.email = 'scale' || n || '@scale.example'""",
        plans=plan_ids,
        plan_count=len(plan_ids),
    )
    per_subscription = max(1, invoices // subscriptions)
    chunked(
        "invoices",
        invoices,
        """INSERT INTO billing_invoice (number, kind, status, issue_date, due_date, net_total, vat_total,
               gross_total, paid_at, subscription_id, subscriber_id)
           SELECT 'S' || (2016 + n / 1000000) || '-' || lpad((n % 1000000)::text, 7, '0'),
                  'monthly', CASE WHEN n % %(per)s = 0 THEN 'open' ELSE 'paid' END,
                  date '2024-01-01' + ((n - 1) / %(per)s) % 365 + (n % %(per)s) * 30,
                  date '2024-01-15' + ((n - 1) / %(per)s) % 365 + (n % %(per)s) * 30,
                  47.11, 9.89, 57.00, CASE WHEN n % %(per)s = 0 THEN NULL ELSE now() END,
                  s.id, s.subscriber_id
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN billing_subscription s ON s.id = (SELECT min(id) FROM billing_subscription) + (n - 1) / %(per)s""",
        per=per_subscription,
    )
    chunked(
        "invoice lines",
        invoices,
        """INSERT INTO billing_invoiceline (description, quantity, unit_price, vat_rate, net, vat, gross, invoice_id)
           SELECT 'Monthly fee', 1, 47.11, 21.00, 47.11, 9.89, 57.00, i.id
           FROM billing_invoice i
           WHERE i.id BETWEEN (SELECT min(id) FROM billing_invoice WHERE number LIKE 'S%%') + %(start)s - 1
                          AND (SELECT min(id) FROM billing_invoice WHERE number LIKE 'S%%') + %(end)s - 1""",
    )
    chunked(
        "device units",
        units,
        """INSERT INTO devices_deviceunit (serial_number, condition, status, status_changed_at, inspection_note,
               registered_at, product_id, warehouse_id)
           SELECT 'SC-' || lpad(n::text, 8, '0'), CASE WHEN n % 5 = 0 THEN 'refurbished' ELSE 'new' END,
                  CASE WHEN n % 4 = 0 THEN 'in_stock' ELSE 'with_subscriber' END, now(), '', now(),
                  (%(products)s::bigint[])[1 + n % %(product_count)s], %(warehouse)s
           FROM generate_series(%(start)s, %(end)s) AS n""",
        products=product_ids,
        product_count=len(product_ids),
        warehouse=warehouse_id,
    )
    chunked(
        "applications",
        applications,
        """INSERT INTO billing_application (reference, status, status_changed_at, payment_method, iban,
               account_holder, mandate_reference, identity_transaction, card_token, prepayment_reference,
               created_at, submitted_at, decided_by, refusal_reason, refusal_rule, refusal_note, plan_id,
               subscriber_id)
           SELECT 'APS' || lpad(n::text, 7, '0'),
                  CASE WHEN n % 10 = 0 THEN 'awaiting_review' WHEN n % 13 = 0 THEN 'refused' ELSE 'allocated' END,
                  now(), 'sepa_direct_debit', 'NL91ABNA0417164300', 'Scale', 'FLEX-APS' || n, '', '', '',
                  now(), timestamptz '2025-01-01' + (n % 365) * interval '1 day', '', '', '', '',
                  (%(plans)s::bigint[])[1 + n % %(plan_count)s], s.id
           FROM generate_series(%(start)s, %(end)s) AS n
           JOIN accounts_subscriber s ON s.email = 'scale' || n || '@scale.example'""",
        plans=plan_ids,
        plan_count=len(plan_ids),
    )
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return timings


def pages(subscriptions: int) -> list[tuple[str, str, str, str, float]]:
    """(area, what, who, url, target ms) for every page measured; `who` is staff, subscriber or partner."""
    middle = subscriptions // 2
    invoice = f"S2016-{middle * 10 % 1_000_000:07d}"
    year = "issue_date__gte=2025-01-01&issue_date__lt=2026-01-01"
    return [
        ("admin invoices", "list", "staff", "/admin/billing/invoice/", 300),
        ("admin invoices", "search by number", "staff", f"/admin/billing/invoice/?q={invoice}", 300),
        ("admin invoices", "search by customer name", "staff", "/admin/billing/invoice/?q=Jansen", 300),
        ("admin invoices", "search by e-mail", "staff", f"/admin/billing/invoice/?q=scale{middle}@scale.example", 300),
        ("admin invoices", "filter status=open", "staff", "/admin/billing/invoice/?status__exact=open", 300),
        ("admin invoices", "filter kind=credit note", "staff", "/admin/billing/invoice/?kind__exact=credit_note", 300),
        ("admin invoices", "filter invoice date (2025)", "staff", f"/admin/billing/invoice/?{year}", 300),
        ("admin invoice lines", "list", "staff", "/admin/billing/invoiceline/", 300),
        ("admin invoice lines", "search by invoice number", "staff", f"/admin/billing/invoiceline/?q={invoice}", 300),
        ("admin subscriptions", "list", "staff", "/admin/billing/subscription/", 300),
        ("admin subscriptions", "search Jansen", "staff", "/admin/billing/subscription/?q=Jansen", 300),
        (
            "admin subscriptions",
            "search by e-mail",
            "staff",
            f"/admin/billing/subscription/?q=scale{middle}@scale.example",
            300,
        ),
        (
            "admin subscriptions",
            "filter status",
            "staff",
            "/admin/billing/subscription/?status__exact=notice_given",
            300,
        ),
        ("admin subscriptions", "filter plan", "staff", "/admin/billing/subscription/?plan__id__exact=1", 300),
        ("admin subscribers", "list", "staff", "/admin/accounts/subscriber/", 300),
        (
            "admin subscribers",
            "search by e-mail",
            "staff",
            f"/admin/accounts/subscriber/?q=scale{middle}@scale.example",
            300,
        ),
        ("admin subscribers", "search Anna Jansen", "staff", "/admin/accounts/subscriber/?q=Anna+Jansen", 300),
        ("admin subscribers", "search by postcode", "staff", "/admin/accounts/subscriber/?q=1234ab", 300),
        ("admin subscribers", "filter kind", "staff", "/admin/accounts/subscriber/?kind__exact=organisation", 300),
        ("admin applications", "list", "staff", "/admin/billing/application/", 300),
        (
            "admin applications",
            "search by reference",
            "staff",
            f"/admin/billing/application/?q=APS{middle // 3:07d}",
            300,
        ),
        ("admin applications", "search by name", "staff", "/admin/billing/application/?q=de+Vries", 300),
        ("admin applications", "review queue", "staff", "/admin/billing/application/?queue=review", 300),
        ("admin applications", "filter refused", "staff", "/admin/billing/application/?status__exact=refused", 300),
        ("admin device units", "list", "staff", "/admin/devices/deviceunit/", 300),
        ("admin device units", "search by serial", "staff", f"/admin/devices/deviceunit/?q=SC-{middle:08d}", 300),
        ("admin device units", "search by product", "staff", "/admin/devices/deviceunit/?q=Ray", 300),
        ("admin device units", "filter in stock", "staff", "/admin/devices/deviceunit/?status__exact=in_stock", 300),
        (
            "admin device units",
            "filter refurbished",
            "staff",
            "/admin/devices/deviceunit/?condition__exact=refurbished",
            300,
        ),
        ("admin users", "list", "staff", "/admin/accounts/user/", 300),
        ("admin users", "search by e-mail", "staff", f"/admin/accounts/user/?q=scale{middle}@scale.example", 300),
        ("admin users", "filter staff", "staff", "/admin/accounts/user/?is_staff__exact=1", 300),
        ("admin addresses", "list", "staff", "/admin/accounts/address/", 300),
        ("admin addresses", "search by postcode", "staff", "/admin/accounts/address/?q=1234+AB", 300),
        ("admin audit trail", "list", "staff", "/admin/audit/auditevent/", 300),
        ("portal", "dashboard", "subscriber", "/portal/", 30),
        ("portal", "invoices", "subscriber", "/portal/invoices/", 30),
        ("partner API", "device units, 50 a page", "partner", "/api/v1/device-units/?limit=50", 50),
        ("partner API", "device units in stock, 50", "partner", "/api/v1/device-units/?status=in_stock&limit=50", 50),
        ("partner API", "shipments", "partner", "/api/v1/shipments/", 50),
        ("partner API", "products", "partner", "/api/v1/products/", 50),
        ("partner API", "plans", "partner", "/api/v1/plans/", 50),
    ]


def rows_shown(response) -> str:
    """How many rows the page showed: an admin list's table rows, or an API page's results."""
    body = response.content.decode()
    if response.get("Content-Type", "").startswith("application/json"):
        data = json.loads(body)
        return str(len(data["results"] if isinstance(data, dict) else data))
    table = body.partition('id="result_list"')[2].partition("</table>")[0]
    return str(table.count("<tr") - 1) if table else ""


def measure(client, url: str, runs: int = 5) -> tuple[float, int, int, str]:
    from django.db import connection

    client.get(url)  # warm-up
    times, queries, response = [], 0, None
    for _ in range(runs):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries = counter.count
    return statistics.median(times), queries, response.status_code, rows_shown(response)


def clients(subscriptions: int) -> dict:
    """A test client per kind of user: the admin with its second factor, a subscriber in the middle of
    the data set, and the demo warehouse's API key."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    admin_user = User.objects.get(email="admin@flex.example")
    staff = Client()
    staff.force_login(admin_user)
    # as after entering the code of the demo authenticator (the admin role always needs a second factor)
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.filter(user=admin_user).first().persistent_id
    session.save()
    subscriber = Client()
    subscriber.force_login(User.objects.get(email=f"scale{subscriptions // 2}@scale.example"))
    partner = Client(headers={"Authorization": f"Api-Key {DEMO_WAREHOUSE_KEY}"})
    return {"staff": staff, "subscriber": subscriber, "partner": partner}


def main() -> None:
    import os

    args = arguments(__doc__, "subscriptions", 300_000)
    invoices = args.subscriptions * 10
    units, applications = args.subscriptions, args.subscriptions // 3
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="flex.settings",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="testserver",
        FLEX_SANDBOX="1",
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        fresh_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    timings: dict[str, float] = {}
    if not reuse:
        call_command("migrate", verbosity=0)
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", stdout=quiet)
        timings = load(args.subscriptions, invoices, units, applications)
        for table, seconds in timings.items():
            print(f"loaded {table} in {seconds:.1f} s")
    by_kind = clients(args.subscriptions)
    rows = []
    for area, what, who, url, target in pages(args.subscriptions):
        median, queries, status, shown = measure(by_kind[who], url)
        verdict = "met" if median <= target and status == 200 else "**missed**"
        rows.append(f"| {area} | {what} | {shown} | {median:.0f} ms | {queries} | {target} ms: {verdict} |")
        print(rows[-1], status)
    table = "\n".join(
        [
            f"Run `.venv/bin/python bench/scale.py --subscriptions {args.subscriptions}` ({args.subscriptions:,} "
            f"subscriptions, {invoices:,} invoices and lines, {units:,} units, {applications:,} applications; "
            f"{machine()}). Median of 5 requests after a warm-up.",
            "",
            *(
                [
                    "Loaded set-based with the history triggers on, in "
                    + ", ".join(f"{table} {seconds:.0f} s" for table, seconds in timings.items())
                    + ".",
                    "",
                ]
                if timings
                else []
            ),
            "| page | what | rows shown | median | queries | target |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    if not args.no_write:
        write_block(
            "scale",
            table,
            "## Operations at a million rows (`bench/scale.py`)\n\nTarget (issue 13): every admin list, filter "
            "and search ≤ 300 ms median with a constant query count; portal pages ≤ 30 ms.",
        )


if __name__ == "__main__":
    main()
