"""Register admin views: register incoming mail, edit, inspect (thread, attachments, notes,
history, deadlines) and the actions on an entry. Each action is a POST to a thin view over
the service functions in services/register.py."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin.auth import require_admin_access
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_registry
from wagtail_modeladmin.views import InspectView, InstanceSpecificView, WMABaseView

from ... import log_actions
from ...models import AttachmentVersion, Correspondence, Direction
from ...services import register as service
from ...services import register_access as access
from ...services import register_history
from ...services import retention
from ...services.letters import can_build_letters
from ...services.sla import elapsed_fraction
from .customers import can_look_up_customers
from .forms import (
    AssignForm,
    EditEntryForm,
    LegalHoldForm,
    NoteForm,
    RegisterIncomingForm,
    TransitionForm,
    UploadForm,
)


def _errors_to_form(form, exc):
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class RegisterIncomingView(WMABaseView):
    """“Register incoming mail”: the form an officer fills in with the scan in hand."""

    template_name = "wagtail_correspondence/register/create.html"
    page_title = gettext_lazy("Register incoming mail")

    def check_action_permitted(self, user):
        return access.can_register(user)

    def get_page_title(self):
        return _("Register incoming mail")

    def get_form(self):
        initial = {"direction": self.request.GET.get("direction", Direction.INBOUND)}
        if self.request.method == "POST":
            return RegisterIncomingForm(self.request.POST, self.request.FILES, user=self.request.user,
                                        initial=initial)
        return RegisterIncomingForm(user=self.request.user, initial=initial)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if can_look_up_customers(self.request.user):
            context["customer_lookup"] = {
                "search_url": reverse("wagtail_correspondence_register:customer_search"),
                "party_url": reverse("wagtail_correspondence_register:customer_party", args=["__id__"])}
        return context

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            data = form.cleaned_data
            fields = form.entry_fields()
            if data.get("received_at"):
                fields["received_at"] = data["received_at"]
            try:
                entry = service.register_entry(
                    request.user, direction=data["direction"], attachments=[data["scan"]] if data["scan"] else [],
                    tags=data.get("tags") or [], in_reply_to=data.get("in_reply_to"), **fields)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                routed = (_(" and routed to %(department)s") % {"department": entry.department}
                          if entry.department_id else "")
                messages.success(request, _("Registered %(reference)s%(routed)s.") % {
                    "reference": entry.reference, "routed": routed})
                return redirect(self.url_helper.get_action_url("inspect", entry.pk))
        messages.error(request, _("The entry could not be registered. Check the fields marked below."))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class EditEntryView(InstanceSpecificView):
    template_name = "wagtail_correspondence/register/edit.html"

    def check_action_permitted(self, user):
        return access.can_change(user, self.instance)

    def get_page_title(self):
        return _("Edit %(reference)s") % {"reference": self.instance.reference}

    def get_form(self):
        entry = self.instance
        initial = {name: getattr(entry, name) for name in service.EDITABLE_FIELDS}
        initial["tags"] = list(entry.tags.all())
        if self.request.method == "POST":
            return EditEntryForm(self.request.POST, initial=initial)
        return EditEntryForm(initial=initial)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            try:
                service.update_entry(request.user, self.instance, form.entry_fields(),
                                     tags=form.cleaned_data.get("tags") or [])
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("%(reference)s saved.") % {"reference": self.instance.reference})
                return redirect(self.url_helper.get_action_url("inspect", self.instance.pk))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class EntryInspectView(InspectView):
    """Everything about one entry on one page."""

    def get_template_names(self):
        return ["wagtail_correspondence/register/inspect.html"]

    def get_page_title(self):
        return self.instance.reference

    def get_fields_dict(self):
        return []  # the template lays the entry out itself

    def get_page_subtitle(self):
        return self.instance.subject

    @cached_property
    def entry(self):
        return (Correspondence.objects.select_related(
            "department", "assignee", "category", "routing_rule", "sla_policy", "letter", "in_reply_to",
            "created_by").get(pk=self.instance.pk))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        entry = self.entry
        # Entries hold personal data: who looked at one is part of the audit trail.
        log(entry, log_actions.REGISTER_VIEWED, user=user, data={"reference": entry.reference, "via": "admin"})
        visible = access.visible_entries(user)
        thread = list(visible.filter(pk__in=entry.thread().values("pk")).select_related("letter", "assignee")
                      .order_by("registered_at", "pk"))
        hidden_in_thread = entry.thread().count() - len(thread)
        attachments = list(entry.attachments.prefetch_related("versions__uploaded_by").order_by("created_at"))
        can_change = access.can_change(user, entry)
        history_items = register_history.history(entry, user)
        actions = service.available_actions(user, entry)
        primary = service.next_action(entry, actions)
        # The primary step first, the others beside it as secondary buttons.
        actions = sorted(actions, key=lambda action: action[0] != primary)
        context.update({
            "entry": entry,
            "thread": thread,
            "hidden_in_thread": hidden_in_thread,
            "attachments": attachments,
            "notes": entry.notes.select_related("author"),
            "notices": entry.sla_notices.order_by("-created_at"),
            "versions": history_items,
            "log_entries": log_registry.get_logs_for_instance(entry).select_related("user")[:50],
            "actions": actions,
            "primary_action": primary,
            "can_change": can_change,
            "can_assign": access.can_assign(user, entry),
            "can_take": can_change and not entry.assignee_id,
            # A registered entry moves on by being taken (or assigned): then taking it is the next step.
            "take_in_bar": can_change and not entry.assignee_id and primary is None,
            "can_reply_with_letter": can_build_letters(user) and entry.direction != Direction.OUTBOUND,
            # Ids of their own: both forms have a "reason" on the same page.
            "transition_form": TransitionForm(auto_id="id_transition_%s"),
            "assign_form": AssignForm(auto_id="id_assign_%s", initial={
                "department": entry.department, "assignee": entry.assignee, "due_at": entry.due_at}),
            "note_form": NoteForm(auto_id="id_note_%s"),
            "upload_form": UploadForm(),
            "sla_used": round(elapsed_fraction(entry) * 100) if entry.is_open and entry.due_at else None,
            "edit_url": self.url_helper.get_action_url("edit", entry.pk) if can_change else "",
            # Legal hold: on the entry itself, or through another entry of its conversation.
            "thread_holds": [item for item in thread if item.legal_hold and item.pk != entry.pk],
            "can_set_legal_hold": retention.can_set_legal_hold(user, entry),
        })
        return context


# Actions -------------------------------------------------------------------------------

def _entry_for(request, pk):
    entry = get_object_or_404(Correspondence, pk=pk)
    if not access.can_view(request.user, entry):
        raise PermissionDenied
    return entry


def _back(request, entry):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(entry.get_admin_url())


def _report(request, exc):
    for name, errors in exc.message_dict.items():
        for error in errors:
            messages.error(request, f"{name}: {error}" if name != "__all__" else error)


def entry_action(handler):
    """A POST action on an entry: permission errors are 403, bad input a message."""

    @require_admin_access
    @require_POST
    def view(request, pk):
        entry = _entry_for(request, pk)
        try:
            message = handler(request, entry)
        except ValidationError as exc:
            _report(request, exc)
        else:
            if message:
                messages.success(request, message)
        return _back(request, entry)

    return view


@entry_action
def transition_view(request, entry):
    form = TransitionForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors)
    try:
        updated = service.transition(request.user, entry, form.cleaned_data["action"], form.cleaned_data["reason"])
    except ValidationError as exc:
        # The service calls it the reason; the action bar labels the field "Comment".
        label = str(form.fields["reason"].label)
        raise ValidationError({label if name == "reason" else name: errors
                               for name, errors in exc.message_dict.items()}) from exc
    return _("%(reference)s is now “%(status)s”.") % {
        "reference": updated.reference, "status": updated.get_status_display()}


@entry_action
def assign_view(request, entry):
    form = AssignForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors)
    data = form.cleaned_data
    updated = service.assign(request.user, entry, department=data["department"], assignee=data["assignee"],
                             reason=data["reason"])
    if data.get("due_at") and data["due_at"] != updated.due_at:
        service.update_entry(request.user, updated, {"due_at": data["due_at"]}, comment=_("Deadline changed"))
    return _("%(reference)s assigned.") % {"reference": updated.reference}


@entry_action
def take_view(request, entry):
    service.assign(request.user, entry, assignee=request.user, reason=_("Taken"))
    return _("You now handle %(reference)s.") % {"reference": entry.reference}


@entry_action
def note_view(request, entry):
    form = NoteForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors)
    service.add_note(request.user, entry, form.cleaned_data["text"])
    return _("Note added.")


@entry_action
def upload_view(request, entry):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        raise ValidationError(form.errors)
    data = form.cleaned_data
    attachment = entry.attachments.filter(pk=data["attachment"]).first() if data.get("attachment") else None
    if data.get("attachment") and attachment is None:
        raise ValidationError({"attachment": _("No such document on this entry.")})
    version = service.add_attachment(request.user, entry, data["file"], title=data.get("title") or "",
                                     attachment=attachment, comment=data.get("comment") or "")
    return _("Uploaded “%(title)s”, version %(number)s.") % {"title": version.attachment.title,
                                                             "number": version.number}


@entry_action
def restore_view(request, entry):
    try:
        register_history.restore(request.user, entry, request.POST.get("version", "0"))
    except (ValueError, register_history.Version.DoesNotExist) as exc:
        raise ValidationError({"version": _("No such version of this entry.")}) from exc
    return _("Earlier values restored (as a new version).")


@entry_action
def legal_hold_view(request, entry):
    form = LegalHoldForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors)
    if form.cleaned_data["action"] == "place":
        retention.place_legal_hold(entry, request.user, form.cleaned_data["reason"])
        return _("%(reference)s and its conversation are on legal hold.") % {"reference": entry.reference}
    retention.lift_legal_hold(entry, request.user, form.cleaned_data["reason"])
    return _("The legal hold on %(reference)s is lifted.") % {"reference": entry.reference}


@require_admin_access
def download_view(request, pk, version_pk):
    entry = _entry_for(request, pk)
    version = get_object_or_404(AttachmentVersion, pk=version_pk, attachment__correspondence=entry)
    try:
        handle = version.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file is missing from storage.")) from exc
    log(entry, log_actions.REGISTER_ATTACHMENT_DOWNLOADED, user=request.user, data={
        "reference": entry.reference, "title": version.attachment.title, "version": version.number})
    viewable = ("application/pdf", "image/png", "image/jpeg")
    inline = request.GET.get("inline") == "1" and version.content_type in viewable
    response = FileResponse(handle, content_type=version.content_type, as_attachment=not inline,
                            filename=version.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-SHA256"] = version.sha256
    return response
