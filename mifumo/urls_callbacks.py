"""The routes of provider callbacks alone: mifumo.wsgi resolves /webhooks/ requests here, since
walking every route of mifumo.urls first cost each callback about 20 us of its CPU.
mifumo.urls keeps the same routes, for reverse() and for everything not served by
mifumo.wsgi."""

from django.urls import include, path

urlpatterns = [path("webhooks/", include("webhooks.urls"))]
