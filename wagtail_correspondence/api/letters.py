"""Letter API: customers, templates, preview, letters and their PDFs. Thin: every rule is
in ``services.letters``, shared with the letter builder in the admin."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from wagtail.log_actions import log

from .. import log_actions
from ..customers import CustomerNotFound, get_customer_source
from ..models import Letter, LetterStatus
from ..services import letter_approval
from ..services import letters as letter_service
from .. import json_limits
from ..permissions import letter_policy
from ..services.customer_records import read_customer_record
from ..services.letter_access import search_letters
from ..uploads import read_upload
from . import letter_serializers as serializers
from .parsers import PARSERS
from .permissions import any_permission

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Repeat the request with the same key to get the same letter instead of a second one")
BUILD_OR_VIEW = any_permission(letter_service.ADD_LETTER, letter_service.VIEW_LETTER)
PROBLEMS = OpenApiResponse(description='Every problem, naming its field: {"errors": [{"field", "message", "kind"}]}')


def problems_response(problems, status_code=status.HTTP_400_BAD_REQUEST):
    return Response({"errors": [problem.as_dict() for problem in problems]}, status=status_code)


class CustomerViewSet(viewsets.ViewSet):
    """The customer data source, for building letters."""

    permission_classes = [permissions.IsAuthenticated, any_permission(letter_service.ADD_LETTER)]
    parser_classes = PARSERS
    lookup_value_regex = "[^/]+"

    @extend_schema(parameters=[
        OpenApiParameter("search", str, description="Words matched against id, name, email and phone"),
        OpenApiParameter("limit", int, description="At most this many results (default 20, max 100)")],
        responses=serializers.CustomerSummarySerializer(many=True))
    def list(self, request):
        try:
            limit = min(max(int(request.query_params.get("limit", 20)), 1), 100)
        except ValueError:
            return Response({"limit": ["Must be a whole number."]}, status=status.HTTP_400_BAD_REQUEST)
        results = get_customer_source().search(request.query_params.get("search", ""), limit=limit)
        return Response({"count": len(results), "results": results})

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request, pk=None):
        """The customer's full record, shaped as letter data. Each read is in the audit log."""
        try:
            return Response(read_customer_record(request.user, pk, via="api"))
        except CustomerNotFound:
            raise Http404 from None


class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Published letter templates, with their slots, options, channels and data schema."""

    serializer_class = serializers.LetterTemplateSerializer
    permission_classes = [permissions.IsAuthenticated, BUILD_OR_VIEW]
    parser_classes = PARSERS
    pagination_class = None
    # Ids the database can hold: a longer number is a 404, not the database's overflow.
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        queryset = letter_service.available_templates()
        search = self.request.query_params.get("search")
        if search:
            queryset = queryset.filter(title__icontains=search)
        return queryset


class LetterFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LetterStatus.choices)
    # Bounded as database ids are: a number beyond them is a 400 naming the parameter.
    template = django_filters.NumberFilter(field_name="template_id", min_value=1, max_value=2**63 - 1)
    created_by = django_filters.CharFilter(field_name="created_by__username")
    customer_id = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="search", label="Words found in the reference, recipient, customer or subject")
    awaiting_my_approval = django_filters.BooleanFilter(
        method="awaiting_approval", label="true: only the letters awaiting approval that you may decide")

    class Meta:
        model = Letter
        fields = ["status", "template", "created_by", "customer_id"]

    def awaiting_approval(self, queryset, name, value):
        if value is None:
            return queryset
        mine = letter_approval.approvable_letters(self.request.user, queryset)
        return mine if value else queryset.exclude(pk__in=mine.values("pk"))

    def search(self, queryset, name, value):
        # Within the queryset the view scoped already, so search never widens what a user sees.
        return search_letters(queryset, value)


class LetterViewSet(viewsets.GenericViewSet):
    """Letters. ``{key}`` is the reference number of a generated letter, or the id of a draft."""

    permission_classes = [permissions.IsAuthenticated, BUILD_OR_VIEW]
    parser_classes = PARSERS
    serializer_class = serializers.LetterSerializer
    filterset_class = LetterFilter
    lookup_field = "key"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return letter_policy.scope(self.request.user, "view", Letter.objects.select_related(
            "template", "created_by", "generated_by").prefetch_related("dispatches"))

    def get_object(self):
        key = self.kwargs["key"]
        queryset = self.get_queryset()
        letter = queryset.filter(reference=key).first()
        if letter is None:
            try:
                letter = queryset.filter(uuid=key).first()
            except Exception:  # not a UUID either
                letter = None
        if letter is None:
            raise Http404
        return letter

    def _letter_response(self, letter, status_code=status.HTTP_200_OK, headers=None):
        data = serializers.LetterSerializer(letter, context={"request": self.request}).data
        return Response(data, status=status_code, headers=headers)

    @extend_schema(responses=serializers.LetterListSerializer(many=True))
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = serializers.LetterListSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(responses=serializers.LetterSerializer)
    def retrieve(self, request, key=None):
        letter = self.get_object()
        log(letter, log_actions.LETTER_VIEWED, user=request.user, data={"reference": letter.reference, "via": "api"})
        return self._letter_response(letter)

    @extend_schema(request=serializers.LetterCreateSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: serializers.LetterSerializer, 200: serializers.LetterSerializer,
                              400: PROBLEMS, 409: OpenApiResponse(description="Idempotency-Key reused")})
    def create(self, request):
        """Generate a letter (or save a draft with ``"status": "draft"``)."""
        serializer = serializers.LetterCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        letter_request = serializer.to_letter_request()
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > 255:
            return Response({"Idempotency-Key": ["At most 255 characters."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            if serializer.validated_data["status"] == LetterStatus.DRAFT:
                letter = letter_service.save_draft(request.user, letter_request)
                return self._letter_response(letter, status.HTTP_201_CREATED)
            letter = letter_service.generate_letter(request.user, letter_request, idempotency_key=key)
        except letter_service.LetterError as exc:
            return problems_response(exc.problems)
        except letter_service.IdempotencyConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if letter.replayed:
            return self._letter_response(letter, status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
        return self._letter_response(letter, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.LetterRequestSerializer, responses={200: serializers.LetterSerializer,
                                                                           400: PROBLEMS})
    def partial_update(self, request, key=None):
        """Change a draft: any field of the request may be given; the rest stays."""
        letter = self.get_object()
        if not letter_service.can_edit_draft(request.user, letter):
            raise PermissionDenied
        current = {"template": letter.template_id, "customer_id": letter.customer_id, "slots": letter.slot_values,
                   "optional_fragments": letter.optional_fragments, "channel": letter.channel,
                   "enclosures": letter.enclosure_keys, "edits": letter.fragment_edits or None,
                   "zones": letter.zone_choices}
        if letter.data_overrides is not None:
            current["data"] = letter.data_overrides
        serializer = serializers.LetterRequestSerializer(data={**current, **request.data})
        serializer.is_valid(raise_exception=True)
        try:
            letter = letter_service.save_draft(request.user, serializer.to_letter_request(), letter)
        except letter_service.LetterError as exc:
            return problems_response(exc.problems)
        return self._letter_response(letter)

    @extend_schema(responses={204: None})
    def destroy(self, request, key=None):
        """Discard a draft. Generated letters are records and stay."""
        letter = self.get_object()
        # Permission before state: a user who may not build letters learns nothing more.
        if not letter_service.can_build_letters(request.user):
            raise PermissionDenied
        if not letter.is_draft:
            return Response({"detail": "A numbered letter cannot be deleted; withdraw it while it awaits approval."},
                            status=status.HTTP_409_CONFLICT)
        letter_service.discard_draft(request.user, letter)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: serializers.LetterSerializer, 400: PROBLEMS})
    @action(detail=True, methods=["post"])
    def generate(self, request, key=None):
        """Generate a saved draft, as it is; for a letter returned by its approver, submit it
        again (same reference)."""
        letter = self.get_object()
        if not letter_service.can_build_letters(request.user):
            raise PermissionDenied
        if letter.status not in letter_service.EDITABLE_STATUSES:
            return self._letter_response(letter)
        try:
            letter = letter_service.generate_letter(request.user, letter_service.request_for_draft(letter),
                                                    draft=letter)
        except letter_service.LetterError as exc:
            return problems_response(exc.problems)
        return self._letter_response(letter, status.HTTP_201_CREATED)

    def _decide(self, request, decide):
        serializer = serializers.ApprovalDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        letter = self.get_object()
        try:
            letter = decide(request.user, letter, serializer.validated_data.get("comment", ""))
        except letter_approval.ApprovalError as exc:
            code = status.HTTP_400_BAD_REQUEST if exc.field == "comment" else status.HTTP_409_CONFLICT
            return Response({exc.field: [exc.message]}, status=code)
        return self._letter_response(Letter.objects.get(pk=letter.pk))

    @extend_schema(request=serializers.ApprovalDecisionSerializer,
                   responses={200: serializers.LetterSerializer, 409: OpenApiResponse(description="Not awaiting approval")})
    @action(detail=True, methods=["post"])
    def approve(self, request, key=None):
        """Approve a letter awaiting approval: it is sent. Not your own letter."""
        return self._decide(request, letter_approval.approve_letter)

    @extend_schema(request=serializers.ApprovalDecisionSerializer,
                   responses={200: serializers.LetterSerializer, 400: OpenApiResponse(description="No comment"),
                              409: OpenApiResponse(description="Not awaiting approval")})
    @action(detail=True, methods=["post"], url_path="return", url_name="return-for-changes")
    def return_for_changes(self, request, key=None):
        """Return a letter awaiting approval to its agent, with a ``comment`` saying what to change."""
        return self._decide(request, letter_approval.return_letter)

    @extend_schema(request=serializers.WithdrawSerializer,
                   responses={200: serializers.LetterSerializer, 409: OpenApiResponse(description="Not under approval")})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, key=None):
        """Withdraw your letter awaiting approval or returned for changes: it is never sent."""
        serializer = serializers.WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        letter = self.get_object()
        try:
            letter = letter_approval.withdraw_letter(request.user, letter, serializer.validated_data.get("reason", ""))
        except letter_approval.ApprovalError as exc:
            return Response({exc.field: [exc.message]}, status=status.HTTP_409_CONFLICT)
        return self._letter_response(Letter.objects.get(pk=letter.pk))

    @extend_schema(request=serializers.LetterRequestSerializer,
                   responses={200: serializers.PreviewSerializer, 400: PROBLEMS})
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Assemble a letter with live content and return every output and what is missing.
        Nothing is saved."""
        if not letter_service.can_build_letters(request.user):
            raise PermissionDenied
        serializer = serializers.LetterRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        letter_request = serializer.to_letter_request()
        try:
            letter = letter_service.preview_letter(request.user, letter_request)
        except letter_service.LetterError as exc:
            return problems_response(exc.problems)
        return Response(letter_service.preview_payload(letter))

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, key=None):
        """The letter's PDF; its SHA-256 is in the ``X-Content-SHA256`` header."""
        letter = self.get_object()
        if not letter.has_output or not letter.pdf:
            raise Http404
        try:
            content = letter_service.read_pdf(request.user, letter)
        except letter_service.LetterIntegrityError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{letter.reference}.pdf"'
        response["X-Content-SHA256"] = letter.pdf_sha256
        return response

    @extend_schema(request={"multipart/form-data": serializers.PdfCopyRequestSerializer},
                   responses={200: serializers.PdfCopyCheckSerializer})
    @action(detail=False, methods=["post"], url_path="verify-pdf")
    def verify_pdf(self, request):
        """Check a PDF someone holds (``file``; ``password`` for a password-protected email
        copy): whether it carries our seal, intact, and which letter it is. ``same_as_stored``
        says whether it is byte for byte the stored PDF of a letter you may see. Nothing is
        kept."""
        serializer = serializers.PdfCopyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        content, _type, _extension = read_upload(serializer.validated_data["file"], allowed=["application/pdf"],
                                                 max_bytes=VERIFY_MAX_BYTES)
        result = letter_service.check_pdf_copy_for(request.user, content, serializer.validated_data.get("password"))
        return Response(result.as_dict())

    @extend_schema(responses={200: serializers.PdfCheckSerializer})
    @action(detail=True, methods=["get"], url_path="pdf/verification")
    def pdf_verification(self, request, key=None):
        """Whether the stored PDF is the one generated (its SHA-256) and, for a sealed letter,
        whether the organisation's seal is intact, by the certificate recorded at generation,
        and trusted. ``ok`` sums it up."""
        letter = self.get_object()
        if not letter.has_output or not letter.pdf:
            raise Http404
        return Response(letter_service.verify_letter_pdf(request.user, letter).as_dict())


# A letter's PDF with a few images is well under this; a larger file is not one of ours.
VERIFY_MAX_BYTES = 20 * 1024 * 1024


class SnsReceiptThrottle(AnonRateThrottle):
    """Amazon SNS posts receipts in bursts from a few addresses: a rate of their own (the
    ``sns_receipts`` rate of DEFAULT_THROTTLE_RATES, 6000 a minute when unset) instead of the
    anonymous rate meant for people."""

    scope = "sns_receipts"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope) or "6000/minute"


class SnsReceiptView(views.APIView):
    """Delivery receipts from Amazon SNS (SES email events). No login: each message is
    believed only if AWS's signature checks out."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SnsReceiptThrottle]
    parser_classes = []  # SNS posts JSON as text/plain; the raw body is read below

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiResponse(description="What was done"),
                                                           403: OpenApiResponse(description="Not signed by SNS")})
    def post(self, request):
        from ..delivery.receipts import InvalidNotification, verify
        from ..services.receipts import handle

        try:
            message = json_limits.loads(request.body)
        except json_limits.JSONTooDeep as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        except ValueError:
            return Response({"detail": "The body must be an SNS message in JSON."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            verify(message)
        except InvalidNotification as exc:
            return Response({"detail": f"Refused: {exc}."}, status=status.HTTP_403_FORBIDDEN)
        return Response({"result": handle(message)})
