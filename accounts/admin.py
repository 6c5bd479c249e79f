from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User, VerificationCode


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = [
        "email",
        "full_name",
        "phone_number",
        "is_active",
        "phone_verified",
        "email_verified",
        "is_staff",
        "active_tenant",
        "created_at",
    ]
    list_filter = ["is_active", "phone_verified", "email_verified", "is_staff", "is_superuser"]
    search_fields = ["email", "first_name", "last_name", "phone_number"]
    list_select_related = ["active_tenant"]
    readonly_fields = ["created_at", "updated_at", "last_login"]
    autocomplete_fields = ["active_tenant"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "phone_number", "timezone"]}),
        (
            "Status",
            {"fields": ["is_active", "phone_verified", "email_verified", "active_tenant"]},
        ),
        ("Notifications", {"fields": ["email_notifications", "sms_notifications"]}),
        (
            "Permissions",
            {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "first_name",
                    "last_name",
                    "phone_number",
                    "password1",
                    "password2",
                    "is_active",
                ],
            },
        )
    ]


@admin.register(VerificationCode)
class VerificationCodeAdmin(admin.ModelAdmin):
    list_display = ["user", "purpose", "phone_number", "attempts", "expires_at", "consumed_at"]
    list_filter = ["purpose", ("consumed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "phone_number"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "purpose",
        "phone_number",
        "code_hash",
        "attempts",
        "expires_at",
        "consumed_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False
