"""Side-by-side comparison of two revisions of a fragment, rendered with sample data.

Wagtail's own compare view shows a field diff; reviewers of wording also need to read both
versions as the customer would, next to each other. Each version is a document of its own in a
sandboxed frame (content_security.py): what an author wrote never becomes part of this page.
Below them, a word-level redline of the two rendered texts (escaped text, never markup), and
the review's decision (approve or request changes, with a comment), taken through the review
workflow's task like the editor's and the dashboard's actions, so that one screen suffices.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permission_policies import ModelPermissionPolicy

from ..content_security import framed_document, without_inline_script
from ..models import Fragment
from ..rendering.fragments import render_fragment_body
from ..rendering.sandbox import MergeError
from ..review.editors import review_message
from ..rendering.redline import DELETED, INSERTED, has_changes, redline
from ..review.rules import may_approve

# The review decisions this screen offers, by the workflow action's name.
DECISIONS = ("approve", "reject")


def render_revision(revision, dictionary, sample):
    """(html, error) for one revision rendered with a sample data set."""
    fragment = revision.as_object()
    data = dictionary.coerce_payload(sample.data) if sample else {}
    try:
        return render_fragment_body(fragment.body, data), None
    except MergeError as exc:
        return "", str(exc)


@method_decorator(without_inline_script, name="dispatch")
class FragmentSideBySideView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_correspondence/admin/compare_side_by_side.html"
    header_icon = "doc-full"
    permission_policy = ModelPermissionPolicy(Fragment)

    def dispatch(self, request, *args, **kwargs):
        self.fragment = get_object_or_404(Fragment, pk=kwargs["pk"])
        if not self.permission_policy.user_has_any_permission(request.user, ["view", "change", "publish"]):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Compare side by side")

    def offered_decisions(self):
        """The decisions the fragment's review task offers this user now (four-eyes included)."""
        task = self.fragment.current_workflow_task
        if task is None:
            return []
        return [name for name, _label, _modal in task.specific.get_actions(self.fragment, self.request.user)
                if name in DECISIONS]

    def post(self, request, *args, **kwargs):
        name = request.POST.get("decision")
        back = request.get_full_path()
        if name not in DECISIONS:
            messages.error(request, _("Choose Approve or Request changes."))
            return redirect(back)
        task_state = self.fragment.current_workflow_task_state
        if task_state is None:
            messages.error(request, _("Nothing of this fragment waits for review."))
            return redirect(back)
        if str(task_state.revision_id) != request.POST.get("revision"):
            messages.error(request, _("The version under review changed since this page was opened: compare again."))
            return redirect(back)
        if name not in self.offered_decisions():
            if name == "approve" and not may_approve(request.user, self.fragment) and \
                    "reject" in self.offered_decisions():
                messages.error(request, _("You contributed to this change: another reviewer must approve it."))
                return redirect(back)
            raise PermissionDenied
        comment = request.POST.get("comment", "").strip()
        if name == "reject" and not comment:
            messages.error(request, _("Comment: say what the author should change."))
            return redirect(back)
        try:
            self.fragment.current_workflow_task.specific.on_action(task_state, request.user, name, comment=comment)
        except PermissionDenied as refusal:
            messages.error(request, " ".join(str(arg) for arg in refusal.args) or
                           _("You may not take this action on this review."))
            return redirect(back)
        messages.success(request, review_message(name, self.fragment))
        return redirect("wagtailsnippets_wagtail_correspondence_fragment:list")

    def get_page_subtitle(self):
        return str(self.fragment)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("wagtailsnippets_wagtail_correspondence_fragment:list"), "label": _("Fragments")},
            {"url": reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[self.fragment.pk]),
             "label": str(self.fragment)},
            {"url": "", "label": _("Compare side by side")},
        ]

    def pick(self, revisions, key, default):
        wanted = self.request.GET.get(key)
        for revision in revisions:
            if str(revision.pk) == wanted:
                return revision
        return default

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        revisions = list(self.fragment.revisions.select_related("user").order_by("-created_at", "-id"))
        latest = revisions[0] if revisions else None
        previous = revisions[1] if len(revisions) > 1 else latest
        live = self.fragment.live_revision
        # The live revision against the newest; once the newest is live, against the one before.
        left = self.pick(revisions, "a", live if live and live.pk != getattr(latest, "pk", None) else previous)
        right = self.pick(revisions, "b", latest)
        dictionary = self.fragment.data_dictionary
        samples = list(dictionary.sample_data_sets.all())
        sample = next((s for s in samples if str(s.pk) == self.request.GET.get("sample")), samples[0] if samples
                      else None)
        columns = []
        for label, revision in ((_("Left"), left), (_("Right"), right)):
            html, error = render_revision(revision, dictionary, sample) if revision else ("", None)
            columns.append({"label": label, "revision": revision, "error": error, "html": html,
                            "document": framed_document(html, title=str(self.fragment)) if revision else "",
                            "is_live": revision is not None and revision.pk == self.fragment.live_revision_id})
        diff_url = ""
        if left and right and left.pk != right.pk:
            older, newer = sorted([left, right], key=lambda r: (r.created_at, r.pk))
            diff_url = reverse("wagtailsnippets_wagtail_correspondence_fragment:revisions_compare",
                               args=[self.fragment.pk, older.pk, newer.pk])
        changes = []
        if left and right and not any(column["error"] for column in columns):
            changes = redline(columns[0]["html"], columns[1]["html"])
        task_state = self.fragment.current_workflow_task_state
        decisions = self.offered_decisions() if task_state else []
        context.update({
            "fragment": self.fragment, "revisions": revisions, "columns": columns, "samples": samples,
            "sample": sample, "left": left, "right": right, "diff_url": diff_url,
            "redline": changes, "redline_changed": has_changes(changes), "INSERTED": INSERTED, "DELETED": DELETED,
            "review": task_state, "decisions": decisions,
            "contributed": bool(task_state) and "approve" not in decisions and "reject" in decisions,
        })
        return context
