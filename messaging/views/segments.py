"""Segments: saved contact filters with a stored count."""

from rest_framework import status

from messaging import selectors
from messaging import serializers as s
from messaging.models import Segment
from messaging.services import segments as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["segments"]


class SegmentListView(TenantScopedView):
    @api_doc(
        summary="List segments with their stored contact counts",
        responses={200: enveloped(s.SegmentSerializer, paginated=True)},
        errors=(401, 403, 404),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request):
        segments = Segment.objects.all()
        return paginated(
            request, segments, lambda page: s.SegmentSerializer(page, many=True).data, view=self
        )

    @api_doc(
        summary="Create a segment; its contacts are counted at once",
        request=s.SegmentInputSerializer,
        responses={201: enveloped(s.SegmentSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        segment = services.segment_create(
            **validated(s.SegmentInputSerializer, request), created_by=request.user
        )
        return envelope(
            s.SegmentSerializer(segment).data,
            message="Segment created.",
            status=status.HTTP_201_CREATED,
        )


class SegmentDetailView(TenantScopedView):
    @api_doc(
        summary="A segment",
        responses={200: enveloped(s.SegmentSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, segment_id):
        return envelope(s.SegmentSerializer(selectors.segment_get(segment_id=segment_id)).data)

    @api_doc(
        summary="Update a segment (a partial body is fine); it is recounted",
        request=s.SegmentInputSerializer,
        responses={200: enveloped(s.SegmentSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def put(self, request, segment_id):
        segment = selectors.segment_get(segment_id=segment_id)
        data = validated(s.SegmentInputSerializer, request, partial=True)
        segment = services.segment_update(segment=segment, data=data)
        return envelope(s.SegmentSerializer(segment).data, message="Segment updated.")

    @api_doc(
        summary="Delete a segment",
        responses={200: enveloped(None)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request, segment_id):
        services.segment_delete(segment=selectors.segment_get(segment_id=segment_id))
        return envelope(message="Segment deleted.")


class SegmentCountView(TenantScopedView):
    @api_doc(
        summary="Recount a segment's contacts",
        responses={200: enveloped(s.SegmentSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, segment_id):
        segment = services.segment_count_refresh(
            segment=selectors.segment_get(segment_id=segment_id)
        )
        return envelope(s.SegmentSerializer(segment).data, message="Segment count updated.")


class SegmentContactsView(TenantScopedView):
    @api_doc(
        summary="The contacts a segment selects",
        responses={200: enveloped(s.ContactSerializer, paginated=True)},
        errors=(401, 403, 404),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request, segment_id):
        members = selectors.segment_members(selectors.segment_get(segment_id=segment_id))
        return paginated(
            request, members, lambda page: s.ContactSerializer(page, many=True).data, view=self
        )
