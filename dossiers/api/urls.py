from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import docs, feed, intake, payments, views, webhooks
from .serializers import ACTION_BODIES

router = SimpleRouter(trailing_slash=True)
router.register("procedures", views.ProcedureViewSet, basename="procedure")
router.register("dossiers", views.DossierViewSet, basename="dossier")
router.register("webhooks", webhooks.WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("lookup/", views.LookupView.as_view(), name="api-lookup"),
    path("my/documents/", views.MyDocumentsView.as_view(), name="api-my-documents"),
    path("indicators/", views.IndicatorsView.as_view(), name="api-indicators"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "dossiers/<str:ref>/slips/<str:kind>.pdf",
        views.DossierViewSet.as_view({"get": "slips"}),
        name="api-dossier-slip",
    ),
    path(
        "payments/gateway/callback/",
        payments.PaymentCallbackView.as_view(),
        name="api-payment-callback",
    ),
    path("events/", feed.ChangeFeedView.as_view(), name="api-events"),
    # Before the router: its dossier detail route would take "intake" for a dossier's ref.
    path("dossiers/intake/", intake.ExternalIntakeView.as_view(), name="api-dossier-intake"),
    # One route per action, so that the schema documents each action's own body.
    *(
        re_path(
            rf"^dossiers/(?P<ref>{views.DossierViewSet.lookup_value_regex})/actions/{action}/$",
            views.DossierViewSet.as_view({"post": f"action_{action}"}),
            name=f"api-dossier-action-{action}",
        )
        for action in ACTION_BODIES
    ),
    path("", include(router.urls)),
]
