"""Flex settings, read from the environment (twelve-factor, as cookiecutter-django does).

With nothing set, Flex runs on an embedded default: a SQLite file, Celery tasks executed in-process,
e-mail written to files and the sandbox partners (sandbox mode). Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, DEBUG=0, ALLOWED_HOSTS and every partner (FLEX_PARTNER_<KIND>=http with _URL,
_KEY, _SECRET); `manage.py check --deploy` is then silent, and an unconfigured partner is an error.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("FLEX_LOCAL_DIR", BASE_DIR / ".local"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "django-insecure-local-only-key-never-used-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Sandbox mode: the sandbox partners with their published secrets, the /sandbox/ pages, `seed_demo`
# and the demo second factor. On only for the embedded default (no DATABASE_URL, DEBUG on: `make run`)
# or by an explicit FLEX_SANDBOX=1 (the test suite); never by accident in production.
FLEX_SANDBOX = env_bool("FLEX_SANDBOX", DEBUG and not os.environ.get("DATABASE_URL"))

INSTALLED_APPS = [
    "flex.apps.FlexAdminConfig",  # django.contrib.admin with Flex's site: second factor for staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # trigram (pg_trgm) indexes for the admin's name searches (flex/indexes.py)
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from the project: the API docs work offline
    "django_fsm",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "sequences",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "flex",  # project-wide commands and template tags
    "flex.audit",
    "accounts",
    "devices",
    "billing",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "flex.request_guard.RejectNulBytesMiddleware",  # NUL in a path or query: 400, never a 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "flex.audit.middleware.HistoryContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "flex.urls"
WSGI_APPLICATION = "flex.wsgi.application"
ASGI_APPLICATION = "flex.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
            "libraries": {"flex_money": "flex.templatetags.flex_money"},
        },
    },
]

# Database: DATABASE_URL (postgres://user@host:5432/name) or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{LOCAL_DIR / 'flex.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # django-pgtrigger's triggers (pghistory's among them) read the `pgtrigger.ignore` setting; when it is
    # absent they raise and catch an error in a subtransaction on every row, and with Django's deferred
    # foreign keys PostgreSQL then re-checks the queued constraint events each time: a bulk insert grows
    # quadratic in the rows of its transaction. Defined (empty) for every connection, it stays linear.
    # (issue 13; the maintainers' own runtime sets it per transaction with `pgtrigger.ignore()`.)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c pgtrigger.ignore={{}}".strip()

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
# PRIV-9: passwords are stored only as one-way hashes, with Argon2 (argon2id, the OWASP first choice).
# The older hashers stay listed only to read existing hashes: Django rehashes them with Argon2 at the
# next successful log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes checks every log-in (portal and admin) before the password does.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "flex" / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

# Files Flex writes (direct-debit files): kept here, never served as static files; the admin hands
# them out to those allowed to see them.
MEDIA_ROOT = Path(os.environ.get("FLEX_MEDIA_ROOT", LOCAL_DIR / "media"))

STATIC_URL = "static/"
STATIC_ROOT = LOCAL_DIR / "static"
# flex/static is found as the static folder of the "flex" app.
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise looks here even before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Redis serves as cache (API throttling), Celery broker and result backend when configured.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL) or "memory://localhost/"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL or None)
# Without a broker, tasks run in-process at enqueue time: the embedded default of `make run`.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL.startswith("memory://"))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it on the queue for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# E-mail (PAY-8: all subscription information goes out by e-mail). Default: files in .local/mail.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = LOCAL_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Flex <service@flex.example>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["flex.api.auth.PartnerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["flex.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["flex.api.throttling.PartnerRateThrottle"],
    # "partner": requests per API key; "failed_auth": failed authentications per client address
    # (flex.client_ip: X-Forwarded-For believed for FLEX_TRUSTED_PROXY_COUNT proxies of ours).
    "DEFAULT_THROTTLE_RATES": {
        "partner": os.environ.get("API_RATE", "600/min"),
        "failed_auth": os.environ.get("API_FAILED_AUTH_RATE", "30/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "flex.api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "flex.api.schema.PartnerAutoSchema",
    "EXCEPTION_HANDLER": "flex.api.errors.problem_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["flex.api.parsers.JSONParser"],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_VERSION": "v1",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flex partner API",
    "DESCRIPTION": (
        "REST API for Flex's partner systems (warehouse, carrier, payment provider, credit bureau, "
        "identity provider). Authenticate with `Authorization: Api-Key <key>`; every POST honours an "
        "`Idempotency-Key` header; errors are `application/problem+json`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flex.api.schema.document_problems",
    ],
    # Swagger UI and its assets from drf-spectacular-sidecar, served by the project (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"

# Security: strict when DEBUG is off, so that `check --deploy` has nothing to report.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# REG-2 / PAY-1 evidence: the client address is REMOTE_ADDR unless Flex runs behind this many reverse
# proxies, each appending to X-Forwarded-For (0: the header is ignored; anyone can write it).
FLEX_TRUSTED_PROXY_COUNT = int(os.environ.get("FLEX_TRUSTED_PROXY_COUNT", "0"))

# Log-in: lock out a user name at an address after repeated failures (portal and admin alike);
# staff unlock in the admin (Login attempts) or the lock lifts after the cool-off.
AXES_FAILURE_LIMIT = int(os.environ.get("FLEX_LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = float(os.environ.get("FLEX_LOGIN_COOLOFF_HOURS", "1"))
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: successful log-ins are not kept (data minimisation)
AXES_USERNAME_CALLABLE = "accounts.login_security.attempted_username"
AXES_CLIENT_IP_CALLABLE = "flex.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["otp_token", "csrfmiddlewaretoken"]  # never kept with a failed attempt
AXES_VERBOSE = False

# Staff: a second factor (TOTP) is required in production, and for the admin role always; a staff
# session lasts one working day. Subscribers keep Django's default session age.
OTP_TOTP_ISSUER = os.environ.get("FLEX_OTP_ISSUER", "Flex back office")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows an authenticator's key or QR code again
FLEX_STAFF_SESSION_SECONDS = int(os.environ.get("FLEX_STAFF_SESSION_SECONDS", str(9 * 3600)))

# Content-Security-Policy (django-csp 4) on every page: scripts and styles only from Flex itself.
# Swagger UI (/api/docs/) is served from the project (drf-spectacular-sidecar, split view: no inline script);
# that one page may use inline styles, which Swagger UI sets on its own elements (flex/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint (invoice PDFs) and fontTools log every step of every document at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}

# Operations settings (RULES.md marks these *setting*): defaults here, overridable per environment.
FLEX = {
    "MAX_ADDONS_HELD": int(os.environ.get("FLEX_MAX_ADDONS_HELD", "4")),  # PLAN-4
    "PRIVACY_RESPONSE_DAYS": int(os.environ.get("FLEX_PRIVACY_RESPONSE_DAYS", "30")),  # PRIV-3
    "TAX_RETENTION_YEARS": int(os.environ.get("FLEX_TAX_RETENTION_YEARS", "7")),  # PRIV-6
    "PERSONAL_DATA_RETENTION_MONTHS": int(os.environ.get("FLEX_PERSONAL_DATA_RETENTION_MONTHS", "6")),
    # PLAN-6: how far a partner's reported time may lie ahead of ours (clocks differ a little).
    "PARTNER_CLOCK_SKEW_SECONDS": int(os.environ.get("FLEX_PARTNER_CLOCK_SKEW_SECONDS", "300")),
}
# REG-6: accept an application without staff review when every check passed (off: staff decide).
FLEX["AUTO_ACCEPT"] = env_bool("FLEX_AUTO_ACCEPT", False)


# Partners (issue 3): each is a sandbox (behaves like the service, no network; sandbox mode only) or
# the HTTP client pointed at the provider. FLEX_PARTNER_<KIND>=sandbox|http, with _URL, _KEY and
# _SECRET. Outside sandbox mode nothing defaults: an unconfigured partner fails the system check.
def _partner(kind: str, code: str):
    from flex.partners import PartnerConfig

    prefix = f"FLEX_PARTNER_{kind.upper()}"
    return PartnerConfig(
        kind=kind,
        implementation=os.environ.get(prefix, "sandbox" if FLEX_SANDBOX else ""),
        url=os.environ.get(f"{prefix}_URL", ""),
        key=os.environ.get(f"{prefix}_KEY", ""),
        secret=os.environ.get(f"{prefix}_SECRET", f"sandbox-{kind}-secret-not-for-production" if FLEX_SANDBOX else ""),
        partner_code=os.environ.get(f"{prefix}_CODE", code),
    )


FLEX_PARTNERS = {
    "identity": _partner("identity", "idin"),
    "credit_bureau": _partner("credit_bureau", "creditbureau"),
    "payments": _partner("payments", "payments"),
    "warehouse": _partner("warehouse", "warehouse"),
    "carrier": _partner("carrier", "carrier"),
    "radio": _partner("radio", "radiohd"),
}
FLEX_SANDBOX_LATENCY_MS = int(os.environ.get("FLEX_SANDBOX_LATENCY_MS", "0"))
# The sandbox warehouse and carrier confirm shipping and delivery by themselves, as partners would.
FLEX_SANDBOX_AUTOPILOT = env_bool("FLEX_SANDBOX_AUTOPILOT", True)
# The creditor named on SEPA mandates (SEPA Core rulebook: name and creditor identifier, the Dutch
# "incassant-ID" issued by the Dutch Payments Association). Set the real identifier in production.
# The sandbox's identifier is a well-formed one (check digits right, EPC262-08) for a made-up KvK
# number; outside sandbox mode nothing defaults and `billing.checks` refuses to start without one.
FLEX_CREDITOR = {
    "name": os.environ.get("FLEX_CREDITOR_NAME", "Flex B.V."),
    "identifier": os.environ.get("FLEX_CREDITOR_ID", "NL69ZZZ123456780000" if FLEX_SANDBOX else ""),
    "address": os.environ.get("FLEX_CREDITOR_ADDRESS", "Postbus 1234, 1000 AB Amsterdam"),
    # The account the collections are credited to, and its bank (pain.008 CdtrAcct, CdtrAgt).
    "iban": os.environ.get("FLEX_CREDITOR_IBAN", "NL91ABNA0417164300" if FLEX_SANDBOX else ""),
    "bic": os.environ.get("FLEX_CREDITOR_BIC", "ABNANL2A" if FLEX_SANDBOX else ""),
}
# The bank that takes the direct-debit files (billing/adapters/bank.py): `sandbox` (sandbox mode only),
# `directory` (a file drop: FLEX_BANK_OUTBOX, e.g. a folder a bank's connectivity client uploads from)
# or `http` (an upload to FLEX_BANK_URL with FLEX_BANK_KEY, e.g. a payment hub's file API).
FLEX_BANK = {
    "implementation": os.environ.get("FLEX_BANK", "sandbox" if FLEX_SANDBOX else ""),
    "outbox": os.environ.get("FLEX_BANK_OUTBOX", ""),
    # Where the bank's connectivity client leaves its report files (pain.002, camt.054, camt.053).
    "inbox": os.environ.get("FLEX_BANK_INBOX", ""),
    "url": os.environ.get("FLEX_BANK_URL", ""),
    "key": os.environ.get("FLEX_BANK_KEY", ""),
    "partner_code": os.environ.get("FLEX_BANK_CODE", "bank"),
}
# SEPA Core: the file reaches the bank at least this many TARGET2 business days before the collection
# date (Dutch banks' cut-off is D-1; one day more leaves room for a retry).
FLEX_DIRECT_DEBIT_LEAD_DAYS = int(os.environ.get("FLEX_DIRECT_DEBIT_LEAD_DAYS", "2"))
# Card payers (billing/services/cards.py, PAY-1): a failed charge is tried again after each of
# `retry_days` (in days after the failure; 3 and 7: a payday often falls in between), then the
# subscriber is asked to pay online or update the card. A charge claimed by a worker that vanished is
# asked for again (same idempotency key) after `claim_minutes`; one whose webhook never came is asked
# for by status after `status_after_minutes`.
# Where subscribers reach the portal: links in e-mails (e.g. the pay button of an open invoice).
FLEX_SITE_URL = os.environ.get("FLEX_SITE_URL", "http://127.0.0.1:8000")
FLEX_CARD_CHARGES = {
    "retry_days": [int(d) for d in os.environ.get("FLEX_CARD_RETRY_DAYS", "3,7").split(",") if d.strip()],
    "claim_minutes": int(os.environ.get("FLEX_CARD_CLAIM_MINUTES", "10")),
    "status_after_minutes": int(os.environ.get("FLEX_CARD_STATUS_AFTER_MINUTES", "60")),
}

# The supplier's details every invoice names (Wet OB 1968 art. 35a lid 1). The first InvoiceIssuer row is
# made from these at migration; later changes are new dated rows in the admin (billing.InvoiceIssuer).
FLEX_ISSUER = {
    "name": os.environ.get("FLEX_ISSUER_NAME", FLEX_CREDITOR["name"]),
    "address": os.environ.get("FLEX_ISSUER_ADDRESS", "Herengracht 100\n1015 BS Amsterdam\nNederland"),
    "vat_number": os.environ.get("FLEX_ISSUER_VAT_NUMBER", "NL000099998B57"),
    "kvk_number": os.environ.get("FLEX_ISSUER_KVK_NUMBER", "99999999"),
    "iban": os.environ.get("FLEX_ISSUER_IBAN", "NL91ABNA0417164300"),
    "email": os.environ.get("FLEX_ISSUER_EMAIL", "facturen@flex.example"),
}
# PAY-1: monthly fees are invoiced this many days before the period starts. With PAY-2's 14-day payment
# term the invoice falls due on the period's first day, and for SEPA payers the invoice e-mail is the
# pre-notification at least 14 days before the collection (SEPA Core rulebook PT-03.10; terms art. 8).
FLEX["INVOICE_LEAD_DAYS"] = int(os.environ.get("FLEX_INVOICE_LEAD_DAYS", "14"))
# Subscriptions per chunk of the monthly run: one short transaction and one Celery task each (5,000:
# fewer commits, ~30% faster than 1,000 in bench/billing_run.py, and a few MiB of memory).
FLEX["BILLING_CHUNK_SIZE"] = int(os.environ.get("FLEX_BILLING_CHUNK_SIZE", "5000"))

# The history admin (pghistory.admin) lists events only for a chosen row or model: all events of all
# tables at once is a sort over millions of rows (issue 13).
PGHISTORY_ADMIN_ALL_EVENTS = False
