"""API views: thin, over the same models and services as the admin."""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import DataDictionary, Department, Fragment, Layout
from . import serializers
from .errors import field_errors_response
from .parsers import PARSERS
from .permissions import ModelPermissionsWithView


class MeView(generics.RetrieveAPIView):
    """The authenticated user, with groups (roles) and departments."""

    serializer_class = serializers.MeSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = PARSERS

    def get_object(self):
        return self.request.user


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Department.objects.order_by("path")
    serializer_class = serializers.DepartmentSerializer
    permission_classes = [ModelPermissionsWithView]
    parser_classes = PARSERS
    filterset_fields = ["is_active", "code"]


class DataDictionaryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DataDictionary.objects.prefetch_related("fields", "sample_data_sets")
    serializer_class = serializers.DataDictionarySerializer
    permission_classes = [ModelPermissionsWithView]
    parser_classes = PARSERS

    @extend_schema(request=serializers.PayloadValidationSerializer,
                   responses={200: OpenApiResponse(description="The payload is valid"),
                              400: OpenApiResponse(description="Errors, each naming its field")})
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """Check a payload against the dictionary; every problem names its field."""
        dictionary = self.get_object()
        serializer = serializers.PayloadValidationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        errors = dictionary.validate_payload(serializer.validated_data["data"])
        if errors:
            return field_errors_response(errors)
        return Response({"valid": True})

    def get_permissions(self):
        if self.action == "validate":
            # Validating a payload reads the dictionary; it changes nothing.
            return [permissions.IsAuthenticated(), _ViewPermission(DataDictionary)]
        return super().get_permissions()


class _ViewPermission(permissions.BasePermission):
    def __init__(self, model):
        self.codename = f"{model._meta.app_label}.view_{model._meta.model_name}"

    def has_permission(self, request, view):
        return request.user.has_perm(self.codename)


class FragmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Fragments. By default only those usable in letters (live and not expired);
    ``?status=all`` lists drafts too."""

    serializer_class = serializers.FragmentSerializer
    permission_classes = [ModelPermissionsWithView]
    parser_classes = PARSERS
    filterset_fields = ["language", "data_dictionary", "live"]
    lookup_field = "key"

    def get_queryset(self):
        queryset = Fragment.objects.select_related("category", "owning_department").order_by("title")
        if self.request.query_params.get("status") != "all":
            queryset = queryset.filter(live=True, live_revision__isnull=False).filter(
                Q(expire_at__isnull=True) | Q(expire_at__gt=timezone.now()))
        return queryset


class LayoutViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Layout.objects.order_by("name")
    serializer_class = serializers.LayoutSerializer
    permission_classes = [ModelPermissionsWithView]
    parser_classes = PARSERS


def correspondence_endpoints_only(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: the schema lists this app's endpoints, not the other
    DRF views a site has (Wagtail's admin API), wherever the app's URLs are mounted."""
    return [(path, path_regex, method, callback) for path, path_regex, method, callback in endpoints
            if (getattr(callback, "cls", None) or callback).__module__.startswith("wagtail_correspondence.")]
