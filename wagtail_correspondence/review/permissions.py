"""Direct publishing refused for content under the review policy, where Wagtail decides it.

Wagtail asks two things before publishing: the permission policy registered for a snippet model
(``user_has_permission(user, "publish")``: the editors' Publish and the actions behind them,
revert and publish, copies, reordering, PublishRevisionAction itself) and, for pages, the page's
permission tester (``can_publish``: the page editor, bulk publish, the admin API, and
``can_publish_subpage`` for creating, copying and aliasing live pages). Both answer no to
everyone, superusers included, except while the review workflow publishes the object it has
just approved. Withdrawing content stays with the holders of the ``publish`` permission:
snippets ask for it as ``"unpublish"`` (``views.WithdrawView``), pages through ``can_unpublish``.
Unscheduling a publication and page privacy follow ``publish`` in Wagtail and are refused with
it (a newer approved revision replaces a scheduled one).
"""

from django.contrib.auth import get_user_model
from wagtail.models import PagePermissionTester
from wagtail.permission_policies import ModelPermissionPolicy

from .rules import publishing_through_workflow, under_review_policy


class FourEyesPolicyMixin:
    """For a permission policy of a model under the review policy. ``"publish"`` is refused
    outside the workflow and granted inside it (the task's groups decide who approves, not the
    ``publish`` permission); ``"unpublish"`` is the ``publish`` permission itself."""

    def _get_permission_codename(self, action):
        return super()._get_permission_codename("publish" if action == "unpublish" else action)

    def _publish_decision(self, actions):
        """None when Wagtail's own answer stands, else True or False for "publish"."""
        if "publish" not in actions or not under_review_policy(self.model):
            return None
        return publishing_through_workflow()

    def _others(self, actions):
        return [action for action in actions if action != "publish"]

    def user_has_permission(self, user, action):
        decision = self._publish_decision([action])
        if decision is None:
            return super().user_has_permission(user, action)
        return decision and user.is_active

    def user_has_any_permission(self, user, actions):
        actions = list(actions)
        decision = self._publish_decision(actions)
        if decision is None:
            return super().user_has_any_permission(user, actions)
        others = self._others(actions)
        return (decision and user.is_active) or bool(others and super().user_has_any_permission(user, others))

    def user_has_permission_for_instance(self, user, action, instance):
        decision = self._publish_decision([action])
        if decision is None:
            return super().user_has_permission_for_instance(user, action, instance)
        return decision and user.is_active and publishing_through_workflow(instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        actions = list(actions)
        decision = self._publish_decision(actions)
        if decision is None:
            return super().user_has_any_permission_for_instance(user, actions, instance)
        if decision and user.is_active and publishing_through_workflow(instance):
            return True
        others = self._others(actions)
        return bool(others and super().user_has_any_permission_for_instance(user, others, instance))

    def users_with_any_permission(self, actions):
        actions = list(actions)
        if self._publish_decision(actions) is None:
            return super().users_with_any_permission(actions)
        others = self._others(actions)
        return super().users_with_any_permission(others) if others else get_user_model().objects.none()

    def instances_user_has_any_permission_for(self, user, actions):
        actions = list(actions)
        if self._publish_decision(actions) is None:
            return super().instances_user_has_any_permission_for(user, actions)
        others = self._others(actions)
        if others:
            return super().instances_user_has_any_permission_for(user, others)
        return self.model._default_manager.none()


class ReviewedContentPermissionPolicy(FourEyesPolicyMixin, ModelPermissionPolicy):
    """The policy of fragments and layouts (registered in ``apps.ready``, by
    ``permissions.register_permission_policies``)."""


class ReviewedPagePermissionTester(PagePermissionTester):
    """Wagtail's page tester, with publishing left to the review workflow."""

    def can_publish(self):
        if not under_review_policy(self.page):
            return super().can_publish()
        return bool(self.user.is_active and publishing_through_workflow(self.page))

    def can_publish_subpage(self):
        # Creating, copying or aliasing a page as live under a library page.
        if under_review_policy(self.page):
            return False
        return super().can_publish_subpage()


class ReviewedPageMixin:
    """For the template library's page classes."""

    reviewed_by_four_eyes = True

    def permissions_for_user(self, user):
        return ReviewedPagePermissionTester(user, self)
