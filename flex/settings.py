"""Flex settings, read from the environment (twelve-factor, as cookiecutter-django does).

With nothing set, Flex runs on an embedded default: a SQLite file, Celery tasks executed in-process
and e-mail written to files. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 and
ALLOWED_HOSTS; `manage.py check --deploy` is then silent.
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

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from the project: the API docs work offline
    "django_fsm",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "sequences",
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
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "flex.audit.middleware.HistoryContextMiddleware",
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

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
# PRIV-9: passwords are stored only as one-way hashes (Django's PBKDF2 by default).
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
    # "partner": requests per API key; "failed_auth": failed authentications per client address (REMOTE_ADDR).
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
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


# Partners (issue 3): each is a sandbox (default; behaves like the service, no network) or the HTTP
# client pointed at the provider. FLEX_PARTNER_<KIND>=sandbox|http, with _URL, _KEY and _SECRET.
def _partner(kind: str, code: str):
    from flex.partners import PartnerConfig

    prefix = f"FLEX_PARTNER_{kind.upper()}"
    return PartnerConfig(
        kind=kind,
        implementation=os.environ.get(prefix, "sandbox"),
        url=os.environ.get(f"{prefix}_URL", ""),
        key=os.environ.get(f"{prefix}_KEY", ""),
        secret=os.environ.get(f"{prefix}_SECRET", f"sandbox-{kind}-secret-not-for-production"),
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
FLEX_CREDITOR = {
    "name": os.environ.get("FLEX_CREDITOR_NAME", "Flex B.V."),
    "identifier": os.environ.get("FLEX_CREDITOR_ID", "NL00ZZZ000000000000"),
    "address": os.environ.get("FLEX_CREDITOR_ADDRESS", "Postbus 1234, 1000 AB Amsterdam"),
}
