"""Mail intake: messages from .eml files, an mbox, a Maildir or an IMAP mailbox become inbound
register entries.

Each message is registered once. Its Message-ID (without one: a name made from the SHA-256 of
its bytes) is stored on the entry and the database refuses a second entry with the same id,
so reading a mailbox again, or two intakes at once, never registers a message twice.

The whole message is always kept as ``original.eml``: a part the register does not accept
as an attachment is named in the entry's body and stays readable there, never dropped
silently. Replies join their conversation through In-Reply-To/References (earlier entries
and the emails of sent letters) or through a reference number in the subject.
"""

import hashlib
import imaplib
import mailbox
import mimetypes
import os
import re
import ssl
import string
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone
from email import policy
from email.headerregistry import HeaderRegistry
from email.parser import BytesParser
from functools import lru_cache, partial
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from inscriptis import get_text

from ..conf import get_setting
from ..models import Correspondence, Direction, Dispatch, Kind, RegisterChannel, Source
from ..uploads import check_content
from .register import Draft, NewAttachment, register_entries, register_entry

CREATED = "created"
DUPLICATE = "duplicate"
FAILED = "failed"

MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
# What the fields of a reference pattern look like in a subject line.
FIELD_PATTERNS = {"year": r"\d{4}", "seq": r"\d+", "month": r"\d{1,2}"}
MAX_ID_LENGTH = 255  # Correspondence.message_id


class _ParsedOnceHeaders(HeaderRegistry):
    """The standard library's header objects, each header parsed once. With the default
    policy every ``message.get()`` parses the header again, and walking a message's parts
    asks each part's Content-Type a dozen times: that was a third of mail intake's time.
    The header objects are immutable, so one can serve every asker."""

    def __call__(self, name, value):
        return self._parse_once(name, value) if isinstance(value, str) else super().__call__(name, value)

    @lru_cache(maxsize=2048)  # noqa: B019 (one registry for the process, kept on purpose)
    def _parse_once(self, name, value):
        return super().__call__(name, value)


_parser = BytesParser(policy=policy.default.clone(header_factory=_ParsedOnceHeaders()))


@dataclass
class ParsedMail:
    message_id: str
    fields: dict
    attachments: list  # NewAttachment, the original message last
    skipped: list  # (file name, why it was not registered as an attachment)
    thread_ids: list  # In-Reply-To, then References from the newest


@dataclass
class IntakeResult:
    label: str
    status: str  # CREATED, DUPLICATE or FAILED
    message_id: str = ""
    entry: Correspondence = None
    reason: str = ""
    skipped: list = field(default_factory=list)
    warning: str = ""


@dataclass
class MailItem:
    """One message read from a source; ``mark_taken`` tells the source it is registered."""

    label: str
    raw: bytes
    mark_taken: object = None


# Parsing --------------------------------------------------------------------------------

def parse_message(raw):
    """The register fields, attachments and thread ids of one message (bytes)."""
    message = _parser.parsebytes(raw)
    body_part = message.get_body(preferencelist=("plain", "html"))
    attachments, skipped = _attachments(message, body_part)
    body = _body_text(body_part)
    if skipped:
        body = f"{body}\n\n{_skipped_note(skipped)}".strip()
    attachments.append(_original(raw))
    message_id = _message_id(message, raw)
    sender_name, sender_email = _sender(message)
    fields = {
        "kind": Kind.EMAIL, "channel": RegisterChannel.EMAIL, "message_id": message_id,
        "subject": _header(message, "Subject")[:500] or _("(no subject)"), "body": body,
        "sender_name": sender_name[:255], "sender_email": sender_email,
        "recipients": _recipients(message), "received_at": _received_at(message),
    }
    return ParsedMail(message_id=message_id, fields=fields, attachments=attachments, skipped=skipped,
                      thread_ids=_thread_ids(message))


def _header(message, name):
    # Folded and encoded-word headers come back as one decoded line.
    return " ".join(str(message.get(name, "") or "").split())


def _message_id(message, raw):
    value = _header(message, "Message-ID")
    found = MESSAGE_ID_RE.search(value)
    message_id = found.group(0) if found else value
    if not message_id:
        # Line endings differ between a file, an mbox and an IMAP server: the same message
        # read from any of them gets the same id.
        normalised = raw.replace(b"\r\n", b"\n").strip()
        return f"<sha256-{hashlib.sha256(normalised).hexdigest()}@intake>"
    if len(message_id) > MAX_ID_LENGTH:
        return f"<sha256-{hashlib.sha256(message_id.encode()).hexdigest()}@intake>"
    return message_id


def _addresses(message, name):
    """(display name, address) of every address in the ``name`` headers."""
    found = []
    for header in message.get_all(name, []):
        for address in getattr(header, "addresses", ()):
            found.append((str(address.display_name or "").strip(), str(address.addr_spec or "").strip()))
    return found


def _valid_email(address):
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address if len(address) <= 254 else ""


def _sender(message):
    """(name, email) of the sender. An unusable address is kept as the name rather than
    refusing the whole message."""
    found = _addresses(message, "From") or _addresses(message, "Sender")
    if not found:
        return _header(message, "From"), ""
    name, address = found[0]
    email = _valid_email(address)
    return (name or ("" if email else address)), email


def _recipients(message):
    return [{"name": name, "email": _valid_email(address) or address, "role": role}
            for role, header in (("to", "To"), ("cc", "Cc"))
            for name, address in _addresses(message, header)]


def _received_at(message):
    """The Date header; now without one. A date in the future would push the deadline out,
    so it counts as now."""
    now = timezone.now()
    header = message.get("Date")
    when = getattr(header, "datetime", None) if header is not None else None
    if when is None:
        return now
    if timezone.is_naive(when):  # "-0000": the zone is unknown
        when = when.replace(tzinfo=dt_timezone.utc)
    return min(when, now)


def _thread_ids(message):
    replied = MESSAGE_ID_RE.findall(_header(message, "In-Reply-To"))
    references = MESSAGE_ID_RE.findall(_header(message, "References"))
    return list(dict.fromkeys(replied + references[::-1]))


def _text_content(part):
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _body_text(part):
    if part is None:
        return ""
    text = _text_content(part)
    if part.get_content_subtype() == "html":
        text = get_text(text)
    return text.strip()


def _leaves(part):
    """The parts of a message that hold content; an attached message is one part."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.iter_parts():
            yield from _leaves(child)
    else:
        yield part


def _is_attachment(part, body_part):
    if part is body_part:
        return False
    if part.is_attachment() or part.get_filename():
        return True
    # Inline text without a name is the other version of the body (HTML beside plain text).
    return part.get_content_type() not in ("text/plain", "text/html")


def _part_bytes(part):
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if hasattr(inner, "as_bytes"):
            return inner.as_bytes(policy=policy.default)
    return part.get_payload(decode=True) or b""


def _filename(part, index):
    name = (part.get_filename() or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name:
        return name
    extension = ".eml" if part.get_content_type() == "message/rfc822" else (
        mimetypes.guess_extension(part.get_content_type()) or ".bin")
    return f"part-{index}{extension}"


def _attachments(message, body_part):
    """(NewAttachment list, skipped (name, reason) list): every part but the body, judged by
    its content as the register judges uploads."""
    config = get_setting("REGISTER")
    accepted, skipped = [], []
    for index, part in enumerate(_leaves(message), start=1):
        if not _is_attachment(part, body_part):
            continue
        filename = _filename(part, index)
        content = _part_bytes(part)
        try:
            check_content(content, allowed=config["ALLOWED_UPLOAD_TYPES"], max_bytes=config["MAX_UPLOAD_BYTES"],
                          field=filename)
        except ValidationError as exc:
            skipped.append((filename, _refusal(part, content, exc)))
            continue
        accepted.append(NewAttachment(content=content, filename=filename, title=filename))
    return accepted, skipped


def _refusal(part, content, exc):
    return _("%(type)s, %(size)s bytes: %(reason)s") % {
        "type": part.get_content_type(), "size": len(content), "reason": " ".join(exc.messages)}


def _skipped_note(skipped):
    lines = [_("Not registered as attachments (they stay in original.eml):")]
    lines += [f"- {name} ({reason})" for name, reason in skipped]
    return "\n".join(lines)


def _original(raw):
    max_bytes = get_setting("REGISTER")["MAX_UPLOAD_BYTES"]
    if len(raw) > max_bytes:
        # Without its original a message would lose the parts the register refused.
        raise ValidationError({"message": _(
            "The message (%(size)s bytes) is larger than the register accepts (%(max)s bytes); register it by hand.")
            % {"size": len(raw), "max": max_bytes}})
    return NewAttachment(content=raw, filename="original.eml", title=_("Original message"),
                         content_type="message/rfc822")


# Threading ------------------------------------------------------------------------------

def reference_regex():
    """Any register or letter reference, as the configured patterns write them."""
    patterns = {*get_setting("REGISTER")["REFERENCE_PATTERNS"].values(), get_setting("LETTER_REFERENCE_PATTERN")}
    return _references_of(frozenset(patterns))


@lru_cache(maxsize=16)  # asked for every message; the patterns change only with the settings
def _references_of(patterns):
    alternatives = sorted((_pattern_regex(pattern) for pattern in patterns), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _pattern_regex(pattern):
    parts = []
    for literal, field_name, _spec, _conversion in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if field_name is not None:
            parts.append(FIELD_PATTERNS.get(field_name, r"[A-Za-z0-9]+"))
    return "".join(parts)


def _letter_entry(message_id):
    """The register entry of the letter whose email had ``message_id``. SMTP keeps the
    Message-ID the channel built from the dispatch's idempotency key; SES replaces it with
    <its MessageId@...amazonses.com>."""
    local, _at, domain = message_id.strip("<>").partition("@")
    query = Q(provider_message_id=message_id) | Q(idempotency_key=local)
    if domain.lower().endswith("amazonses.com"):
        query |= Q(provider_message_id=local)
    for dispatch in Dispatch.objects.filter(query).order_by("-pk"):
        entry = Correspondence.objects.filter(letter_id=dispatch.letter_id).first()
        if entry is not None:
            return entry
    return None


def find_parent(parsed):
    """The entry a message answers: by its headers, else by a reference in its subject."""
    for message_id in parsed.thread_ids:
        entry = Correspondence.objects.filter(message_id=message_id).first() or _letter_entry(message_id)
        if entry is not None:
            return entry
    for reference in reference_regex().findall(parsed.fields["subject"]):
        entry = Correspondence.objects.filter(reference__iexact=reference).first()
        if entry is not None:
            return entry
    return None


# Registering ----------------------------------------------------------------------------

def _taken(message_ids):
    """The entries already registered for ``message_ids``, by Message-ID."""
    return {entry.message_id: entry for entry in Correspondence.objects.filter(message_id__in=message_ids)}


def _reason(exc):
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _failure(label, exc, message_id=""):
    reason = _reason(exc) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
    return IntakeResult(label, FAILED, message_id, reason=reason)


def _draft(parsed):
    return Draft(parsed.fields, Direction.INBOUND, Source.MAILBOX, parsed.attachments, [], find_parent(parsed),
                 _("Registered from the mailbox"))


def _parsed(raw, label):
    """The parsed message, or the IntakeResult of a message that cannot be read."""
    try:
        return parse_message(raw)
    except Exception as exc:  # noqa: BLE001 (one broken message must not stop the intake)
        return _failure(label, exc)


class _Run:
    """Messages waiting to be registered together (``INTAKE_RUN`` at most)."""

    def __init__(self, user):
        self.user = user
        self.waiting = []  # (label, parsed)

    def __len__(self):
        return len(self.waiting)

    def answers_one_waiting(self, parsed):
        """Whether ``parsed`` repeats or answers a waiting message: it must wait until that one
        is registered, to be found as a duplicate or to join its conversation."""
        waiting = {other.message_id for _label, other in self.waiting}
        return parsed.message_id in waiting or any(message_id in waiting for message_id in parsed.thread_ids)

    def add(self, label, parsed):
        self.waiting.append((label, parsed))

    def register(self):
        """Register the waiting messages; an IntakeResult for each, in order."""
        waiting, self.waiting = self.waiting, []
        if not waiting:
            return []
        try:
            taken = _taken([parsed.message_id for _label, parsed in waiting])
            new = [(label, parsed) for label, parsed in waiting if parsed.message_id not in taken]
            registered = iter(register_entries(self.user, [_draft(parsed) for _label, parsed in new],
                                               check_permission=False) if new else [])
        except Exception:  # noqa: BLE001 (a message registered meanwhile, a file not stored...)
            # Nothing of the run was saved: one by one, each message gets its own outcome.
            return [_register_alone(label, parsed, self.user) for label, parsed in waiting]
        results = []
        for label, parsed in waiting:
            if parsed.message_id in taken:
                results.append(IntakeResult(label, DUPLICATE, parsed.message_id, taken[parsed.message_id]))
                continue
            outcome = next(registered)
            results.append(
                IntakeResult(label, CREATED, parsed.message_id, outcome.entry, skipped=parsed.skipped)
                if outcome.error is None else
                IntakeResult(label, FAILED, parsed.message_id, reason=_reason(outcome.error), skipped=parsed.skipped))
        return results


def _register_alone(label, parsed, user):
    try:
        existing = _taken([parsed.message_id]).get(parsed.message_id)
        if existing is not None:
            return IntakeResult(label, DUPLICATE, parsed.message_id, existing)
        draft = _draft(parsed)
        entry = register_entry(
            user, direction=draft.direction, source=draft.source, check_permission=False,
            attachments=draft.attachments, in_reply_to=draft.in_reply_to, comment=draft.comment, **draft.fields)
    except ValidationError as exc:
        return IntakeResult(label, FAILED, parsed.message_id, reason=_reason(exc), skipped=parsed.skipped)
    except IntegrityError as exc:
        # Another intake registered the same message a moment ago.
        existing = _taken([parsed.message_id]).get(parsed.message_id)
        return (IntakeResult(label, DUPLICATE, parsed.message_id, existing) if existing is not None
                else _failure(label, exc, parsed.message_id))
    except Exception as exc:  # noqa: BLE001 (one broken message must not stop the intake)
        return _failure(label, exc, parsed.message_id)
    return IntakeResult(label, CREATED, parsed.message_id, entry, skipped=parsed.skipped)


def take_message(raw, *, label="", user=None):
    """Register one message (bytes) unless it was registered before. Never raises: whatever
    goes wrong with this message is its result, so the next message still gets its turn."""
    parsed = _parsed(raw, label)
    if isinstance(parsed, IntakeResult):
        return parsed
    return _register_alone(label, parsed, user)


def take_messages(items, *, user=None):
    """Register every ``MailItem``; yields an ``IntakeResult`` per message, in order, as each
    run of up to ``INTAKE_RUN`` messages is registered. A message registered now or before
    is marked taken in its source; a failed one is not, so the next run tries it again."""
    run, size = _Run(user), max(1, get_setting("REGISTER")["INTAKE_RUN"])
    waiting = []  # the items of the run, in order
    for item in items:
        parsed = _parsed(item.raw, item.label)
        if isinstance(parsed, IntakeResult) or run.answers_one_waiting(parsed):
            yield from _marked(waiting, run.register())
            waiting = []
        if isinstance(parsed, IntakeResult):
            yield from _marked([item], [parsed])
            continue
        run.add(item.label, parsed)
        waiting.append(item)
        if len(run) >= size:
            yield from _marked(waiting, run.register())
            waiting = []
    yield from _marked(waiting, run.register())


def _marked(items, results):
    for item, result in zip(items, results):
        if result.status != FAILED and item.mark_taken is not None:
            try:
                item.mark_taken()
            except (OSError, imaplib.IMAP4.error, ImapError) as exc:
                result.warning = _("registered, but not marked as read in the mailbox: %(error)s") % {"error": exc}
        yield result


# Sources --------------------------------------------------------------------------------

def eml_items(paths):
    """.eml files, and the .eml files directly inside folders, in name order."""
    for path in map(Path, paths):
        files = sorted(child for child in path.iterdir() if child.is_file() and child.suffix.lower() == ".eml") \
            if path.is_dir() else [path]
        for file in files:
            yield MailItem(str(file), file.read_bytes())


def mbox_items(path):
    """The messages of an mbox file, left in place (the Message-ID keeps them from being
    registered again)."""
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.keys():
            yield MailItem(f"{path}#{key}", box.get_bytes(key))
    finally:
        box.close()


def maildir_items(path):
    """The messages of a Maildir (new and cur), oldest first; a registered message moves to
    cur and is flagged seen (S), as a mail client would."""
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys(), key=_delivery_order):
        yield MailItem(f"{path}:{key}", box.get_bytes(key), partial(_maildir_seen, box, str(path), key))


def _delivery_order(key):
    """Maildir names start with the delivery time: seconds, then (unpadded) microseconds
    and a counter, e.g. 1772441642.M5812P901Q3.host. Replies then come after what they
    answer."""
    seconds, _dot, rest = key.partition(".")
    numbers = {letter: int(value) for letter, value in re.findall(r"([MQ])(\d+)", rest.split(".", 1)[0])}
    return (int(seconds) if seconds.isdigit() else float("inf"), numbers.get("M", 0), numbers.get("Q", 0), key)


def _maildir_seen(box, root, key):
    message = box.get_message(key)
    info = message.get_info()
    names = [key + box.colon + info, key] if info else [key, key + box.colon]
    current = next((os.path.join(root, message.get_subdir(), name) for name in names
                    if os.path.exists(os.path.join(root, message.get_subdir(), name))), None)
    if current is None:
        raise FileNotFoundError(f"{key} is no longer in {root}")
    message.add_flag("S")
    os.rename(current, os.path.join(root, "cur", key + box.colon + message.get_info()))


@dataclass
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = 0  # 0: 993 with SSL, 143 without
    folder: str = "INBOX"
    use_ssl: bool = True
    starttls: bool = False
    unseen_only: bool = True
    processed_folder: str = ""
    timeout: float = 60


class ImapError(Exception):
    pass


def _quoted(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response, what):
    status, data = response
    if status != "OK":
        detail = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what}: {status} {detail}".strip())
    return data


def _imap_connect(config):
    context = ssl.create_default_context()
    if config.use_ssl:
        return imaplib.IMAP4_SSL(config.host, config.port or 993, ssl_context=context, timeout=config.timeout)
    connection = imaplib.IMAP4(config.host, config.port or 143, timeout=config.timeout)
    if config.starttls:
        _ok(connection.starttls(ssl_context=context), "STARTTLS")
    return connection


def imap_items(config):
    """The messages of an IMAP folder (unseen ones, or all), read without marking them read;
    a registered message is then flagged \\Seen and, with ``processed_folder``, moved there.
    Close the source when done (``contextlib.closing``): intake marks a run of messages once
    it has registered them, after the last one was read, so the session outlives the reading."""
    return ImapSource(config)


class ImapSource:
    def __init__(self, config):
        self.config = config
        self.connection = None

    def __iter__(self):
        config = self.config
        self.connection = connection = _imap_connect(config)
        _ok(connection.login(config.user, config.password), "LOGIN")
        # Servers name MOVE and UIDPLUS only once logged in; imaplib keeps the first list.
        capabilities = set(_ok(connection.capability(), "CAPABILITY")[0].decode().upper().split())
        _ok(connection.select(_quoted(config.folder)), f"SELECT {config.folder}")
        if config.processed_folder:
            connection.create(_quoted(config.processed_folder))  # "already exists" is fine
        data = _ok(connection.uid("SEARCH", None, "UNSEEN" if config.unseen_only else "ALL"), "SEARCH")
        for uid in (data[0] or b"").split():
            yield MailItem(f"imap:{config.folder}/{uid.decode()}", _imap_fetch(connection, uid),
                           partial(_imap_taken, connection, uid, config.processed_folder, capabilities))

    def close(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.logout()
            except (imaplib.IMAP4.error, OSError):
                pass


def _imap_fetch(connection, uid):
    data = _ok(connection.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid.decode()}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    raise ImapError(f"FETCH {uid.decode()}: the server sent no message")


def _imap_taken(connection, uid, processed_folder, capabilities):
    _ok(connection.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "STORE")
    if not processed_folder:
        return
    if "MOVE" in capabilities:
        _ok(connection.uid("MOVE", uid, _quoted(processed_folder)), "MOVE")
        return
    _ok(connection.uid("COPY", uid, _quoted(processed_folder)), "COPY")
    _ok(connection.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
    if "UIDPLUS" in capabilities:
        # Only this message: a plain EXPUNGE would also remove what others flagged deleted.
        _ok(connection.uid("EXPUNGE", uid), "EXPUNGE")
