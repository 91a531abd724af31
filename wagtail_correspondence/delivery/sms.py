"""SMS through AWS SNS (boto3): the letter's SMS text, refused over the segment limit."""

import re

from django.utils.translation import gettext as _

from ..conf import get_setting
from ..rendering.sms import measure_sms
from .base import Channel, DeliveryResult, PermanentDeliveryError, TemporaryDeliveryError, UncertainDeliveryError
from .email import lookup

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


def to_e164(number, default_country_code=""):
    """``+32 2 555 01 23`` → ``+3225550123``; a national number needs ``default_country_code``."""
    digits = re.sub(r"[\s().\-/]", "", number or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif not digits.startswith("+") and default_country_code:
        digits = f"+{default_country_code.lstrip('+')}{digits.lstrip('0')}"
    return digits if E164_RE.match(digits) else ""


class SnsSmsChannel(Channel):
    """OPTIONS: ``phone_field`` (default customer.phone), ``default_country_code`` (e.g. "32"),
    ``sender_id``, ``sms_type`` ("Transactional"), ``region_name``, ``endpoint_url``."""

    def __init__(self, phone_field="customer.phone", default_country_code="", sender_id="", sms_type="Transactional",
                 region_name=None, endpoint_url=None):
        self.phone_field = phone_field
        self.default_country_code = default_country_code
        self.sender_id = sender_id
        self.sms_type = sms_type
        self.region_name = region_name
        self.endpoint_url = endpoint_url

    def recipient_for(self, letter):
        return to_e164(lookup(letter.data, self.phone_field), self.default_country_code)

    def no_recipient_reason(self):
        return _("no valid mobile number (%(field)s)") % {"field": self.phone_field}

    def send(self, dispatch):
        import boto3
        from botocore.config import Config
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        letter = dispatch.letter
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"no valid phone number in the letter's data ({self.phone_field})")
        measured = measure_sms(letter.sms_text)
        if not measured.text:
            raise PermanentDeliveryError("the letter has no SMS text")
        limit = get_setting("SMS_MAX_SEGMENTS")
        if measured.segments > limit:
            raise PermanentDeliveryError(f"the SMS needs {measured.segments} segments; at most {limit} are allowed")
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        # No automatic retries: a retried publish after a lost answer would send twice.
        client = boto3.client("sns", region_name=self.region_name, endpoint_url=self.endpoint_url,
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                                            read_timeout=30))
        try:
            response = client.publish(PhoneNumber=dispatch.recipient, Message=measured.text,
                                      MessageAttributes=attributes)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = exc.response.get("Error", {}).get("Code", "")
            if status >= 500 or code in ("Throttling", "ThrottlingException", "InternalError"):
                raise TemporaryDeliveryError(f"SNS: {code or status} {exc}") from exc
            raise PermanentDeliveryError(f"SNS refused the message: {code or status} {exc}") from exc
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise UncertainDeliveryError(f"SNS did not answer after the message was sent: {exc}") from exc
        except EndpointConnectionError as exc:
            raise TemporaryDeliveryError(f"SNS could not be reached: {exc}") from exc
        except BotoCoreError as exc:
            raise TemporaryDeliveryError(f"SNS could not be called: {exc}") from exc
        return DeliveryResult(provider_message_id=response["MessageId"], recipient=dispatch.recipient)
