"""The auth routes. Where the seeds and the dashboard spell a route twice, both paths serve the
same view (each spelling documented in the schema)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="auth-register"),
    path("sms/verify-code/", views.VerifyCodeView.as_view(), name="auth-verify-code"),
    path("sms/confirm-account/", views.VerifyCodeView.as_view(), name="auth-confirm-account"),
    path(
        "activate-account/<str:code>/",
        views.ActivateAccountView.as_view(),
        name="auth-activate-account",
    ),
    path("resend-activation/", views.ResendActivationView.as_view(), name="auth-resend"),
    path("sms/send-code/", views.ResendActivationView.as_view(), name="auth-sms-send-code"),
    path("login/", views.LoginView.as_view(), name="auth-login"),
    path("token/refresh/", views.RefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("profile/", views.ProfileView.as_view(), name="auth-profile"),
    path("settings/profile/", views.ProfileView.as_view(), name="auth-settings-profile"),
    path(
        "settings/preferences/",
        views.PreferencesView.as_view(),
        name="auth-settings-preferences",
    ),
    path(
        "settings/notifications/",
        views.NotificationSettingsView.as_view(),
        name="auth-settings-notifications",
    ),
    path("password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("forgot-password/", views.PasswordResetView.as_view(), name="auth-forgot-password"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path(
        "sms/forgot-password/",
        views.SmsPasswordResetView.as_view(),
        name="auth-sms-forgot-password",
    ),
    path(
        "sms/reset-password/",
        views.SmsPasswordResetConfirmView.as_view(),
        name="auth-sms-reset-password",
    ),
    path("verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path(
        "verify-email/<str:token>/",
        views.VerifyEmailLinkView.as_view(),
        name="auth-verify-email-link",
    ),
]
