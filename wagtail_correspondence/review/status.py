"""Where a piece of content stands in its review, for lists: one word a reader understands.

Wagtail's own status tag says "live" or "draft" only; authors and reviewers also need to see
what waits for a reviewer, what went back to its author and what has expired.
"""

from django.db.models import CharField, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import WorkflowState

DRAFT = "draft"
IN_REVIEW = "in_review"
CHANGES_REQUESTED = "changes_requested"
LIVE = "live"
LIVE_WITH_DRAFT = "live_draft"
EXPIRED = "expired"

CHOICES = [
    (DRAFT, _("Draft")),
    (IN_REVIEW, _("In review")),
    (CHANGES_REQUESTED, _("Changes requested")),
    (LIVE, _("Live")),
    (LIVE_WITH_DRAFT, _("Live + draft changes")),
    (EXPIRED, _("Expired")),
]
LABELS = dict(CHOICES)

# The annotation the list's queryset carries (one query for the page, not one per row).
WORKFLOW_STATUS = "_review_workflow_status"
OPEN = (WorkflowState.STATUS_IN_PROGRESS, WorkflowState.STATUS_NEEDS_CHANGES)


def _base_content_type(model):
    """The content type workflow states are filed under: a page's is Page's (its tree's
    base model), a snippet's is its own (as Wagtail's ``get_base_content_type`` decides)."""
    from django.contrib.contenttypes.models import ContentType

    parents = model._meta.get_parent_list()
    return ContentType.objects.get_for_model(parents[-1] if parents else model, for_concrete_model=False)


def _open_workflow_status(model):
    content_type = _base_content_type(model)
    return Subquery(WorkflowState.objects.filter(
        base_content_type=content_type, object_id=Cast(OuterRef("pk"), CharField()), status__in=OPEN,
    ).values("status")[:1])


def with_review_status(queryset, name=WORKFLOW_STATUS):
    return queryset.annotate(**{name: _open_workflow_status(queryset.model)})


def _expired_q():
    return Q(expired=True) | Q(expire_at__lte=timezone.now())


def filter_by_review_status(queryset, status):
    name = "_review_status_filter"
    queryset = queryset.alias(**{name: _open_workflow_status(queryset.model)})
    in_review = Q(**{name: WorkflowState.STATUS_IN_PROGRESS})
    changes = Q(**{name: WorkflowState.STATUS_NEEDS_CHANGES})
    no_review = Q(**{f"{name}__isnull": True})
    if status == IN_REVIEW:
        return queryset.filter(in_review)
    if status == CHANGES_REQUESTED:
        return queryset.filter(changes)
    queryset = queryset.filter(no_review)
    if status == EXPIRED:
        return queryset.filter(_expired_q())
    queryset = queryset.exclude(_expired_q())
    if status == DRAFT:
        return queryset.filter(live=False)
    if status == LIVE_WITH_DRAFT:
        return queryset.filter(live=True, has_unpublished_changes=True)
    if status == LIVE:
        return queryset.filter(live=True, has_unpublished_changes=False)
    return queryset


def review_status(obj):
    """One of the statuses above, for an object of a model with drafts and a workflow."""
    if hasattr(obj, WORKFLOW_STATUS):
        workflow_status = getattr(obj, WORKFLOW_STATUS)
    else:
        state = obj.current_workflow_state
        workflow_status = state.status if state is not None else None
    if workflow_status == WorkflowState.STATUS_IN_PROGRESS:
        return IN_REVIEW
    if workflow_status == WorkflowState.STATUS_NEEDS_CHANGES:
        return CHANGES_REQUESTED
    if obj.expired or (obj.expire_at and obj.expire_at <= timezone.now()):
        return EXPIRED
    if not obj.live:
        return DRAFT
    return LIVE_WITH_DRAFT if obj.has_unpublished_changes else LIVE
