"""Register API: list, register, read, edit, move through the status machine, assign, notes,
documents and history of correspondence entries. Thin: every rule is in ``services.register``
and the scope is the register entries' permission policy, exactly as in the admin. An
entry the user may not see answers 404, as if it did not exist."""

import hashlib
import json

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from reversion.models import Version
from wagtail.log_actions import log

from .. import log_actions
from ..models import (
    Attachment,
    Category,
    Correspondence,
    Department,
    Direction,
    Priority,
    Source,
    Status,
    overdue_condition,
)
from ..permissions import register_entry_policy
from ..services import register as register_service
from ..services import register_access as access
from ..services import retention
from . import register_serializers as serializers
from .pagination import RegisterPagination
from .parsers import PARSERS
from .permissions import any_permission

BAD_REQUEST = OpenApiResponse(description='Problems, each under the name of its field: {"subject": ["…"]}')
FORBIDDEN = OpenApiResponse(description="Not allowed for this user (auditors may only read)")
NOT_FOUND = OpenApiResponse(description="No such entry, or one the user may not see")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Repeat the request with the same key to get the same entry instead of a second one")
CONFLICT = OpenApiResponse(description='The status machine does not allow this move: {"status": ["…"], "detail": "…"}')


class StatusInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    pass


class CorrespondenceFilter(django_filters.FilterSet):
    status = StatusInFilter(field_name="status", choices=Status.choices,
                            help_text="One status or several, comma-separated (registered,assigned)")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="code", method="filter_subtree",
        help_text="Department code; its sub-departments are included")
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), to_field_name="code", method="filter_subtree",
        help_text="Category code; the categories below it are included")
    assignee = django_filters.CharFilter(method="filter_assignee", help_text="A username, or 'me'")
    overdue = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_overdue",
        help_text="true: open, past the deadline and not waiting for the customer; false: all others")
    customer_id = django_filters.CharFilter()
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte",
                                                      help_text="ISO 8601 date or date-time, inclusive")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt",
                                                       help_text="ISO 8601 date or date-time, exclusive")
    q = django_filters.CharFilter(
        method="filter_search",
        help_text="Words, each found (case-insensitive) in the reference, subject, body, sender, customer or "
                  "their reference")

    class Meta:
        model = Correspondence
        fields = ["status", "direction", "priority", "department", "category", "assignee", "overdue",
                  "customer_id", "received_after", "received_before", "q"]

    def filter_subtree(self, queryset, name, value):
        return queryset.filter(**{f"{name}__path__startswith": value.path}) if value else queryset

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        # A name no one has finds nothing, exactly as the name of someone whose entries the
        # user may not see: the answer never tells which usernames exist.
        User = get_user_model()
        return queryset.filter(**{f"assignee__{User.USERNAME_FIELD}": value})

    def filter_overdue(self, queryset, name, value):
        # On the list's own rows (not "pk IN (every overdue entry)"), so that the open-entry
        # index by deadline serves it.
        overdue = overdue_condition(timezone.now())
        return queryset.filter(overdue) if value == "true" else queryset.exclude(overdue)

    def filter_search(self, queryset, name, value):
        return access.search_entries(queryset, value)


@extend_schema_view(
    list=extend_schema(summary="List register entries the user may see",
                       responses=serializers.CorrespondenceListSerializer(many=True)),
    retrieve=extend_schema(summary="One entry, with thread, documents, notes and available actions",
                           responses={200: serializers.CorrespondenceSerializer, 404: NOT_FOUND}),
)
class CorrespondenceViewSet(viewsets.GenericViewSet):
    """The correspondence register. ``{reference}`` is an entry's reference number."""

    permission_classes = [permissions.IsAuthenticated, any_permission(access.VIEW)]
    parser_classes = PARSERS
    serializer_class = serializers.CorrespondenceSerializer
    filterset_class = CorrespondenceFilter
    pagination_class = RegisterPagination
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        queryset = Correspondence.objects.select_related(
            "department", "assignee", "category", "created_by", "in_reply_to", "sla_policy").order_by(
            "-registered_at", "-pk")
        return register_entry_policy.scope(self.request.user, "view", queryset)

    def get_object(self):
        entry = get_object_or_404(self.get_queryset(), reference=self.kwargs["reference"])
        self.check_object_permissions(self.request, entry)
        return entry

    def handle_exception(self, exc):
        if isinstance(exc, register_service.TransitionNotAllowed):
            messages = {name: [str(message) for message in items] for name, items in exc.message_dict.items()}
            detail = " ".join(message for items in messages.values() for message in items)
            return Response({**messages, "detail": detail}, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, DjangoPermissionDenied) and str(exc):
            exc = exceptions.PermissionDenied(str(exc))  # keep the service's reason
        return super().handle_exception(exc)

    def _entry_response(self, entry, status_code=status.HTTP_200_OK):
        entry = self.get_queryset().filter(pk=entry.pk).first() or Correspondence.objects.get(pk=entry.pk)
        data = serializers.CorrespondenceSerializer(entry, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def _validated(self, serializer_class, data=None):
        serializer = serializer_class(data=self.request.data if data is None else data,
                                      context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @staticmethod
    def _require(allowed, message):
        if not allowed:
            raise exceptions.PermissionDenied(message)

    # Reading -----------------------------------------------------------------------------

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = serializers.CorrespondenceListSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def retrieve(self, request, reference=None):
        entry = self.get_object()
        log(entry, log_actions.REGISTER_VIEWED, user=request.user, data={"reference": entry.reference, "via": "api"})
        return self._entry_response(entry)

    # Writing -----------------------------------------------------------------------------

    @extend_schema(summary="Register an entry",
                   request=serializers.CorrespondenceCreateSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: serializers.CorrespondenceSerializer,
                              200: OpenApiResponse(serializers.CorrespondenceSerializer,
                                                   description="Replayed: the entry this Idempotency-Key made"),
                              400: BAD_REQUEST, 403: FORBIDDEN,
                              409: OpenApiResponse(description="Idempotency-Key reused with another body")})
    def create(self, request):
        """Register an entry: it gets its reference number, is routed (department, assignee,
        priority, SLA) and gets its deadline. ``department`` and ``assignee``, when given,
        stand over what routing would choose (assign permission needed); ``routing_decision``
        records the rule, the conditions that matched and which values were given. With an
        ``Idempotency-Key`` header a retried request returns the first entry (200,
        ``Idempotent-Replayed: true``) instead of registering the mail twice."""
        self._require(access.can_register(request.user), "You may not register correspondence.")
        # Before any department or username is looked up: a refused caller learns nothing.
        register_service.check_may_choose_assignment(request.user, request.data)
        values = dict(self._validated(serializers.CorrespondenceCreateSerializer))
        explicit = {name: values.pop(name) for name in ("department", "assignee") if name in values}
        direction = values.pop("direction")
        tags = values.pop("tags", ())
        in_reply_to = values.pop("in_reply_to", None)
        comment = values.pop("comment", "")
        if "recipients" in values:
            values["recipients"] = [dict(recipient) for recipient in values["recipients"]]
        values.update({name: value for name, value in explicit.items() if value is not None})
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        fingerprint = hashlib.sha256(json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()
        try:
            entry = register_service.register_entry(
                request.user, direction=direction, source=Source.API, tags=tags, in_reply_to=in_reply_to,
                comment=comment, idempotency_key=key, fingerprint=fingerprint if key else "", **values)
        except register_service.IdempotencyConflict as exc:
            return Response({"Idempotency-Key": [str(exc)], "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if entry.replayed:
            response = self._entry_response(entry, status.HTTP_200_OK)
            response["Idempotent-Replayed"] = "true"
            return response
        return self._entry_response(entry, status.HTTP_201_CREATED)

    @extend_schema(summary="Change fields of an entry",
                   request=serializers.CorrespondenceUpdateSerializer,
                   responses={200: serializers.CorrespondenceSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND})
    def partial_update(self, request, reference=None):
        """Any of the editable fields; ``status``, ``department`` and ``assignee`` have their own
        endpoints, and any other field is refused by name. Each change is a new version in the
        history, with the user and ``comment``."""
        entry = self.get_object()
        self._require(access.can_change(request.user, entry), "You may not change this entry.")
        changes = dict(self._validated(serializers.CorrespondenceUpdateSerializer))
        tags = changes.pop("tags", None)
        comment = changes.pop("comment", "")
        if "recipients" in changes:
            changes["recipients"] = [dict(recipient) for recipient in changes["recipients"]]
        entry = register_service.update_entry(request.user, entry, changes, tags=tags, comment=comment)
        return self._entry_response(entry)

    @extend_schema(summary="Move an entry through the status machine",
                   request=serializers.TransitionSerializer,
                   responses={200: serializers.CorrespondenceSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def transition(self, request, reference=None):
        """``{"action": "start"}`` (start, await_customer, resume, respond, close, reopen) or
        ``{"status": "in_progress"}``. A move the status machine does not allow answers 409
        with the reason under ``status``; a missing reason (reopening, closing without a
        response) answers 400 naming ``reason``."""
        entry = self.get_object()
        self._require(access.can_change(request.user, entry), "You may not change this entry.")
        values = self._validated(serializers.TransitionSerializer)
        entry = register_service.transition(request.user, entry, values.get("action") or values["status"],
                                            reason=values.get("reason", ""))
        return self._entry_response(entry)

    @extend_schema(summary="Hand an entry to a department and/or a person",
                   request=serializers.AssignSerializer,
                   responses={200: serializers.CorrespondenceSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def assign(self, request, reference=None):
        """``{"department": "billing", "assignee": "ada", "reason": "…"}``; a key left out stays
        as it is, null clears it. Needs the assign permission, except to take an unassigned
        entry oneself (``"assignee": "me"``)."""
        entry = self.get_object()
        self._require(request.user.has_perm(access.ASSIGN) or access.can_change(request.user, entry),
                      "You may not assign this entry.")
        if not request.user.has_perm(access.ASSIGN):
            # Without the right to assign, only taking the entry oneself is possible: anything
            # else is refused before the name is looked up, so a refusal says nothing about
            # which usernames exist. The service checks the rest (an unassigned entry).
            self._require(set(request.data) <= {"assignee", "reason"} and request.data.get("assignee") in (
                "me", request.user.get_username()), "You may not assign this entry.")
        values = self._validated(serializers.AssignSerializer)
        entry = register_service.assign(request.user, entry, department=values.get("department", ...),
                                        assignee=values.get("assignee", ...), reason=values.get("reason", ""))
        return self._entry_response(entry)

    @extend_schema(summary="Add a note", request=serializers.NoteCreateSerializer,
                   responses={201: serializers.NoteSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def notes(self, request, reference=None):
        """A remark for staff; never shown to customers."""
        entry = self.get_object()
        self._require(access.can_change(request.user, entry), "You may not add notes to this entry.")
        values = self._validated(serializers.NoteCreateSerializer)
        note = register_service.add_note(request.user, entry, values["text"])
        return Response(serializers.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Upload a document, or a new version of one",
                   request={"multipart/form-data": serializers.AttachmentUploadSerializer},
                   responses={201: serializers.AttachmentSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def attachments(self, request, reference=None):
        """Multipart: ``file``, optional ``title``, ``comment`` and ``attachment`` (the id of a
        document of this entry, to add a version to it). The file is checked by its content."""
        entry = self.get_object()
        self._require(access.can_change(request.user, entry), "You may not add files to this entry.")
        values = self._validated(serializers.AttachmentUploadSerializer)
        attachment = None
        if values.get("attachment"):
            attachment = Attachment.objects.filter(uuid=values["attachment"], correspondence=entry).first()
            if attachment is None:
                raise exceptions.ValidationError({"attachment": ["No document with this id on this entry."]})
        version = register_service.add_attachment(request.user, entry, values["file"], title=values.get("title", ""),
                                                  attachment=attachment, comment=values.get("comment", ""))
        attachment = Attachment.objects.prefetch_related("versions__uploaded_by").get(pk=version.attachment_id)
        return Response(serializers.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The versions of an entry, newest first", filters=False,
                   responses={200: serializers.HistoryItemSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, reference=None):
        """Every saved version with its user and comment (what changed, and why). Each read
        is in the audit log, as reading the entry is."""
        entry = self.get_object()
        log(entry, log_actions.REGISTER_HISTORY_VIEWED, user=request.user,
            data={"reference": entry.reference, "via": "api"})
        versions = Version.objects.get_for_object(entry).select_related("revision__user")
        return Response([{"id": version.pk, "date": version.revision.date_created,
                          "user": version.revision.user.get_username() if version.revision.user_id else None,
                          "comment": version.revision.comment} for version in versions])

    @extend_schema(methods=["POST"], summary="Place a legal hold on an entry (and so on its conversation)",
                   request=serializers.LegalHoldSerializer,
                   responses={200: serializers.LegalHoldStatusSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND})
    @extend_schema(methods=["DELETE"], summary="Lift the legal hold of an entry",
                   request=serializers.LegalHoldSerializer,
                   parameters=[OpenApiParameter("reason", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                                                description="Why the hold is lifted (or in a JSON body)")],
                   responses={200: serializers.LegalHoldStatusSerializer, 400: BAD_REQUEST, 403: FORBIDDEN,
                              404: NOT_FOUND})
    @action(detail=True, methods=["post", "delete"], url_path="legal-hold", filter_backends=[])
    def legal_hold(self, request, reference=None):
        """POST ``{"reason": "…"}`` places a hold, DELETE ``{"reason": "…"}`` (or ``?reason=…``)
        lifts it. While an entry is held, retention neither anonymises nor purges it, any entry
        of its conversation or their letters. Needs the ``set_legal_hold_correspondence``
        permission."""
        entry = self.get_object()
        self._require(retention.can_set_legal_hold(request.user, entry), "You may not place or lift legal holds.")
        data = request.data
        if request.method == "DELETE" and not data and "reason" in request.query_params:
            data = {"reason": request.query_params["reason"]}
        values = self._validated(serializers.LegalHoldSerializer, data)
        if request.method == "POST":
            entry = retention.place_legal_hold(entry, request.user, values["reason"])
        else:
            entry = retention.lift_legal_hold(entry, request.user, values["reason"])
        return Response(serializers.LegalHoldStatusSerializer(entry).data)
