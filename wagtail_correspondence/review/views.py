"""Snippet views of content under the review policy."""

import django_filters
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import StatusTagColumn
from wagtail.snippets.views.snippets import UnpublishView

from .status import CHOICES, LABELS, LIVE, LIVE_WITH_DRAFT, filter_by_review_status, review_status, with_review_status


class WithdrawView(UnpublishView):
    """Unpublishing: Wagtail asks for "publish", which the four-eyes policy refuses outside the
    workflow; withdrawing approved content stays with the holders of the publish permission."""

    permission_required = "unpublish"


class ReviewedContentViewSetMixin:
    """For the snippet viewsets of fragments and layouts."""

    unpublish_view_class = WithdrawView


class ReviewStatusColumn(StatusTagColumn):
    """Draft / in review / changes requested / live / live + draft changes / expired."""

    def __init__(self, **kwargs):
        super().__init__("review_status", label=_("Status"), sort_key=None,
                         primary=lambda instance: review_status(instance) in (LIVE, LIVE_WITH_DRAFT), **kwargs)

    def get_value(self, instance):
        return LABELS[review_status(instance)]


class ReviewStatusIndexMixin:
    """For the index views of content under review: the status of every row in one query."""

    def get_base_queryset(self):
        return with_review_status(super().get_base_queryset())


def review_status_filter():
    return django_filters.ChoiceFilter(label=_("Status"), choices=CHOICES, method=_filter_status)


def _filter_status(queryset, name, value):
    return filter_by_review_status(queryset, value) if value else queryset
