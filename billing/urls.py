from django.urls import path

from billing.views import account, subscriptions
from billing.views import credits as views

urlpatterns = [
    path("sms/packages/", views.SmsPackagesView.as_view(), name="billing-sms-packages"),
    path("sms/purchase/", views.SmsPurchaseView.as_view(), name="billing-sms-purchase"),
    path("sms/balance/", views.SmsBalanceView.as_view(), name="billing-sms-balance"),
    path(
        "sms/purchases/history/",
        views.PurchaseHistoryView.as_view(),
        name="billing-purchase-history",
    ),
    path(
        "sms/cost-calculator/", views.CostCalculatorView.as_view(), name="billing-cost-calculator"
    ),
    path("coupons/", views.CouponsView.as_view(), name="billing-coupons"),
    path("coupons/validate/", views.CouponValidateView.as_view(), name="billing-coupon-validate"),
    path("history/", views.BillingHistoryView.as_view(), name="billing-history"),
    path(
        "payments/initiate/", views.PaymentInitiateView.as_view(), name="billing-payment-initiate"
    ),
    path(
        "payments/transactions/<uuid:transaction_id>/status/",
        views.PaymentStatusView.as_view(),
        name="billing-payment-status",
    ),
    path(
        "payments/verify/<str:order_id>/",
        views.PaymentVerifyView.as_view(),
        name="billing-payment-verify",
    ),
    path("invoices/", views.InvoicesView.as_view(), name="billing-invoices"),
    path("invoices/<uuid:invoice_id>/", views.InvoiceView.as_view(), name="billing-invoice"),
    path(
        "invoices/<uuid:invoice_id>/pdf/",
        views.InvoicePdfView.as_view(),
        name="billing-invoice-pdf",
    ),
    path(
        "payments/providers/",
        views.PaymentProvidersView.as_view(),
        name="billing-payment-providers",
    ),
    path("payment-methods/", views.PaymentMethodsView.as_view(), name="billing-payment-methods"),
    path(
        "payment-methods/<uuid:payment_method_id>/",
        views.PaymentMethodView.as_view(),
        name="billing-payment-method",
    ),
    path(
        "payment-methods/<uuid:payment_method_id>/default/",
        views.PaymentMethodDefaultView.as_view(),
        name="billing-payment-method-default",
    ),
    path("usage/", views.UsageView.as_view(), name="billing-usage"),
    path("usage/limits/", account.UsageLimitsView.as_view(), name="billing-usage-limits"),
    path("overview/", account.OverviewView.as_view(), name="billing-overview"),
    path("plans/", subscriptions.PlansView.as_view(), name="billing-plans"),
    path("subscription/", subscriptions.SubscriptionView.as_view(), name="billing-subscription"),
    path(
        "subscription/create/",
        subscriptions.SubscriptionCreateView.as_view(),
        name="billing-subscription-create",
    ),
    path(
        "subscription/cancel/",
        subscriptions.SubscriptionCancelView.as_view(),
        name="billing-subscription-cancel",
    ),
]
