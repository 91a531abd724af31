"""The signed, expiring links of the portal channel: made here when the notice is sent
(``delivery.portal``), read by the portal's views. Below both, so neither imports the other."""

from django.core import signing

from ..conf import get_setting

SALT = "wagtail_correspondence.portal"


class InvalidLink(Exception):
    pass


class ExpiredLink(InvalidLink):
    pass


def max_age_seconds():
    return int(get_setting("PORTAL")["LINK_MAX_AGE_DAYS"]) * 86400


def make_token(dispatch):
    return signing.dumps({"d": dispatch.pk, "l": str(dispatch.letter.uuid)}, salt=SALT, compress=True)


def read_token(token):
    """The dispatch a link stands for; InvalidLink if tampered, ExpiredLink if too old."""
    from ..models import Dispatch

    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age_seconds())
    except signing.SignatureExpired as exc:
        raise ExpiredLink(str(exc)) from exc
    except signing.BadSignature as exc:
        raise InvalidLink(str(exc)) from exc
    dispatch = Dispatch.objects.select_related("letter").filter(pk=payload.get("d"), channel="portal").first()
    if dispatch is None or str(dispatch.letter.uuid) != payload.get("l"):
        raise InvalidLink("no such letter")
    return dispatch
