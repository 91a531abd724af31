from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from ..conf import get_setting


class DeliveryError(Exception):
    pass


class TemporaryDeliveryError(DeliveryError):
    """Nothing was delivered and trying again later may succeed."""


class PermanentDeliveryError(DeliveryError):
    """Nothing was delivered and trying again will not help (refused address, bad number)."""


class UncertainDeliveryError(DeliveryError):
    """The provider may have accepted the message (the connection dropped after it was sent):
    sending again could reach the customer twice, so a person decides."""


@dataclass
class DeliveryResult:
    provider_message_id: str = ""
    recipient: str = ""
    detail: str = ""


def letter_pdf_bytes(letter):
    """The letter's stored PDF, read once per Letter instance (the email and the archive copy
    of one letter, delivered together, share the read)."""
    content = getattr(letter, "_pdf_content", None)
    if content is None:
        with letter.pdf.open("rb") as handle:
            content = handle.read()
        letter._pdf_content = content
    return content


class Channel:
    """A delivery channel. ``send`` delivers one dispatch or raises a DeliveryError."""

    name = ""

    def recipient_for(self, letter):
        """Where this letter would go on this channel, or "" if the data has no address."""
        return ""

    def no_recipient_reason(self):
        """Why ``recipient_for`` found nothing, in words an agent understands (shown by the
        batch dry run and logged when a letter goes another way)."""
        return _("no recipient for this channel in the data")

    def send(self, dispatch):
        raise NotImplementedError

    def close(self):
        """Let go of a connection ``send_many`` kept open (nothing by default)."""

    def send_many(self, dispatches):
        """Deliver several dispatches; yields (dispatch, DeliveryResult or DeliveryError) for
        each, in order. Channels that can share a connection override it. An exception that
        is not a DeliveryError propagates: its dispatch's outcome is unknown."""
        for dispatch in dispatches:
            try:
                result = self.send(dispatch)
            except DeliveryError as exc:
                yield dispatch, exc
            else:
                yield dispatch, result


def channel_backends():
    return get_setting("CHANNEL_BACKENDS")


ARCHIVE = "archive"


def get_channel(name):
    config = get_setting("ARCHIVE") if name == ARCHIVE else channel_backends().get(name)
    if not config:
        raise ImproperlyConfigured(f"No delivery backend is configured for the channel {name!r}")
    try:
        backend_class = import_string(config["BACKEND"])
    except (KeyError, ImportError) as exc:
        raise ImproperlyConfigured(f"CHANNEL_BACKENDS[{name!r}]['BACKEND'] is invalid: {exc}") from exc
    channel = backend_class(**config.get("OPTIONS", {}))
    channel.name = name
    return channel
