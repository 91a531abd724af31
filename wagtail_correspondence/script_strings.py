"""The words the admin's scripts write themselves (the buttons they add, their statuses and
messages), translated on the server and handed to each script as JSON by
``{% script_strings "<name>" %}``: the scripts hold no English of their own. A script reads
them with its ``t(key, values)``, which fills ``%(name)s`` placeholders."""

from django.utils.translation import gettext_lazy as _

STRINGS = {
    # js/letter-builder.js
    "builder": {
        "zone": _("Zone"),
        "fragment_to_add": _("Fragment to add"),
        "add": _("Add"),
        "move_up": _("Move up"),
        "move_down": _("Move down"),
        "remove": _("Remove"),
        "always_sent": _("always sent"),
        "nothing_yet": _("Nothing here yet."),
        "sms_meta_gsm": _("%(length)s characters · %(units)s GSM-7 septets · %(segments)s segment(s)"),
        "sms_meta_ucs": _("%(length)s characters · %(units)s UCS-2 code units · %(segments)s segment(s)"),
        "no_sms": _("This template has no SMS text."),
        "to_fix": _("To fix before generating (%(count)s)"),
        "ready": _("Ready to generate"),
        "updating": _("Updating preview…"),
        "up_to_date": _("Preview up to date"),
        "up_to_date_not_ready": _("Preview up to date · not ready"),
        "preview_failed": _("The preview could not be updated."),
        "customer_failed": _("The customer record could not be loaded; choose the customer again."),
        "no_customer": _("No customer found."),
        "search_unavailable": _("The customer search is not available right now."),
    },
    # js/register-form.js
    "register_form": {
        "sender": _("Sender: %(name)s (%(id)s)"),
        "customer_failed": _("The customer record could not be read; type the sender by hand."),
        "no_customer": _("No customer found."),
        "search_unavailable": _("The customer search is not available right now."),
    },
}
