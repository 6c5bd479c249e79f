"""Settings for the test suite: the real Postgres and Redis, one Redis database per xdist worker."""

import base64
import os
import secrets

_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
os.environ["DEBUG"] = "false"
# A fresh key per run: no constant in the repository signs anything (platform/test_secrets.py).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault(
    "CREDENTIALS_ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode()
)
# Providers' real addresses are never called from tests: a test that wants one starts a fake
# (tests/fakes/) and points the setting at it; anything else finds a closed port at once.
for _name, _path in [
    ("BEEM_SEND_URL", "/v1/send"),
    ("BEEM_BALANCE_URL", "/public/v1/vendors/balance"),
    ("TWILIO_API_BASE_URL", ""),
]:
    os.environ.setdefault(_name, f"http://127.0.0.1:9{_path}")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{10 + _worker}")

from mifumo.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Most tests run tasks inline; tests/sms/test_worker.py drives a real worker over Redis.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
STATIC_ROOT = None  # tests do not collect static files
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# The test client's host plays the API's own host.
PLATFORM_HOSTS = [*PLATFORM_HOSTS, "testserver"]  # noqa: F405
