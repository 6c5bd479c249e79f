"""Test-only URLconf: the real routes plus views that fail, for the error-envelope tests."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from mifumo.urls import urlpatterns as mifumo_urlpatterns

SECRET_DETAIL = "boom-detail-that-must-not-leak"


class DrfBoomView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request):
        raise RuntimeError(SECRET_DETAIL)


def django_boom(request):
    raise RuntimeError(SECRET_DETAIL)


@require_GET
def django_get_only(request):
    return HttpResponse("plain text", content_type="text/plain")


urlpatterns = [
    *mifumo_urlpatterns,
    path("api/test/drf-boom/", DrfBoomView.as_view()),
    path("api/test/django-boom/", django_boom),
    path("api/test/get-only/", django_get_only),
]
