"""The WSGI entry point (gunicorn `mifumo.wsgi:application`).

Provider callbacks (/webhooks/) come from machines, thousands a second, and their views check
the caller themselves: they skip the middleware made for people (sessions, CSRF, auth,
messages, tenant selection, security headers) and keep only the JSON error pages. Every other
path takes the full stack of settings.MIDDLEWARE.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mifumo.settings")

CALLBACK_PREFIX = "/webhooks/"


class PublicSchemaMiddleware:
    """Callbacks are stored in the public schema; the worker's connection may still be on the
    tenant of the request it served before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection
        from django_tenants.utils import get_public_schema_name

        from mifumo.tenancy import current_schema_name

        if current_schema_name() != get_public_schema_name():
            connection.set_schema_to_public()
        return self.get_response(request)


class CallbackHandler(WSGIHandler):
    """A WSGIHandler whose middleware chain is load_middleware's three, not
    settings.MIDDLEWARE, and whose routes are the callbacks' alone (mifumo.urls_callbacks)."""

    def get_response(self, request):
        request.urlconf = "mifumo.urls_callbacks"
        return super().get_response(request)

    def load_middleware(self, is_async=False):
        from mifumo.input_limits import RequestLimitsMiddleware
        from mifumo.middleware import JsonErrorMiddleware

        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for middleware in (PublicSchemaMiddleware, RequestLimitsMiddleware, JsonErrorMiddleware):
            handler = convert_exception_to_response(middleware(handler))
        self._middleware_chain = handler


_people = get_wsgi_application()
_callbacks = CallbackHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(CALLBACK_PREFIX):
        return _callbacks(environ, start_response)
    return _people(environ, start_response)
