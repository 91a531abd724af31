"""The four-eyes rules, in one place for the task, the permission checks and the editors.

- A change is every revision created since the object's last published revision (all of them
  when it was never published). Whoever created one of them that changed what the content
  says, or submitted the change for review, contributed to it and may not approve it: authors,
  reviewers and superusers alike.
- An approval applies to the revision as it was when its review started; a revision rewritten
  since (autosave) is reviewed again.
- Content under the review policy is published only by the review workflow's final approval
  (``workflow_publishing``); every other path (the editors' Publish, bulk publish, revert and
  publish, copies kept live, aliases, the admin API) is refused, superusers included.

``WAGTAIL_CORRESPONDENCE["FOUR_EYES"] = False`` relaxes both rules.
"""

import contextlib
import contextvars
import json
import re

from ..conf import get_setting

# The rich text editor adds data-block-key attributes to text saved by code (the demo, imports);
# that alone is not a change of wording. Any number of backslashes: also inside JSON strings.
BLOCK_KEY_RE = re.compile(r'\s+data-block-key=\\*"[^"\\]*\\*"')

# What a revision records about the object rather than what it says: Wagtail's bookkeeping,
# the page tree, locks, and page comments (remarks on the content, never sent to anyone).
BOOKKEEPING = frozenset({
    "pk", "live", "live_revision", "latest_revision", "latest_revision_created_at", "has_unpublished_changes",
    "first_published_at", "last_published_at", "expired", "locked", "locked_at", "locked_by", "owner",
    "draft_title", "path", "depth", "numchild", "url_path", "content_type", "translation_key", "locale",
    "alias_of", "wagtail_admin_comments",
})

# The object the review workflow is publishing right now, as (base content type id, pk), set
# only by FourEyesReviewTask around an approval it has checked.
_publishing = contextvars.ContextVar("wagtail_correspondence_workflow_publishing", default=None)


def four_eyes():
    return bool(get_setting("FOUR_EYES"))


def under_review_policy(model_or_instance):
    """Whether direct publishing is refused for this kind of content (four-eyes on). Content
    under the policy says so on its class, ``reviewed_by_four_eyes = True`` (fragments, layouts,
    the template library's pages through ``ReviewedPageMixin``): the rules sit below the models
    and never import them."""
    return four_eyes() and bool(getattr(model_or_instance, "reviewed_by_four_eyes", False))


def _key(obj):
    return (obj.get_base_content_type().pk, str(obj.pk))


@contextlib.contextmanager
def workflow_publishing(obj):
    """Lets the workflow's own publication of ``obj`` (WorkflowState.finish) pass the checks
    that refuse every other publication."""
    token = _publishing.set(_key(obj))
    try:
        yield
    finally:
        _publishing.reset(token)


def publishing_through_workflow(obj=None):
    key = _publishing.get()
    return key is not None and (obj is None or key == _key(obj))


def last_published_revision_id(obj):
    """The live revision; for content withdrawn since, the revision of its last publication."""
    from wagtail.log_actions import registry as log_registry

    live_revision_id = type(obj)._base_manager.filter(pk=obj.pk).values_list("live_revision_id", flat=True).first()
    if live_revision_id:
        return live_revision_id
    return (log_registry.get_logs_for_instance(obj).filter(action="wagtail.publish")
            .exclude(revision=None).order_by("-timestamp", "-pk").values_list("revision_id", flat=True).first())


def _without_block_ids(value):
    if isinstance(value, list):
        return [_without_block_ids(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_block_ids(item) for key, item in value.items() if key != "id"}
    return value


def wording(revision):
    """What a revision says, comparable between revisions."""
    said = {}
    for name, value in revision.content.items():
        if name in BOOKKEEPING:
            continue
        if isinstance(value, str) and value.startswith("["):
            try:
                # A StreamField, stored as JSON text; its blocks' ids are not wording.
                value = _without_block_ids(json.loads(value))
            except ValueError:
                pass
        said[name] = value
    return BLOCK_KEY_RE.sub("", json.dumps(said, sort_keys=True, default=str))


def change_contributors(obj):
    """Ids of the users who made the change now under review: whoever created a revision since
    the last published one that says something its previous revision did not (a save that
    changes nothing, or only page comments, contributes nothing), and whoever submitted it."""
    from wagtail.models import Revision

    revisions = Revision.objects.filter(base_content_type=obj.get_base_content_type(), object_id=str(obj.pk))
    published = last_published_revision_id(obj)
    previous = None
    if published:
        previous = revisions.filter(pk=published).first()
        # Revision ids grow with creation; created_at may tie, and an autosave moves it.
        revisions = revisions.filter(pk__gt=published)
    previous_wording = wording(previous) if previous is not None else None
    contributors = set()
    for revision in revisions.order_by("pk"):
        said = wording(revision)
        if revision.user_id and said != previous_wording:
            contributors.add(revision.user_id)
        previous_wording = said
    state = obj.current_workflow_state
    if state is not None and state.requested_by_id:
        contributors.add(state.requested_by_id)
    return contributors


def changed_since_review_began(task_state):
    """Whether the revision under review was rewritten after its review started: autosave
    overwrites its author's latest revision in place, so an approver may not have seen what an
    approval would now publish."""
    return task_state.revision.created_at > task_state.started_at


def may_approve(user, obj):
    """The four-eyes half of an approval (the task checks the reviewer groups)."""
    return not four_eyes() or user.pk not in change_contributors(obj)
