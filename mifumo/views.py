"""Platform routes (health) and the base of every route over one tenant's data."""

from django.db import connection
from django_redis import get_redis_connection
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mifumo.errors import ErrorCode
from mifumo.openapi import api_doc, enveloped
from mifumo.permissions import IsTenantMember


class TenantScopedView(APIView):
    """A route over the request tenant's data: active members only, and Idempotency-Key
    records kept per tenant."""

    permission_classes = (IsTenantMember,)
    tenant_scoped = True


class HealthSerializer(serializers.Serializer):
    database = serializers.ChoiceField(["ok", "unavailable"])
    redis = serializers.ChoiceField(["ok", "unavailable"])


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except Exception:
        return False


class HealthView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @api_doc(
        summary="Database and Redis status: 200 when both answer, 503 otherwise",
        responses={200: enveloped(HealthSerializer), 503: enveloped(HealthSerializer)},
        errors=(),
        tags=["platform"],
        public=True,
    )
    def get(self, request):
        checks = {
            "database": "ok" if _database_ok() else "unavailable",
            "redis": "ok" if _redis_ok() else "unavailable",
        }
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {
                "success": healthy,
                "message": "Healthy." if healthy else "A dependency is unavailable.",
                "data": checks,
                "error_code": None if healthy else ErrorCode.SERVICE_UNAVAILABLE,
                "details": None,
            },
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
