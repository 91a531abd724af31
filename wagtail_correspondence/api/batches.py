"""Batch API: upload a CSV or JSON Lines file for a template, read the dry-run report and the
progress, start or cancel the run, resume it when its worker stopped. Thin over
``services.batches``."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import LetterBatch
from ..services import batches as service
from ..services import letters as letter_service
from ..permissions import batch_policy
from .letters import BUILD_OR_VIEW
from .parsers import BoundedJSONParser
from .serializers import IdField


class BatchCreateSerializer(serializers.Serializer):
    template = IdField(queryset=letter_service.available_templates(),
                       error_messages={"does_not_exist": "No published letter template with id {pk_value}."})
    file = serializers.FileField(help_text="CSV or JSON Lines (.jsonl)")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    channel = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = letter_service.available_templates()


class BatchWorkerSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["alive", "queued", "stale", "idle"], help_text=(
        "alive: a worker renewed the batch's lease recently (or its task was just queued); queued: the task waits "
        "for a worker; stale: nobody works on it (resumed automatically, or by hand); idle: not checking or running"))
    worker = serializers.CharField(help_text="The worker that last renewed the lease")
    renewed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    automatic_resumes = serializers.IntegerField(help_text="Automatic resumes since the last row completed")


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    template = serializers.IntegerField()
    status = serializers.CharField()
    format = serializers.CharField()
    channel = serializers.CharField()
    progress = serializers.DictField()
    report = serializers.DictField(help_text=(
        "The dry run: rows, valid, errors, error_rows (row, field, message, kind; kind \"rule\" for a broken data "
        "rule), unresolved_fields, channels (rows per channel really taken), routes (requested, channel, reason, "
        "delivered, source, rows: where the letters go and why), rerouted_rows (row, customer_id, requested, channel, "
        "reason), rerouted, undelivered"))
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    worker = BatchWorkerSerializer()
    unknown_outcomes = serializers.IntegerField(help_text=(
        "Dispatches of the batch's letters whose outcome is unknown (left sending by a worker that stopped): never "
        "resent automatically"))
    void_references = serializers.IntegerField(help_text=(
        "Reference numbers reserved for rows that failed while their chunk was generated: recorded as void, with "
        "the reason, and never used (each row's result gives its void_reference)"))


ROWS_PAGE = 1000


def _bounded_int(text, name, low, high, default):
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise serializers.ValidationError({name: [f"Give a whole number from {low} to {high}."]}) from None
    if not low <= value <= high:
        raise serializers.ValidationError({name: [f"Give a whole number from {low} to {high}."]})
    return value


class BatchRowResultSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    customer_id = serializers.CharField()
    status = serializers.CharField()
    reference = serializers.CharField(help_text="The letter's reference, once generated")
    requested_channel = serializers.CharField(help_text="The channel the row asked for (row, batch, customer "
                                                        "preference or the template's first channel)")
    channel = serializers.CharField(help_text="The channel(s) its letter took, or the one the dry run found")
    channel_reason = serializers.CharField(help_text="Why the channel differs from the one asked for")
    delivery = serializers.CharField()
    print_run = serializers.CharField()
    errors = serializers.CharField()
    void_reference = serializers.CharField(help_text="The reference number reserved for the row when it failed in "
                                                     "its chunk: void, never used for a letter")


class BatchViewSet(viewsets.ViewSet):
    """Letter batches. Uploading checks every row (a dry run); ``start/`` generates them in the
    background; ``GET`` shows the report and the progress."""

    permission_classes = [permissions.IsAuthenticated, BUILD_OR_VIEW]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, BoundedJSONParser]
    lookup_field = "id"
    lookup_value_regex = "[0-9a-f-]{36}"

    def queryset(self):
        return batch_policy.scope(self.request.user, "view",
                                  LetterBatch.objects.select_related("template", "created_by"))

    def get_batch(self, batch_id):
        batch = self.queryset().filter(uuid=batch_id).first()
        if batch is None:
            from django.http import Http404

            raise Http404
        return batch

    @extend_schema(responses=BatchSerializer(many=True))
    def list(self, request):
        return Response([service.batch_summary(batch) for batch in self.queryset()[:100]])

    @extend_schema(request={"multipart/form-data": BatchCreateSerializer},
                   responses={201: BatchSerializer, 400: OpenApiResponse(description="The field that is wrong")})
    def create(self, request):
        if not letter_service.can_build_letters(request.user):
            raise PermissionDenied
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            batch = service.create_batch(request.user, values["template"].specific, values["file"],
                                         name=values.get("name", ""), channel=values.get("channel", ""))
        except service.BatchFileError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(service.batch_summary(batch), status=status.HTTP_201_CREATED)

    @extend_schema(responses=BatchSerializer)
    def retrieve(self, request, id=None):
        return Response(service.batch_summary(self.get_batch(id)))

    @extend_schema(request=None, responses={200: BatchSerializer, 409: OpenApiResponse(description="Not checked")})
    @action(detail=True, methods=["post"])
    def start(self, request, id=None):
        return self._operate(service.start_batch, id)

    @extend_schema(request=None, responses={
        200: BatchSerializer, 403: OpenApiResponse(description="Not the batch's owner nor an administrator"),
        409: OpenApiResponse(description="The batch is alive, waits for a worker, or cannot be resumed")})
    @action(detail=True, methods=["post"])
    def resume(self, request, id=None):
        """Resume a batch whose worker stopped (or that failed): rows already generated are
        skipped. Refused with 409 and the reason while a worker is on it."""
        return self._operate(service.resume_batch, id)

    def _operate(self, operation, id):
        """One service operation on the batch: its summary, or 409 with the service's reason."""
        batch = self.get_batch(id)
        try:
            operation(self.request.user, batch)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        batch.refresh_from_db()
        return Response(service.batch_summary(batch))

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, id=None):
        return self._operate(service.cancel_batch, id)

    @extend_schema(summary="Every row's result", parameters=[
        OpenApiParameter("offset", int, description="First row to return (0-based position)"),
        OpenApiParameter("limit", int, description=f"Rows to return, at most {ROWS_PAGE}")],
        responses=BatchRowResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def rows(self, request, id=None):
        """Each row: its status, its letter's reference, the channel it asked for, the channel
        the dry run found it really takes and why (no backend, no address: the template's
        fallback), the channel its letter took and its delivery, its print run and errors."""
        batch = self.get_batch(id)
        offset = _bounded_int(request.query_params.get("offset"), "offset", 0, 10 ** 9, 0)
        limit = _bounded_int(request.query_params.get("limit"), "limit", 1, ROWS_PAGE, ROWS_PAGE)
        results = list(service.result_rows(batch, offset=offset, limit=limit))
        return Response({"count": batch.total_rows, "offset": offset, "results": results})
