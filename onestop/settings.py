"""Settings for onestop: one module driven by environment variables (README, "Configuration")."""

import datetime as dt
import os
import warnings
from pathlib import Path

import dj_database_url
from authlib.deprecate import AuthlibDeprecationWarning
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor as WhiteNoiseCompressor

from onestop import scaling

# Authlib 1.9 warns at import that it will move from httpx to httpx2; the e-ID client catches
# httpx's errors, so it stays on httpx until both move together (docs/integrations.md, e-ID).
# Authlib installs an "always" filter for its warnings when imported, so this one comes after.
warnings.filterwarnings(
    "ignore", message="The httpx module is deprecated", category=AuthlibDeprecationWarning
)

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Secure by default: DEBUG is off unless asked for (`make run` asks for it).
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see README).")
    # DEBUG only (bandit B105).
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_fsm",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "dossiers",
    "citizens",
]

MIDDLEWARE = [
    # First: every later reader of REMOTE_ADDR gets the client, not the proxy (onestop/net.py).
    "onestop.net.ClientAddressMiddleware",
    # Second: the request id and the request's log line (onestop/logs.py); it trusts an incoming
    # X-Request-ID only from a proxy, which the middleware above has identified.
    "onestop.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "onestop.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # DEBUG only: links on slips and in e-mails point at the address the request came to.
    "onestop.middleware.PublicBaseMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed the second factor (django-otp)?
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff: idle sessions end, then no staff page before the second factor (onestop/security.py).
    "onestop.security.StaffIdleTimeoutMiddleware",
    "onestop.security.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "dossiers.api.errors.JsonErrorMiddleware",
    # As django-axes asks, after the others: turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
    # Last: a body over the limits is refused (413) before any middleware or view reads it.
    "onestop.middleware.RequestSizeMiddleware",
]

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "onestop.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "onestop.urls"
WSGI_APPLICATION = "onestop.wsgi.application"

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
                "onestop.context_processors.roles",
            ],
        },
    },
]

# SQLite is the embedded default; production sets DATABASE_URL=postgres://…
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a competing writer (the worker beside the server) rather than failing with
    # "database is locked": transactions take the write lock when they begin (IMMEDIATE), so a
    # transaction never has to upgrade a read lock, which SQLite cannot wait for.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A database cache: throttles (public lookup) must count across every worker process.
# The table is created by migration dossiers 0005.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "onestop_cache",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Authentication hardening (README, "Security of accounts") ---
# Login lockout (django-axes, database handler): after ONESTOP_LOGIN_FAILURE_LIMIT failed logins
# for one account, or from one client address, that account or address is refused, even with
# the right password, until ONESTOP_LOGIN_COOLOFF_MINUTES have passed (a failure while locked
# starts the cool-off again). Web login, admin login and the API token endpoint alike.
AXES_FAILURE_LIMIT = int(os.environ.get("ONESTOP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(
    minutes=float(os.environ.get("ONESTOP_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "onestop.net.client_ip"
AXES_LOCKOUT_CALLABLE = "onestop.security.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# A success does not wipe the failures: they count by address too, and one's own account must
# not reset the address's count.
AXES_RESET_ON_SUCCESS = False
# Second factor for staff (officials, supervisors, Django staff): TOTP apps, recovery codes.
OTP_TOTP_ISSUER = os.environ.get("ONESTOP_OTP_ISSUER", "onestop")
# A staff session idle this long ends (citizens keep Django's normal session).
ONESTOP_STAFF_IDLE_MINUTES = float(os.environ.get("ONESTOP_STAFF_IDLE_MINUTES", "30"))
# API tokens live this many days, then the holder asks for a new one.
ONESTOP_API_TOKEN_DAYS = float(os.environ.get("ONESTOP_API_TOKEN_DAYS", "30"))
# Password reset: e-mails per account and requests per client address, each per hour.
ONESTOP_PASSWORD_RESET_PER_ACCOUNT = int(os.environ.get("ONESTOP_PASSWORD_RESET_PER_ACCOUNT", "3"))
ONESTOP_PASSWORD_RESET_PER_ADDRESS = int(os.environ.get("ONESTOP_PASSWORD_RESET_PER_ADDRESS", "10"))

LOGIN_URL = "citizens:login"
LOGIN_REDIRECT_URL = "start"
LOGOUT_REDIRECT_URL = "citizens:catalogue"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    # Uploaded documents are personal data: never served as public static files.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "onestop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# An e-mail to an applicant that fails is tried again (1 minute, doubling, at most 6 hours
# apart) for this many days after it was written; then it is failed for good and shown on the
# official's dossier page and in the admin (dossiers/notify.py).
ONESTOP_EMAIL_RETRY_DAYS = float(os.environ.get("ONESTOP_EMAIL_RETRY_DAYS", "3"))
# The office queue's tab counts are exact up to this many dossiers, then shown as "1000+".
ONESTOP_QUEUE_COUNT_LIMIT = int(os.environ.get("ONESTOP_QUEUE_COUNT_LIMIT", "1000"))

# Production hardening: on whenever DEBUG is off; each can be relaxed by its variable
# (e.g. behind a TLS-terminating proxy that already redirects).
# Reverse proxies whose X-Forwarded-For is believed (CIDR networks, comma-separated); none by
# default, so the TCP peer is the client (onestop/net.py).
ONESTOP_TRUSTED_PROXIES = env_list("ONESTOP_TRUSTED_PROXIES")
# X-Forwarded-Proto likewise only when a proxy is declared (a client could otherwise claim https).
if ONESTOP_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# The preload flag only allows submitting the domain to browsers' HSTS preload list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp 4): scripts, styles and everything else from this site
# only, no inline <script>, <style> or style="" (tests/test_csp.py scans the templates), no
# eval, no plugins, no <base>, no framing, forms post here only. Images may also be data: URIs
# (the favicon; QR codes are inline SVG: the slips', and the VietQR code of a dossier that owes
# money). A dossier page offering "pay online" adds the payment gateway's origin to its own
# form-action (citizens/views/dossiers.py). The Swagger UI page needs nothing more
# (dossiers/api/docs.py); DRF's browsable API pages alone allow inline styles, not scripts
# (dossiers/api/renderers.py). Django's DEBUG pages (404, 500, with DEBUG=1) get no header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Request bodies: a form or JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) answers
# 413; a body with files (multipart) is limited as a whole by ONESTOP_MAX_REQUEST_BYTES (default
# 60 MB: a dossier's files, 50 MB at most, and the form), each file then by the upload checks.
ONESTOP_MAX_REQUEST_BYTES = int(os.environ.get("ONESTOP_MAX_REQUEST_BYTES", str(60 * 1024 * 1024)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Expiring, revocable tokens (dossiers/models/tokens.py), not DRF's eternal ones.
        "dossiers.api.authentication.ApiTokenAuthentication",
        # A staff session counts only once it has passed the second factor.
        "dossiers.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's two defaults; the browsable one allows DRF's inline styles on its pages only (CSP).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "dossiers.api.renderers.BrowsableAPIRenderer",
    ],
    # Bodies are JSON (nested objects and null do not survive a form); uploads are multipart.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "dossiers.api.pagination.ByIdCursor",
    "EXCEPTION_HANDLER": "dossiers.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "600/minute"),
        "token": os.environ.get("API_THROTTLE_TOKEN", "10/minute"),
        "lookup": os.environ.get("API_THROTTLE_LOOKUP", "20/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles key on REMOTE_ADDR only, which onestop.net has already set to the client address
    # (X-Forwarded-For believed from trusted proxies alone); DRF's own reading of the header
    # would let a client pick a new identity per request.
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "onestop API",
    "DESCRIPTION": (
        "REST API v1 of onestop, the commune one-stop shop: procedures, dossiers, attachments, "
        "actions, audit events, slips, public lookup and service indicators. Every error has "
        'the shape {"error": {"code", "message", "fields"}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The result's delivery is a dossier field and the return action's body: one enum.
    "ENUM_NAME_OVERRIDES": {"ResultDeliveryEnum": "dossiers.models.Dossier.Delivery"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dossiers.api.schema.drop_backend_integer_bounds",
        "dossiers.api.schema.add_common_errors",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every rendering step at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # httpx logs every request with its full URL at INFO; webhook URLs may carry tokens.
        "httpx": {"level": "WARNING"},
    },
}

# --- onestop domain settings (the law leaves these choices to the province) ---
# Office hours as (start, end) "HH:MM" pairs, Monday to Friday.
ONESTOP_OFFICE_HOURS = [
    tuple(part.split("-")) for part in env_list("ONESTOP_OFFICE_HOURS", "07:00-11:30,13:30-17:00")
]
# Dossiers received after this time count from the next working morning.
ONESTOP_INTAKE_CUTOFF = os.environ.get("ONESTOP_INTAKE_CUTOFF", "15:00")
# Public base URL for links printed on slips (QR codes) and sent in e-mails: required when DEBUG
# is off (system check onestop.E002); in development links take the request's address, and this
# default serves what has no request (commands, the worker's own jobs).
ONESTOP_PUBLIC_URL = os.environ.get("ONESTOP_PUBLIC_URL", "http://127.0.0.1:8000" if DEBUG else "")
# Working days a citizen is given to pay what a dossier waiting for payment owes (shown on the
# dossier with the agency's counter and bank details).
ONESTOP_PAYMENT_WORKING_DAYS = int(os.environ.get("ONESTOP_PAYMENT_WORKING_DAYS", "5"))
# Online payments (docs/integrations.md, "Thanh toán trực tuyến"): the gateway's pay page, our
# merchant id there and the shared secret of its signatures (Standard Webhooks, "whsec_" +
# base64). Without a pay URL and a secret, the "pay online" button is not offered (VietQR and
# bank statement imports still work).
ONESTOP_PAYMENT_GATEWAY_URL = os.environ.get("ONESTOP_PAYMENT_GATEWAY_URL", "")
ONESTOP_PAYMENT_GATEWAY_MERCHANT = os.environ.get("ONESTOP_PAYMENT_GATEWAY_MERCHANT", "")
ONESTOP_PAYMENT_GATEWAY_SECRET = os.environ.get("ONESTOP_PAYMENT_GATEWAY_SECRET", "")
# The integration account a payment the gateway confirmed is recorded as (made on first use,
# no password, an integration membership of the receiving agency).
ONESTOP_PAYMENT_ACCOUNT = os.environ.get("ONESTOP_PAYMENT_ACCOUNT", "cong-thanh-toan")

# Login with the national e-ID (OpenID Connect; citizens/eid.py, docs/integrations.md "e-ID").
# Off while ONESTOP_EID_ISSUER is empty. The provider's endpoints and keys come from
# <issuer>/.well-known/openid-configuration, cached for ONESTOP_EID_DISCOVERY_CACHE_SECONDS.
ONESTOP_EID_ISSUER = os.environ.get("ONESTOP_EID_ISSUER", "").rstrip("/")
ONESTOP_EID_CLIENT_ID = os.environ.get("ONESTOP_EID_CLIENT_ID", "")
ONESTOP_EID_CLIENT_SECRET = os.environ.get("ONESTOP_EID_CLIENT_SECRET", "")
ONESTOP_EID_SCOPES = os.environ.get("ONESTOP_EID_SCOPES", "openid profile")
# Asked of the provider (space-separated, in order of preference); empty: not sent.
ONESTOP_EID_ACR_VALUES = os.environ.get("ONESTOP_EID_ACR_VALUES", "")
# The assurance levels the provider uses, lowest first (comma-separated): a procedure's minimum
# level is compared by this order.
ONESTOP_EID_ACR_ORDER = env_list("ONESTOP_EID_ACR_ORDER")
# The ID-token claims carrying the 12-digit personal identification number, the full name and
# the date of birth (YYYY-MM-DD).
ONESTOP_EID_ID_NUMBER_CLAIM = os.environ.get("ONESTOP_EID_ID_NUMBER_CLAIM", "id_number")
ONESTOP_EID_NAME_CLAIM = os.environ.get("ONESTOP_EID_NAME_CLAIM", "name")
ONESTOP_EID_BIRTHDATE_CLAIM = os.environ.get("ONESTOP_EID_BIRTHDATE_CLAIM", "birthdate")
# The provider's name on the login button ("Đăng nhập bằng VNeID").
ONESTOP_EID_BUTTON_LABEL = os.environ.get("ONESTOP_EID_BUTTON_LABEL", "VNeID")
ONESTOP_EID_DISCOVERY_CACHE_SECONDS = int(
    os.environ.get("ONESTOP_EID_DISCOVERY_CACHE_SECONDS", "3600")
)
ONESTOP_EID_TIMEOUT_SECONDS = float(os.environ.get("ONESTOP_EID_TIMEOUT_SECONDS", "10"))
# Clock difference allowed when checking an ID token's exp and iat.
ONESTOP_EID_LEEWAY_SECONDS = int(os.environ.get("ONESTOP_EID_LEEWAY_SECONDS", "60"))

# Background jobs: Django's Tasks API (the django-tasks backport) with the database backend, so a
# job is a row written in the action's own transaction. Run workers with `manage.py run_worker`.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "webhooks"],
    }
}
# A job still marked running this long after it started belongs to a worker that died: it is
# put back in the queue (jobs are idempotent, delivery is at least once).
ONESTOP_STALE_JOB_SECONDS = int(os.environ.get("ONESTOP_STALE_JOB_SECONDS", "600"))

# Exports (dossiers/export_jobs.py): up to this many rows are answered in the request; more are
# built by the worker and downloaded from the requester's export page, where the file is kept
# this many days.
ONESTOP_EXPORT_STREAM_MAX_ROWS = int(os.environ.get("ONESTOP_EXPORT_STREAM_MAX_ROWS", "20000"))
ONESTOP_EXPORT_KEEP_DAYS = float(os.environ.get("ONESTOP_EXPORT_KEEP_DAYS", "7"))

# Uploaded images (dossiers/filecheck.py) are decoded and re-encoded; one larger than this many
# pixels (width × height) is refused before it is decoded (a 50-megapixel photo is ~200 MB in
# memory).
ONESTOP_MAX_IMAGE_PIXELS = int(os.environ.get("ONESTOP_MAX_IMAGE_PIXELS", "50000000"))

# Webhooks: targets in private, loopback or link-local ranges are refused unless listed here
# (CIDR networks, comma-separated), e.g. a provincial platform on the internal network.
ONESTOP_WEBHOOK_ALLOWED_NETWORKS = env_list("ONESTOP_WEBHOOK_ALLOWED_NETWORKS")
ONESTOP_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("ONESTOP_WEBHOOK_TIMEOUT_SECONDS", "10"))
# A failing endpoint is retried with growing delays for this long, then its subscription pauses.
ONESTOP_WEBHOOK_RETRY_HOURS = float(os.environ.get("ONESTOP_WEBHOOK_RETRY_HOURS", "24"))

# Audit seals (docs/integrity.md): every audit record is signed with an Ed25519 key that the
# database never holds. Either a PKCS#8 PEM file, or the 32-byte seed in base64 in the variable
# itself. A development server (DEBUG) makes its own key file on first start; production
# refuses to start without one. Retired keys' public halves go in the keyring directory.
ONESTOP_AUDIT_SIGNING_KEY = os.environ.get("ONESTOP_AUDIT_SIGNING_KEY", "")
ONESTOP_AUDIT_SIGNING_KEY_FILE = os.environ.get("ONESTOP_AUDIT_SIGNING_KEY_FILE", "") or (
    str(BASE_DIR / "var" / "audit-signing-key.pem") if DEBUG else ""
)
if not DEBUG and not (ONESTOP_AUDIT_SIGNING_KEY or ONESTOP_AUDIT_SIGNING_KEY_FILE):
    raise ImproperlyConfigured(
        "An audit signing key must be configured when DEBUG is off: set "
        "ONESTOP_AUDIT_SIGNING_KEY_FILE (see docs/integrity.md)."
    )
ONESTOP_AUDIT_PUBLIC_KEYS_DIR = os.environ.get("ONESTOP_AUDIT_PUBLIC_KEYS_DIR", "")
# Anchors: every few minutes the worker signs a summary of what was recorded, kept in the
# database and appended to this file (put it on storage the database administrators cannot
# rewrite, or ship it off the machine). The lag leaves running transactions time to commit.
ONESTOP_AUDIT_ANCHOR_MINUTES = float(os.environ.get("ONESTOP_AUDIT_ANCHOR_MINUTES", "5"))
ONESTOP_AUDIT_ANCHOR_LAG_SECONDS = int(os.environ.get("ONESTOP_AUDIT_ANCHOR_LAG_SECONDS", "120"))
ONESTOP_AUDIT_ANCHOR_FILE = os.environ.get("ONESTOP_AUDIT_ANCHOR_FILE", "") or (
    str(BASE_DIR / "var" / "audit-anchors.jsonl") if DEBUG else ""
)

# Signed results (docs/integrations.md, "Chữ ký số trên kết quả"): one PKCS#12 file per agency,
# <dir>/<agency code>.p12 (key, certificate, chain), encrypted with the passphrase; roots the
# verification trusts in <dir>/trust/*.pem (revocation lists: *.crl). No file, no signature.
# Outside MEDIA_ROOT and the database; the demo's keys go to var/signing (seed_demo).
ONESTOP_SIGNING_DIR = os.environ.get("ONESTOP_SIGNING_DIR", "") or (
    str(BASE_DIR / "var" / "signing") if DEBUG else ""
)
ONESTOP_SIGNING_PASSPHRASE = os.environ.get("ONESTOP_SIGNING_PASSPHRASE", "")
# More trusted roots (PEM files), beside <dir>/trust/.
ONESTOP_SIGNING_TRUST_ROOTS = env_list("ONESTOP_SIGNING_TRUST_ROOTS")
# An RFC 3161 timestamp authority: signatures are then PAdES B-T (B-B without, or when it does
# not answer within the timeout, in seconds).
ONESTOP_SIGNING_TSA_URL = os.environ.get("ONESTOP_SIGNING_TSA_URL", "")
ONESTOP_SIGNING_TSA_TIMEOUT = float(os.environ.get("ONESTOP_SIGNING_TSA_TIMEOUT", "10"))
# The public verification page (citizens/views/verify.py): largest file it reads.
ONESTOP_VERIFY_MAX_BYTES = int(os.environ.get("ONESTOP_VERIFY_MAX_BYTES", str(20 * 1024 * 1024)))

# --- Beyond one machine (docs/scaling.md; kept in one block, onestop/scaling.py) ---
# Object storage: with ONESTOP_S3_BUCKET (and ONESTOP_S3_ENDPOINT_URL, _REGION, _ACCESS_KEY_ID,
# _SECRET_ACCESS_KEY, optional _PREFIX, _ADDRESSING_STYLE, _CA_BUNDLE, _MAX_MEMORY_BYTES) the
# documents and slips go to a private S3-compatible bucket instead of MEDIA_ROOT; downloads
# still go through the application's permission-checked views (dossiers/storage.py).
_object_storage = scaling.object_storage(os.environ)
if _object_storage:
    STORAGES["default"] = _object_storage
# A read replica: with DATABASE_REPLICA_URL the supervisors' read-only pages (indicators,
# drill-down, audit and access logs, exports) read from the `replica` alias; everything else,
# every write and every transaction stays on `default` (dossiers/replica.py).
_replica = scaling.replica_database(os.environ, DATABASES["default"])
if _replica:
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["dossiers.replica.ReplicaRouter"]
# Anchoring: with workers on several machines, set ONESTOP_AUDIT_ANCHORING=0 on all but one
# host; that host's sweep signs the anchors and appends them to its ONESTOP_AUDIT_ANCHOR_FILE
# (shipped off the machine), so the file is whole in one place (dossiers/anchors.py).
ONESTOP_AUDIT_ANCHORING = env_bool("ONESTOP_AUDIT_ANCHORING", True)
# Sessions (Django's database backend, the default SESSION_ENGINE), the cache (CACHES above:
# DatabaseCache) and so the throttles and login lockouts are in the database: shared by every
# application server as they are.

# --- Production serving: `make serve`, gunicorn.conf.py, /healthz, request logs, the database
# connection pool (docs/deployment.md). Kept in one block; it comes after every DATABASES entry.

# Logs: one JSON object per line in production (LOG_FORMAT=json, the default when DEBUG is off),
# plain text in development; every record carries the request id (onestop/logs.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "") or ("text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING["filters"] = {"request_id": {"()": "onestop.logs.RequestIdFilter"}}
LOGGING["formatters"] = {
    "json": {"()": "onestop.logs.JsonFormatter"},
    "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
}
LOGGING["handlers"]["console"].update(formatter=LOG_FORMAT, filters=["request_id"])

# Static files (DEBUG off): collectstatic writes hashed names with gzip and Brotli copies, served
# by WhiteNoise with a far-future expiry. Source maps are fetched by developer tools only: not
# compressed (the API docs' maps are the bulk of the compression time).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*WhiteNoiseCompressor.SKIP_COMPRESS_EXTENSIONS, "map"]

# A load balancer probes /healthz over plain HTTP on the private network: no redirect to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# PostgreSQL: a connection attempt gives up after ONESTOP_DB_CONNECT_TIMEOUT seconds (libpq
# waits forever by default, and /healthz must answer 503, not hang). With ONESTOP_DB_POOL (on
# by default when DEBUG is off) each process keeps a psycopg pool (Django's "pool" option):
# requests borrow a connection and give it back instead of connecting each time. Persistent
# connections (CONN_MAX_AGE) are then off, as Django requires. SQLite has no pool.
ONESTOP_DB_POOL = env_bool("ONESTOP_DB_POOL", not DEBUG)
for _database in DATABASES.values():
    if _database["ENGINE"] != "django.db.backends.postgresql":
        continue
    _options = _database.setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", int(os.environ.get("ONESTOP_DB_CONNECT_TIMEOUT", "5")))
    if ONESTOP_DB_POOL:
        # A gunicorn process serves at most WEB_THREADS requests at once (gunicorn.conf.py):
        # that many connections are all it can use.
        _pool_max = int(
            os.environ.get("ONESTOP_DB_POOL_MAX", "") or os.environ.get("WEB_THREADS", "") or 4
        )
        _options["pool"] = {
            "min_size": min(int(os.environ.get("ONESTOP_DB_POOL_MIN", "1")), _pool_max),
            "max_size": _pool_max,
            # How long a request waits for a free connection (or for the database to come
            # back) before it fails: /healthz answers 503 within this time when it is down.
            "timeout": float(os.environ.get("ONESTOP_DB_POOL_TIMEOUT", "10")),
            # Idle connections beyond min_size close after this; each is renewed after an hour.
            "max_idle": float(os.environ.get("ONESTOP_DB_POOL_MAX_IDLE", "300")),
            "max_lifetime": float(os.environ.get("ONESTOP_DB_POOL_MAX_LIFETIME", "3600")),
        }
        _database["CONN_MAX_AGE"] = 0
