"""Contacts: list, upsert, read, update, soft delete, opt-in/out, bulk delete and tagging,
bulk import."""

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from rest_framework import status

from messaging import selectors
from messaging import serializers as s
from messaging.filters import CONTACT_LIST_PARAMETERS, ContactFilter, filtered
from messaging.services import contacts as services
from messaging.services import imports
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["contacts"]


class ContactListView(TenantScopedView):
    @api_doc(
        summary="List contacts (search, filters, tags, ordering)",
        responses={200: enveloped(s.ContactSerializer, paginated=True)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
        paginated=True,
        manual_parameters=CONTACT_LIST_PARAMETERS,
    )
    def get(self, request):
        contacts = filtered(ContactFilter, request.query_params, selectors.contacts_live())
        return paginated(
            request, contacts, lambda page: s.ContactSerializer(page, many=True).data, view=self
        )

    @api_doc(
        summary="Create a contact, or update the one with this phone (then email)",
        request=s.ContactInputSerializer,
        responses={
            200: enveloped(s.ContactUpsertResultSerializer),
            201: enveloped(s.ContactUpsertResultSerializer),
        },
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        contact, upserted = services.contact_upsert(
            data=validated(s.ContactInputSerializer, request), created_by=request.user
        )
        data = {**s.ContactSerializer(contact).data, "upserted": upserted}
        if upserted:
            return envelope(data, message="Contact updated.")
        return envelope(data, message="Contact created.", status=status.HTTP_201_CREATED)


class ContactDetailView(TenantScopedView):
    @api_doc(
        summary="A contact",
        responses={200: enveloped(s.ContactSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, contact_id):
        return envelope(s.ContactSerializer(selectors.contact_get(contact_id=contact_id)).data)

    @api_doc(
        summary="Update a contact (a partial body is fine)",
        request=s.ContactInputSerializer,
        responses={200: enveloped(s.ContactSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def put(self, request, contact_id):
        contact = selectors.contact_get(contact_id=contact_id)
        data = validated(s.ContactInputSerializer, request, partial=True)
        contact = services.contact_update(contact=contact, data=data)
        return envelope(s.ContactSerializer(contact).data, message="Contact updated.")

    @api_doc(
        summary="Delete a contact (it disappears from every read)",
        responses={200: enveloped(None)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request, contact_id):
        services.contact_delete(contact=selectors.contact_get(contact_id=contact_id))
        return envelope(message="Contact deleted.")


class ContactOptInView(TenantScopedView):
    @api_doc(
        summary="Mark a contact as opted in",
        responses={200: enveloped(s.ContactSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, contact_id):
        contact = services.contact_opt_in(contact=selectors.contact_get(contact_id=contact_id))
        return envelope(s.ContactSerializer(contact).data, message="Contact opted in successfully")


class ContactOptOutView(TenantScopedView):
    @api_doc(
        summary="Mark a contact as opted out, with a reason",
        request=s.OptOutSerializer,
        responses={200: enveloped(s.ContactSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, contact_id):
        contact = selectors.contact_get(contact_id=contact_id)
        reason = validated(s.OptOutSerializer, request)["reason"]
        contact = services.contact_opt_out(contact=contact, reason=reason)
        return envelope(s.ContactSerializer(contact).data, message="Contact opted out successfully")


BULK_ERRORS = (400, 401, 403, 404)


class ContactBulkDeleteView(TenantScopedView):
    @api_doc(
        summary="Delete these contacts (soft, as one delete); an unknown id is a 404 listing "
        "the missing ids, and nothing is deleted",
        request=s.ContactBulkInputSerializer,
        responses={200: enveloped(s.ContactBulkDeleteResultSerializer)},
        errors=BULK_ERRORS,
        tags=TAGS,
    )
    def post(self, request):
        contact_ids = validated(s.ContactBulkInputSerializer, request)["contact_ids"]
        deleted = services.contacts_bulk_delete(contact_ids=contact_ids)
        return envelope({"deleted": deleted}, message=f"{deleted} contact(s) deleted.")


class ContactBulkAddTagsView(TenantScopedView):
    @api_doc(
        summary="Add tags to these contacts; an unknown id is a 404 and nothing changes",
        request=s.ContactBulkTagsInputSerializer,
        responses={200: enveloped(s.ContactBulkUpdateResultSerializer)},
        errors=BULK_ERRORS,
        tags=TAGS,
    )
    def post(self, request):
        data = validated(s.ContactBulkTagsInputSerializer, request)
        updated = services.contacts_bulk_add_tags(
            contact_ids=data["contact_ids"], tags=data["tags"]
        )
        return envelope({"updated": updated}, message=f"Tags added to {updated} contact(s).")


class ContactBulkRemoveTagsView(TenantScopedView):
    @api_doc(
        summary="Remove tags from these contacts; an unknown id is a 404 and nothing changes",
        request=s.ContactBulkTagsInputSerializer,
        responses={200: enveloped(s.ContactBulkUpdateResultSerializer)},
        errors=BULK_ERRORS,
        tags=TAGS,
    )
    def post(self, request):
        data = validated(s.ContactBulkTagsInputSerializer, request)
        updated = services.contacts_bulk_remove_tags(
            contact_ids=data["contact_ids"], tags=data["tags"]
        )
        return envelope({"updated": updated}, message=f"Tags removed from {updated} contact(s).")


class ContactFileUploadHandler(MemoryFileUploadHandler):
    """A contact file is read whole into memory by the import anyway, so it is received there
    too, up to the size of any request (REQUEST_MAX_BYTES, 413 beyond), instead of being
    written to a temporary file and read back (0.2-0.4 s of a 46 MB upload)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = content_length <= settings.REQUEST_MAX_BYTES


class ContactImportView(TenantScopedView):
    def initialize_request(self, request, *args, **kwargs):
        request.upload_handlers = [
            ContactFileUploadHandler(request),
            TemporaryFileUploadHandler(request),  # Django's fallback, as in its default list
        ]
        return super().initialize_request(request, *args, **kwargs)

    @api_doc(
        summary="Import contacts from CSV or XLSX: small files at once, large ones by a worker",
        request=s.BulkImportInputSerializer,
        responses={
            200: enveloped(s.ImportResultSerializer),
            202: enveloped(s.ContactImportSerializer),
        },
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        data = validated(s.BulkImportInputSerializer, request)
        upload = data.get("file")
        result = imports.contacts_import(
            raw=upload.read() if upload else data["csv_data"].encode(),
            file_name=upload.name if upload else "data.csv",
            region=request.tenant.country,
            update_existing=data["update_existing"],
            skip_duplicates=data["skip_duplicates"],
            created_by=request.user,
        )
        if isinstance(result, imports.ImportReport):
            return envelope(result.as_dict(), message="Import finished.")
        return envelope(
            s.ContactImportSerializer(result).data,
            message="Importing in the background: the rows are counted first.",
            status=status.HTTP_202_ACCEPTED,
        )


class ContactImportDetailView(TenantScopedView):
    @api_doc(
        summary="Progress, counts and errors of a background import",
        responses={200: enveloped(s.ContactImportSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, import_id):
        job = selectors.contact_import_get(import_id=import_id)
        return envelope(s.ContactImportSerializer(job).data)
