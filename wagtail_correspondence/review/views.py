"""Snippet views of content under the review policy."""

from wagtail.snippets.views.snippets import UnpublishView


class WithdrawView(UnpublishView):
    """Unpublishing: Wagtail asks for "publish", which the four-eyes policy refuses outside the
    workflow; withdrawing approved content stays with the holders of the publish permission."""

    permission_required = "unpublish"


class ReviewedContentViewSetMixin:
    """For the snippet viewsets of fragments and layouts."""

    unpublish_view_class = WithdrawView
