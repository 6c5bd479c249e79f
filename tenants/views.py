"""Tenant routes. Any member reads; owners and admins manage; a non-member gets 404."""

from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from tenants import selectors, services
from tenants import serializers as s

TAGS = ["tenants"]


def _tenant_data(membership):
    tenant = membership.tenant
    return s.TenantSerializer(tenant, context={"roles": {tenant.id: membership.role}}).data


class TenantListView(APIView):
    @api_doc(
        summary="The tenants the user belongs to",
        responses={200: enveloped(s.TenantSerializer, paginated=True)},
        paginated=True,
        errors=(401, 404),
        tags=TAGS,
    )
    def get(self, request):
        memberships = (
            selectors.active_memberships(request.user)
            .prefetch_related("tenant__domains")
            .order_by("tenant__name", "tenant_id")
        )
        return paginated(
            request,
            memberships,
            lambda page: [_tenant_data(m) for m in page],
            view=self,
        )

    @api_doc(
        summary="Create a tenant (its own schema); the user becomes its owner",
        request=s.TenantCreateSerializer,
        responses={201: enveloped(s.TenantSerializer)},
        errors=(400, 401, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        fields = validated(s.TenantCreateSerializer, request)
        tenant = services.tenant_create(
            owner=request.user,
            name=fields["name"],
            subdomain=fields.get("subdomain", ""),
            business_name=fields.get("business_name", ""),
            business_type=fields.get("business_type", ""),
            country=fields.get("country", "TZ"),
            timezone_name=fields.get("timezone", "Africa/Dar_es_Salaam"),
            contact_phone=fields.get("contact_phone", ""),
            contact_email=fields.get("contact_email", ""),
        )
        membership = selectors.membership_access(user=request.user, tenant_id=tenant.id)
        return envelope(
            _tenant_data(membership), message="Tenant created.", status=status.HTTP_201_CREATED
        )


class TenantDetailView(APIView):
    @api_doc(
        summary="A tenant's details",
        responses={200: enveloped(s.TenantSerializer)},
        errors=(401, 404),
        tags=TAGS,
    )
    def get(self, request, tenant_id):
        membership = selectors.membership_access(user=request.user, tenant_id=tenant_id)
        return envelope(_tenant_data(membership))

    @api_doc(
        summary="Update a tenant (owners and admins; a partial body is fine)",
        request=s.TenantUpdateSerializer,
        responses={200: enveloped(s.TenantSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def put(self, request, tenant_id):
        membership = selectors.membership_access(
            user=request.user, tenant_id=tenant_id, manage=True
        )
        data = validated(s.TenantUpdateSerializer, request)
        services.tenant_update(tenant=membership.tenant, data=data)
        return envelope(_tenant_data(membership), message="Tenant updated.")


class TenantSwitchView(APIView):
    @api_doc(
        summary="Make a tenant the user's active tenant (kept server-side)",
        request=s.TenantSwitchSerializer,
        responses={200: enveloped(s.TenantSerializer)},
        errors=(400, 401, 404),
        tags=TAGS,
    )
    def post(self, request):
        data = validated(s.TenantSwitchSerializer, request)
        membership = selectors.membership_access(user=request.user, tenant_id=data["tenant_id"])
        services.tenant_switch(user=request.user, membership=membership)
        return envelope(_tenant_data(membership), message=f"Switched to {membership.tenant.name}.")


class TenantDomainsView(APIView):
    @api_doc(
        summary="A tenant's domains (owners and admins)",
        responses={200: enveloped(s.DomainSerializer, paginated=True)},
        paginated=True,
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, tenant_id):
        membership = selectors.membership_access(
            user=request.user, tenant_id=tenant_id, manage=True
        )
        domains = selectors.tenant_domains(tenant=membership.tenant)
        return paginated(
            request, domains, lambda page: s.DomainSerializer(page, many=True).data, view=self
        )

    @api_doc(
        summary="Add a domain that selects this tenant (owners and admins)",
        request=s.DomainCreateSerializer,
        responses={201: enveloped(s.DomainSerializer)},
        errors=(400, 401, 403, 404, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request, tenant_id):
        membership = selectors.membership_access(
            user=request.user, tenant_id=tenant_id, manage=True
        )
        data = validated(s.DomainCreateSerializer, request)
        domain = services.domain_add(tenant=membership.tenant, **data)
        return envelope(
            s.DomainSerializer(domain).data, message="Domain added.", status=status.HTTP_201_CREATED
        )


class TenantMembersView(APIView):
    @api_doc(
        summary="A tenant's members",
        responses={200: enveloped(s.MemberSerializer, paginated=True)},
        paginated=True,
        errors=(401, 404),
        tags=TAGS,
    )
    def get(self, request, tenant_id):
        membership = selectors.membership_access(user=request.user, tenant_id=tenant_id)
        members = selectors.tenant_members(tenant=membership.tenant)
        return paginated(
            request, members, lambda page: s.MemberSerializer(page, many=True).data, view=self
        )

    @api_doc(
        summary="Invite someone by email with a role (owners and admins)",
        description="Members plus pending invitations may not exceed the plan's users: "
        "403 PLAN_LIMIT_REACHED, with `limit` and `used` in details.",
        request=s.InviteSerializer,
        responses={201: enveloped(s.InvitationSerializer)},
        errors=(400, 401, 403, 404, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request, tenant_id):
        membership = selectors.membership_access(
            user=request.user, tenant_id=tenant_id, manage=True
        )
        data = validated(s.InviteSerializer, request)
        invitation = services.invitation_create(membership=membership, **data)
        return envelope(
            s.InvitationSerializer(invitation).data,
            message=f"Invitation sent to {invitation.email}.",
            status=status.HTTP_201_CREATED,
        )


class TenantTeamInviteView(TenantMembersView):
    """The dashboard's `team/invite/`: the members route's invitation, and nothing else."""

    http_method_names = ["post", "options"]


class InvitationView(APIView):
    """The seed's accept link: opening it signed in as the invited email joins the tenant."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @api_doc(
        summary="Show an invitation; signed in as the invited email, accept it",
        responses={200: enveloped(s.InvitationSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, token):
        invitation = selectors.invitation_get(token=token)
        if request.user.is_authenticated and request.user.email.lower() == invitation.email:
            return self._accept(request, token)
        return envelope(s.InvitationSerializer(invitation).data)

    @api_doc(
        summary="Accept an invitation as the invited user",
        responses={200: enveloped(s.InvitationSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, token):
        return self._accept(request, token)

    def _accept(self, request, token):
        invitation = services.invitation_accept(token=token, user=request.user)
        return envelope(
            s.InvitationSerializer(invitation).data,
            message=f"You joined {invitation.tenant.name} as {invitation.role}.",
        )
