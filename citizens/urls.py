from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from .views import accounts, catalogue, dossiers, eid, lookup, payments, verify

app_name = "citizens"

urlpatterns = [
    path("procedures/", catalogue.catalogue, name="catalogue"),
    path("procedures/<str:code>/", catalogue.procedure_detail, name="procedure_detail"),
    path("procedures/<str:code>/apply/", dossiers.apply, name="apply"),
    path("my/dossiers/", dossiers.dossier_list, name="my_dossiers"),
    path("my/dossiers/<int:pk>/", dossiers.dossier_detail, name="dossier_detail"),
    path("my/dossiers/<int:pk>/edit/", dossiers.dossier_edit, name="dossier_edit"),
    path("my/dossiers/<int:pk>/supplement/", dossiers.supplement, name="supplement"),
    path("my/dossiers/<int:pk>/withdraw/", dossiers.withdraw, name="withdraw"),
    path("my/dossiers/<int:pk>/rate/", dossiers.rate, name="rate"),
    path("my/dossiers/<int:pk>/pay/", payments.pay_online, name="pay_online"),
    path("my/dossiers/<int:pk>/pay/return/", payments.pay_return, name="pay_return"),
    path(
        "my/dossiers/<int:pk>/files/<int:attachment_id>/",
        dossiers.attachment_download,
        name="attachment",
    ),
    path("my/dossiers/<int:pk>/slips/<str:kind>.pdf", dossiers.slip_download, name="slip"),
    path(
        "my/dossiers/<int:pk>/slips/<str:kind>/<int:seq>.pdf",
        dossiers.slip_download,
        name="slip_version",
    ),
    path("lookup/", lookup.lookup, name="lookup"),
    path("verify/", verify.verify, name="verify"),
    path("accounts/sign-up/", accounts.sign_up, name="sign_up"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/eid/login/", eid.eid_start, name="eid_start"),
    path("accounts/eid/callback/", eid.eid_callback, name="eid_callback"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        accounts.ThrottledPasswordResetView.as_view(
            success_url=reverse_lazy("citizens:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("citizens:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
