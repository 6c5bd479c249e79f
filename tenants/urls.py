from django.urls import path

from tenants import views

urlpatterns = [
    path("", views.TenantListView.as_view(), name="tenant-list"),
    path("switch/", views.TenantSwitchView.as_view(), name="tenant-switch"),
    path("invite/<str:token>/", views.InvitationView.as_view(), name="tenant-invitation"),
    path("<uuid:tenant_id>/", views.TenantDetailView.as_view(), name="tenant-detail"),
    path("<uuid:tenant_id>/domains/", views.TenantDomainsView.as_view(), name="tenant-domains"),
    path("<uuid:tenant_id>/members/", views.TenantMembersView.as_view(), name="tenant-members"),
    # The dashboard's names for the members routes.
    path("<uuid:tenant_id>/team/", views.TenantMembersView.as_view(), name="tenant-team"),
    path(
        "<uuid:tenant_id>/team/invite/",
        views.TenantTeamInviteView.as_view(),
        name="tenant-team-invite",
    ),
]
