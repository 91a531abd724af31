"""Forms of the register admin. They collect and check input; the services decide."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.forms import TagField
from wagtail.admin.widgets import AdminDateTimeInput, AdminTagWidget

from ...conf import get_setting
from ...models import Category, Confidentiality, Department, Direction, Kind, Priority, RegisterChannel
from ...services import register_access as access
from ...services.register import EDITABLE_FIELDS, NewAttachment
from ...uploads import read_upload


class TreeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.indented_name


def category_field(required=False):
    return TreeChoiceField(queryset=Category.objects.filter(is_active=True).order_by("path"), required=required,
                           label=_("Category"))


def department_field(required=False):
    return TreeChoiceField(queryset=Department.objects.filter(is_active=True).order_by("path"), required=required,
                           label=_("Department"))


def workers():
    """Users who may work register entries, by name."""
    return access.workers().order_by("first_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class RecipientsField(forms.CharField):
    """One recipient per line: ``Name <email>`` or just a name or an address."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(f"{item.get('name', '')} <{item['email']}>".strip() if item.get("email")
                             else item.get("name", "") for item in value if isinstance(item, dict))
        return value

    def to_python(self, value):
        from email.utils import parseaddr

        recipients = []
        for line in (value or "").splitlines():
            line = line.strip()
            if not line:
                continue
            name, address = parseaddr(line)
            if "@" not in (address or ""):
                name, address = line, ""
            if address:
                try:
                    forms.EmailField().clean(address)
                except ValidationError as exc:
                    raise ValidationError(_("“%(line)s” has no valid email address.") % {"line": line}) from exc
            recipients.append({"name": name, "email": address})
        return recipients


class EntryFieldsForm(forms.Form):
    """The fields a person types for an entry (registration and edit share them)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.LETTER)
    channel = forms.ChoiceField(label=_("Channel"), choices=RegisterChannel.choices, initial=RegisterChannel.POST)
    subject = forms.CharField(label=_("Subject"), max_length=500)
    body = forms.CharField(label=_("Body or summary"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    sender_name = forms.CharField(label=_("Sender name"), max_length=255, required=False)
    sender_organisation = forms.CharField(label=_("Sender organisation"), max_length=255, required=False)
    sender_address = forms.CharField(label=_("Sender address"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 3}))
    sender_email = forms.EmailField(label=_("Sender email"), required=False)
    sender_phone = forms.CharField(label=_("Sender phone"), max_length=50, required=False)
    recipients = RecipientsField(label=_("Recipients"), required=False,
                                 help_text=_("One per line: Name <address>"))
    customer_id = forms.CharField(label=_("Customer number"), max_length=100, required=False)
    external_reference = forms.CharField(label=_("Their reference"), max_length=255, required=False)
    category = category_field()
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    confidentiality = forms.ChoiceField(label=_("Confidentiality"), choices=Confidentiality.choices,
                                        initial=Confidentiality.INTERNAL)
    tags = TagField(label=_("Tags"), required=False, widget=AdminTagWidget)

    def entry_fields(self):
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name in self.cleaned_data}


class RegisterIncomingForm(EntryFieldsForm):
    """“Register incoming mail”: what arrived, and the scan of it."""

    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.INBOUND)
    received_at = forms.DateTimeField(label=_("Received"), required=False, widget=AdminDateTimeInput,
                                      help_text=_("Empty: now"))
    scan = forms.FileField(label=_("Scan or file"), required=False,
                           help_text=_("PDF, image (PNG, JPEG, TIFF), text or Word document"))
    in_reply_to = forms.CharField(label=_("In reply to"), max_length=60, required=False,
                                  help_text=_("Reference number of the entry this answers, if any"))

    field_order = ["direction", "kind", "channel", "received_at", "subject", "body", "sender_name",
                   "sender_organisation", "sender_address", "sender_email", "sender_phone", "recipients",
                   "customer_id", "external_reference", "category", "priority", "confidentiality", "tags", "scan",
                   "in_reply_to"]

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value and value > timezone.now():
            raise ValidationError(_("Mail cannot arrive in the future."))
        return value

    def clean_scan(self):
        upload = self.cleaned_data.get("scan")
        if not upload:
            return None
        config = get_setting("REGISTER")
        try:
            content, content_type, _extension = read_upload(upload, allowed=config["ALLOWED_UPLOAD_TYPES"],
                                                            max_bytes=config["MAX_UPLOAD_BYTES"], field="scan")
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["scan"]) from exc
        name = (upload.name or "scan").rsplit("/", 1)[-1]
        return NewAttachment(content=content, filename=name, title=name)

    def clean_in_reply_to(self):
        reference = (self.cleaned_data.get("in_reply_to") or "").strip()
        if not reference:
            return None
        entry = access.visible_entries(self.user).filter(reference=reference).first()
        if entry is None:
            raise ValidationError(_("No entry %(reference)s that you may see.") % {"reference": reference})
        return entry


class EditEntryForm(EntryFieldsForm):
    received_at = forms.DateTimeField(label=_("Received"), required=False, widget=AdminDateTimeInput)
    sent_at = forms.DateTimeField(label=_("Sent"), required=False, widget=AdminDateTimeInput)
    resolution = forms.CharField(label=_("Resolution"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TransitionForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Comment"), required=False, max_length=1000,
                             help_text=_("Kept with the change in the entry's history. Needed to reopen, or to "
                                         "close without a response."),
                             widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    department = department_field()
    assignee = UserChoiceField(queryset=get_user_model().objects.none(), required=False, label=_("Assignee"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000)
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=AdminDateTimeInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workers()


class NoteForm(forms.Form):
    text = forms.CharField(label=_("New note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    title = forms.CharField(label=_("Title"), max_length=255, required=False)
    attachment = forms.IntegerField(required=False, widget=forms.HiddenInput)
    comment = forms.CharField(label=_("What changed"), max_length=500, required=False)


class LegalHoldForm(forms.Form):
    action = forms.ChoiceField(choices=[("place", _("Place")), ("lift", _("Lift"))], widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=2000,
                             widget=forms.TextInput(attrs={"placeholder": _("The matter or case number")}))
