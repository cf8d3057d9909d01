from django.urls import path

from billing.portal import mandates, signup, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("invoices/", views.invoices, name="invoices"),
    path("payments/", views.payments, name="payments"),
    path("payment-method/", mandates.payment_method, name="payment_method"),
    path("invoices/<str:number>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<str:number>/pay/", views.pay_invoice, name="pay_invoice"),
    path("invoices/<str:number>/payment/", views.invoice_payment_return, name="invoice_payment_return"),
    path("sign-up/", signup.choose_plan, name="signup"),
    path("sign-up/details/", signup.details, name="signup_details"),
    path("applications/<str:reference>/", signup.application_status, name="application"),
    path("applications/<str:reference>/payment/", signup.payment, name="signup_payment"),
    path("applications/<str:reference>/identity/", signup.identity, name="signup_identity"),
    path("applications/<str:reference>/identity/return/", signup.identity_return, name="signup_identity_return"),
    path("applications/<str:reference>/prepayment/", signup.prepayment, name="signup_prepayment"),
    path("applications/<str:reference>/submit/", signup.submit, name="signup_submit"),
    path("applications/<str:reference>/withdraw/", signup.withdraw, name="signup_withdraw"),
]
