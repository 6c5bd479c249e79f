"""Mifumo settings, read from the environment (see .env.example)."""

import base64
import hashlib
import hmac
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Django's generic classes accept the type arguments mypy checks (ModelAdmin[Model]...).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# No fallback, DEBUG or not: a key anyone can read in the source signs tokens anyone can forge.
SECRET_KEY = env.str("SECRET_KEY", default="")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters. `make run` writes "
        "one into .env on its first run (scripts/env_secrets.py); elsewhere set it in the "
        "environment, e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
# Access and refresh tokens are signed with a key of their own, so it can be rotated (signing
# every session out) without touching what SECRET_KEY protects; by default one derived from it.
JWT_SIGNING_KEY = (
    env.str("JWT_SIGNING_KEY", default="")
    or hmac.new(SECRET_KEY.encode(), b"mifumo.jwt-signing-key", hashlib.sha256).hexdigest()
)
if len(JWT_SIGNING_KEY) < 32:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 32 characters when set.")
# Fernet keys for the credentials of tenants' own provider accounts (sms.credentials): one, or
# several comma-separated while rotating (the first encrypts, each one decrypts). Without DEBUG
# it must be set; in development it falls back to one derived from SECRET_KEY.
CREDENTIALS_ENCRYPTION_KEY = env.str("CREDENTIALS_ENCRYPTION_KEY", default="")
if not CREDENTIALS_ENCRYPTION_KEY.strip():
    if not DEBUG:
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEY must be set: it encrypts the tenants' provider "
            "credentials. `make run` writes one into .env on its first run; elsewhere make one "
            "with: python3 -c 'import base64, secrets; "
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'"
        )
    CREDENTIALS_ENCRYPTION_KEY = base64.urlsafe_b64encode(
        hmac.new(SECRET_KEY.encode(), b"mifumo.credentials-key", hashlib.sha256).digest()
    ).decode()
for _credentials_key in CREDENTIALS_ENCRYPTION_KEY.split(","):
    try:
        _credentials_key_bytes = base64.urlsafe_b64decode(_credentials_key.strip().encode())
    except ValueError:
        _credentials_key_bytes = b""
    if len(_credentials_key_bytes) != 32:
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEY holds a key that is not 32 bytes in URL-safe base64 "
            "(a Fernet key)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", ".localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)
# Links the app prints and emails follow PORT unless these say otherwise.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="") or f"http://127.0.0.1:{PORT}"
# New tenants get the primary domain <subdomain>.<TENANT_BASE_DOMAIN>.
TENANT_BASE_DOMAIN = env.str("TENANT_BASE_DOMAIN", default="localhost")
# Hosts that serve the API itself; no tenant may claim them as a domain.
PLATFORM_HOSTS = env.list("PLATFORM_HOSTS", default=["localhost", "127.0.0.1"])

# --- Apps: public schema (SHARED_APPS) and per-tenant schemas (TENANT_APPS), DESIGN section 2.
SHARED_APPS = [
    "django_tenants",
    "mifumo",
    "tenants",
    "accounts",
    "billing",
    "integration",
    "sms",
    "webhooks",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_yasg",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "messaging",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenant schemas are cloned from this migrated template instead of migrated one by one.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue `SET search_path` once per schema change rather than before every query. Safe since
# django-tenants forgets the setting on every rollback (a rolled-back SET is undone).
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "mifumo.middleware.JsonErrorMiddleware",
    "mifumo.input_limits.RequestLimitsMiddleware",
    "mifumo.ratelimit.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantSelectionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Ordered tenant resolvers used by TenantSelectionMiddleware; each returns a TenantChoice or
# None. An integration API key (mif_...) is asked first.
TENANT_RESOLVERS = [
    "integration.auth.tenant_from_api_key",
    "tenants.middleware.tenant_from_host",
    "tenants.middleware.tenant_from_jwt",
]

ROOT_URLCONF = "mifumo.urls"
# A redirect would drop a POST body; a slash-less path gets a JSON 404 naming the right one.
APPEND_SLASH = False
WSGI_APPLICATION = "mifumo.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/mifumo",
        engine="django_tenants.postgresql_backend",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    }
}

# --- Auth
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=60 * 60 * 24 * 3)
VERIFICATION_CODE_TTL = timedelta(minutes=10)
VERIFICATION_CODE_MAX_ATTEMPTS = 5
INVITATION_TTL = timedelta(days=7)
# The operator `manage.py demo_setup` creates on the first run; empty: a random one, shown once.
OPERATOR_PASSWORD = env.str("OPERATOR_PASSWORD", default="")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": False,
    "BLACKLIST_AFTER_ROTATION": False,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": JWT_SIGNING_KEY,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.middleware.TenantJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "mifumo.input_limits.BoundedJSONParser",
        "mifumo.input_limits.BoundedFormParser",
        "mifumo.input_limits.BoundedMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "mifumo.pagination.EnvelopePagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "mifumo.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["mifumo.ratelimit.RedisRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Trusted reverse proxies in front of the app; 0 ignores a client-sent X-Forwarded-For, so
    # per-IP rate limits cannot be dodged by spoofing it.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# Requests per window, per scope (DESIGN section 3). Format: "<count>/<sec|min|hour|day>".
# A view scope "auth:login" counts on its own but takes the rate of "auth".
RATE_LIMITS = {
    "auth": env.str("RATE_LIMIT_AUTH", default="5/min"),
    "sms_send": env.str("RATE_LIMIT_SMS_SEND", default="100/min"),
    "sms_status": env.str("RATE_LIMIT_SMS_STATUS", default="200/min"),
    "delivery_reports": env.str("RATE_LIMIT_DELIVERY_REPORTS", default="50/min"),
    "balance": env.str("RATE_LIMIT_BALANCE", default="20/min"),
    "contacts": env.str("RATE_LIMIT_CONTACTS", default="500/hour"),
    "api_key": env.str("RATE_LIMIT_API_KEY", default="1000/hour"),
    # Activation codes texted to one account, whatever IP asks for them.
    "verification_sms": env.str("RATE_LIMIT_VERIFICATION_SMS", default="5/hour"),
}
IDEMPOTENCY_TTL_SECONDS = 60 * 60 * 24
# How long a first request may hold its Idempotency-Key before a retry may take it over.
IDEMPOTENCY_LOCK_SECONDS = 60

SWAGGER_USE_COMPAT_RENDERERS = False
SWAGGER_SETTINGS = {
    "SECURITY_DEFINITIONS": {
        "Bearer": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": (
                "`Bearer <JWT access token>` on dashboard routes; `Bearer mif_...` (an API "
                "key) on /api/integration/v1/."
            ),
        }
    },
    "USE_SESSION_AUTH": False,
    # `manage.py generate_swagger` reads the title and version from here.
    "DEFAULT_INFO": "mifumo.urls.api_info",
}

# --- Celery (tenant-aware tasks carry their schema in a header)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set:
# each task then paid for a new Postgres backend (a fork, its catalog caches cold), 40 a second
# in a campaign's batches. A worker keeps its connection for this many tasks, and each task
# ends as a web request does, closing it when unusable or older than CONN_MAX_AGE
# (mifumo.celery).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Codes, receipts and alerts (the platform's SMS, the tenants' small sends drained
    # together) have a queue of their own: a worker takes from each of its queues in turn, so
    # they never wait behind a campaign's thousand batches in `sends`.
    "sms.tasks.*": {"queue": "transactional"},
    "messaging.tasks.outbox_drain": {"queue": "transactional"},
    # The sends themselves; the sweeps that watch over them stay on `default`, so a backlog of
    # sends never holds up the sweep that would find what it lost.
    "messaging.tasks.outbox_batch_send": {"queue": "sends"},
    "messaging.tasks.outbox_send_release": {"queue": "sends"},
    "messaging.tasks.status_reports_*": {"queue": "sends"},
    "messaging.tasks.contact_import_*": {"queue": "imports"},
    "integration.tasks.*": {"queue": "webhooks"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
# Beat's periods of the per-tenant work.
OUTBOX_SWEEP_SECONDS = 15
CAMPAIGNS_ADVANCE_SECONDS = 15
CONVERSATIONS_WAKE_SECONDS = 60
CELERY_BEAT_SCHEDULE = {
    "accounts-prune-expired-credentials": {
        "task": "accounts.tasks.expired_credentials_prune",
        "schedule": 60 * 60 * 24,
    },
    # Each run's per-tenant tasks expire with the next run (mifumo.periodic.for_each_tenant).
    "messaging-outbox-sweep": {
        "task": "messaging.tasks.outbox_sweep_all",
        "schedule": OUTBOX_SWEEP_SECONDS,
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    "webhooks-status-events": {"task": "webhooks.tasks.status_events_process", "schedule": 10},
    # Inbound messages a lost kick left pending (Redis down at commit) are applied all the same.
    "webhooks-inbound-messages": {
        "task": "webhooks.tasks.inbound_messages_process",
        "schedule": 10,
    },
    # Sends one campaigns_advance per tenant: due starts and runs, lost fan-outs, counters.
    "messaging-campaigns-advance": {
        "task": "messaging.tasks.campaigns_advance_all",
        "schedule": CAMPAIGNS_ADVANCE_SECONDS,
        "options": {"expires": CAMPAIGNS_ADVANCE_SECONDS},
    },
    # Snoozed conversations whose snoozed_until passed open again.
    "messaging-conversations-wake": {
        "task": "messaging.tasks.conversations_wake_all",
        "schedule": CONVERSATIONS_WAKE_SECONDS,
        "options": {"expires": CONVERSATIONS_WAKE_SECONDS},
    },
    "integration-webhook-deliveries-due": {
        "task": "integration.tasks.webhook_deliveries_due_send",
        "schedule": 30,
    },
    "billing-payments-expire": {"task": "billing.tasks.payments_expire", "schedule": 60},
    "billing-credit-lots-expire": {"task": "billing.tasks.credit_lots_expire", "schedule": 60 * 15},
    "billing-subscriptions-advance": {
        "task": "billing.tasks.subscriptions_advance",
        "schedule": 60 * 15,
    },
    "billing-ledger-integrity-check": {
        "task": "billing.tasks.ledger_integrity_check_task",
        "schedule": 60 * 60 * 24,
    },
}

# --- SMS
SMS_PROVIDER = env.str("SMS_PROVIDER", default="sandbox")
PLATFORM_SMS_SENDER = env.str("PLATFORM_SMS_SENDER", default="Taarifa-SMS")
SANDBOX_OUTBOX_LIMIT = env.int("SANDBOX_OUTBOX_LIMIT", default=10_000)
# Seconds after accepting before the sandbox reports a message delivered.
SANDBOX_DELIVERY_DELAY_SECONDS = env.float("SANDBOX_DELIVERY_DELAY_SECONDS", default=2.0)
# The outbox (messaging.outbox): batches per task, messages per provider call, retries.
SMS_SEND_BATCH_SIZE = env.int("SMS_SEND_BATCH_SIZE", default=1000)
SMS_PROVIDER_CHUNK_SIZE = env.int("SMS_PROVIDER_CHUNK_SIZE", default=1000)
SMS_SEND_MAX_ATTEMPTS = 3
# Seconds before the 2nd and 3rd attempt after a transient provider error.
SMS_RETRY_DELAYS = env.list("SMS_RETRY_DELAYS", cast=float, default=[15.0, 60.0])
# Shorter delays are Celery countdowns; longer ones are released by the sweep.
SMS_COUNTDOWN_MAX_SECONDS = 300
# A retry this late past its time is swept again (its task died with a worker).
SMS_RETRY_GRACE_SECONDS = env.int("SMS_RETRY_GRACE_SECONDS", default=30)
# A message queued this long with the send queue empty lost its task; with batches still
# waiting in the queue it may be among them, so only after the longer STALE time.
SMS_OUTBOX_LOST_SECONDS = env.int("SMS_OUTBOX_LOST_SECONDS", default=30)
SMS_OUTBOX_STALE_SECONDS = env.int("SMS_OUTBOX_STALE_SECONDS", default=300)
SMS_SWEEP_MAX_MESSAGES = 100_000
# Send capacity: segments per second per sender id, and the send workers a tenant may share.
SMS_SENDER_SEGMENTS_PER_SECOND = env.float("SMS_SENDER_SEGMENTS_PER_SECOND", default=1000.0)
SMS_SENDER_RATE_LIMITS = env.json("SMS_SENDER_RATE_LIMITS", default={})
SMS_SEND_CONCURRENCY = env.int("SMS_SEND_CONCURRENCY", default=2)
# Provider requests in flight at once for one channel (one provider account), across the
# SMS_SEND_CONCURRENCY send workers, each on a kept connection (sms.providers.base).
SMS_PROVIDER_MAX_IN_FLIGHT = env.int("SMS_PROVIDER_MAX_IN_FLIGHT", default=32)
# A running batch renews the leases on its tenant's slot and on its claimed messages every
# RENEW seconds (sms.leases); a killed worker's lapse this long after its last renewal.
SMS_LEASE_SECONDS = env.int("SMS_LEASE_SECONDS", default=20)
SMS_LEASE_RENEW_SECONDS = SMS_LEASE_SECONDS / 4
SMS_THROTTLE_MAX_SLEEP_SECONDS = 2.0
SMS_SLOT_RETRY_SECONDS = 1.0
SMS_SLOT_WAIT_SECONDS = 0.5
SMS_SLOT_DEMAND_SECONDS = 3.0  # a tenant that asked for a send slot this recently is waiting
# The largest send one request may make, and the price of a credit in reports.
SMS_SEND_MAX_RECIPIENTS = env.int("SMS_SEND_MAX_RECIPIENTS", default=100_000)
SMS_CREDIT_PRICE = Decimal(env.str("SMS_CREDIT_PRICE", default="25.00"))
SMS_CREDIT_CURRENCY = env.str("SMS_CREDIT_CURRENCY", default="TZS")
# Beem's delivery reports are posted to /webhooks/beem/dlr/<BEEM_DLR_TOKEN>/ (Beem does not
# sign them); without a token the route answers 404.
BEEM_DLR_TOKEN = env.str("BEEM_DLR_TOKEN", default="")
# Provider status reports are applied this long after they arrive, in batches; a report for a
# message not found yet is retried for the match window, then kept as unmatched.
STATUS_EVENT_PROCESS_DELAY_SECONDS = 1.0
STATUS_EVENT_MATCH_WINDOW_SECONDS = 3600
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="TZ")
# Beem Africa (sms.providers.beem): the vendor API key and secret, sent as HTTP Basic auth.
BEEM_API_KEY = env.str("BEEM_API_KEY", default="")
BEEM_SECRET_KEY = env.str("BEEM_SECRET_KEY", default="")
BEEM_SEND_URL = env.str("BEEM_SEND_URL", default="https://apisms.beem.africa/v1/send")
BEEM_BALANCE_URL = env.str(
    "BEEM_BALANCE_URL", default="https://apisms.beem.africa/public/v1/vendors/balance"
)
BEEM_TIMEOUT_SECONDS = env.float("BEEM_TIMEOUT_SECONDS", default=10.0)
BEEM_MAX_RECIPIENTS_PER_REQUEST = env.int("BEEM_MAX_RECIPIENTS_PER_REQUEST", default=500)
# Twilio (sms.providers.twilio). With a Messaging Service SID its sender pool picks the sender;
# without one each message is sent from its own sender.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# Without DEBUG, the default provider without its credentials refuses to start.
_SMS_PROVIDER_SECRETS = {
    "beem": ("BEEM_API_KEY", "BEEM_SECRET_KEY"),
    "twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
}
_missing_sms_secrets = [
    name for name in _SMS_PROVIDER_SECRETS.get(SMS_PROVIDER, ()) if not globals()[name]
]
if _missing_sms_secrets and not DEBUG:
    raise ImproperlyConfigured(
        f"SMS_PROVIDER={SMS_PROVIDER} needs {', '.join(_missing_sms_secrets)}."
    )

# --- Payments (billing.payments)
# The provider that takes mobile money: sandbox (no money moves; it takes cards too) or zenopay.
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="sandbox")
SANDBOX_PAYMENT_DELAY_SECONDS = env.float("SANDBOX_PAYMENT_DELAY_SECONDS", default=3.0)
PAYMENT_EXPIRY_MINUTES = env.int("PAYMENT_EXPIRY_MINUTES", default=30)
ZENOPAY_API_KEY = env.str("ZENOPAY_API_KEY", default="")
ZENOPAY_BASE_URL = env.str("ZENOPAY_BASE_URL", default="https://zenoapi.com/api/payments")
ZENOPAY_TIMEOUT_SECONDS = env.float("ZENOPAY_TIMEOUT_SECONDS", default=15.0)
if PAYMENT_PROVIDER == "zenopay" and not ZENOPAY_API_KEY and not DEBUG:
    raise ImproperlyConfigured("PAYMENT_PROVIDER=zenopay needs ZENOPAY_API_KEY.")
# Cards go through Stripe Checkout when STRIPE_SECRET_KEY is set. STRIPE_API_BASE only points
# the client at a fake (tests/fakes/stripe.py); events to /webhooks/stripe/ are verified with
# STRIPE_WEBHOOK_SECRET (the endpoint's whsec_... signing secret).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=30.0)
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET and not DEBUG:
    raise ImproperlyConfigured("STRIPE_SECRET_KEY needs STRIPE_WEBHOOK_SECRET too.")

# --- Subscriptions (billing.subscriptions): a mobile-money period is bought like credits; its
# renewal is a reminder REMINDER_DAYS before the end and a new order. Unpaid past the end it is
# past_due, and canceled GRACE_DAYS later.
SUBSCRIPTION_RENEWAL_REMINDER_DAYS = env.int("SUBSCRIPTION_RENEWAL_REMINDER_DAYS", default=3)
SUBSCRIPTION_GRACE_DAYS = env.int("SUBSCRIPTION_GRACE_DAYS", default=7)

# --- Invoices (billing.invoices): package prices include VAT (Tanzania's standard rate, 18%).
BILLING_TAX_RATE = Decimal(env.str("BILLING_TAX_RATE", default="0.18"))
BILLING_SELLER_NAME = env.str("BILLING_SELLER_NAME", default="Mifumo Technologies Ltd")
BILLING_SELLER_ADDRESS = env.str("BILLING_SELLER_ADDRESS", default="Dar es Salaam, Tanzania")
BILLING_SELLER_TIN = env.str("BILLING_SELLER_TIN", default="")

# --- Outbound webhooks (integration.services.webhooks, mifumo.outbound_http)
# Customer URLs on loopback, private, link-local or metadata addresses are refused unless this
# is on (tests and local development with a receiver on this machine).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Seconds before each retry of a failed delivery (about 3 days in all), then it fails.
WEBHOOK_RETRY_DELAYS = env.list(
    "WEBHOOK_RETRY_DELAYS",
    cast=float,
    default=[5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000],
)
# Shorter delays are Celery countdowns; longer ones wait in next_attempt_at for beat.
WEBHOOK_COUNTDOWN_MAX_SECONDS = 300

# --- Email
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mifumo <no-reply@mifumo.local>")
# Where links in emails point (the dashboard frontend).
FRONTEND_URL = env.str("FRONTEND_URL", default="") or PUBLIC_BASE_URL

# --- I18N, static
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
# Largest contact file accepted for import.
CONTACT_IMPORT_MAX_BYTES = 50 * 1024 * 1024
# Files with more rows than this are imported by a worker; smaller ones answer at once.
CONTACT_IMPORT_SYNC_ROWS = 1000
# Files with more rows are refused; a worker finds out before it imports any of them.
CONTACT_IMPORT_MAX_ROWS = env.int("CONTACT_IMPORT_MAX_ROWS", default=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = CONTACT_IMPORT_MAX_BYTES + 1024 * 1024
# Bounds on every request (mifumo.input_limits): a larger body is a 413 before it is read.
REQUEST_MAX_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
JSON_MAX_DEPTH = 32
PAGE_NUMBER_MAX = 1_000_000
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Production hardening: only where DEBUG is off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
