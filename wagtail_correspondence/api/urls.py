from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from ..content_security import uses_policy
from . import batches, letters, openapi, register, views
from .errors import not_found

app_name = "wagtail_correspondence_api"

router = DefaultRouter()
# No ``.json`` suffix routes: the API speaks JSON only, and the suffix routes reached views that
# do not take a format argument (a 500 for /correspondence/IN-2026-000001.json).
router.include_format_suffixes = False
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("data-dictionaries", views.DataDictionaryViewSet, basename="data-dictionary")
router.register("fragments", views.FragmentViewSet, basename="fragment")
router.register("layouts", views.LayoutViewSet, basename="layout")
router.register("customers", letters.CustomerViewSet, basename="customer")
router.register("templates", letters.TemplateViewSet, basename="template")
router.register("letters", letters.LetterViewSet, basename="letter")
router.register("batches", batches.BatchViewSet, basename="batch")
router.register("correspondence", register.CorrespondenceViewSet, basename="correspondence")

urlpatterns = [
    # For signed-in users (an admin session or a token), and only this API's operations, by
    # resource (openapi.py).
    path("schema/", SpectacularAPIView.as_view(api_version="1", permission_classes=[IsAuthenticated],
                                               custom_settings=openapi.SCHEMA_SETTINGS), name="schema"),
    # One documentation page, Swagger UI (Redoc's page loads its maker's logo from their CDN).
    # The documentation page runs its own scripts from the sidecar's static files: a policy
    # of their own (API_DOCS). Swagger UI's start-up script comes from the same URL (?script=)
    # instead of an inline <script>, so that no inline script is allowed.
    path("docs/", openapi.docs_login_required(uses_policy("API_DOCS")(SpectacularSwaggerSplitView.as_view(
        url_name="wagtail_correspondence_api:schema", permission_classes=[IsAuthenticated]))), name="docs"),
    path("me/", views.MeView.as_view(), name="me"),
    path("delivery-receipts/sns/", letters.SnsReceiptView.as_view(), name="sns-receipts"),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found),
]
