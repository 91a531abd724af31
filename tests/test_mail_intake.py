"""Mail intake from the hand-written messages in tests/samples/mail/: fields, attachments,
threading, each message registered once, the .eml / mbox / Maildir / IMAP sources and the
``correspondence_fetch_mail`` command.

IMAP runs against a real Dovecot (Debian's dovecot-imapd, installed by
scripts/install-system-deps.sh), started by the test on a free loopback port with a private
configuration and stopped afterwards.
"""

import datetime
import email
import email.policy
import getpass
import grp
import hashlib
import imaplib
import io
import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from wagtail_correspondence.models import Attachment, Correspondence, Department, Direction, RoutingRule, Source
from wagtail_correspondence.services import mail_intake

from .test_dispatch import SmtpServer, generate

SAMPLES = Path(__file__).parent / "samples" / "mail"
SAMPLE_FILES = sorted(path.name for path in SAMPLES.glob("*.eml"))
pytestmark = pytest.mark.django_db


def sample(name, **placeholders):
    raw = (SAMPLES / name).read_bytes()
    for key, value in placeholders.items():
        raw = raw.replace(("{{" + key + "}}").encode(), value.encode())
    return raw


def take(name, **placeholders):
    return mail_intake.take_message(sample(name, **placeholders), label=name)


def reference(seq, prefix="IN"):
    return f"{prefix}-{timezone.localdate().year}-{seq:06}"


def fetch(*args, **options):
    """Run the command: (output, the CommandError raised or None)."""
    out = io.StringIO()
    try:
        call_command("correspondence_fetch_mail", *args, stdout=out, stderr=io.StringIO(), **options)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def versions(entry):
    return {attachment.title: attachment.latest for attachment in entry.attachments.all()}


def parts_by_name(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


# Fields and body ------------------------------------------------------------------------

def test_headers_become_fields_and_the_plain_text_is_the_body():
    result = take("01-alternative.eml")
    assert result.status == mail_intake.CREATED
    entry = Correspondence.objects.get(pk=result.entry.pk)
    assert entry.reference == reference(1)
    assert (entry.direction, entry.source, entry.kind, entry.channel) == (
        Direction.INBOUND, Source.MAILBOX, "email", "email")
    assert entry.subject == "Question about my policy"
    assert (entry.sender_name, entry.sender_email) == ("Ada Peeters", "ada@example.org")
    assert entry.recipients == [
        {"name": "Claims Desk", "email": "claims@insurer.example", "role": "to"},
        {"name": "Bob Peeters", "email": "bob@example.org", "role": "cc"},
        {"name": "", "email": "records@example.org", "role": "cc"}]
    assert entry.received_at == datetime.datetime(2026, 3, 2, 8, 14, 2, tzinfo=datetime.timezone.utc)
    assert entry.message_id == "<alt-0001@mail.example.org>"
    assert entry.body.startswith("Hello,\n\nCould you tell me whether my car policy covers a rental car")
    assert "<b>" not in entry.body and entry.due_at is not None
    assert entry.in_reply_to is None and entry.thread_root is None


def test_the_original_message_is_always_kept():
    raw = sample("01-alternative.eml")
    entry = take("01-alternative.eml").entry
    [original] = versions(entry).values()
    assert (original.filename, original.content_type) == ("original.eml", "message/rfc822")
    assert (original.size, original.sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
    with original.file.open("rb") as handle:
        assert handle.read() == raw


def test_attachments_are_stored_and_a_refused_part_is_named_not_dropped():
    raw = sample("02-mixed-attachments.eml")
    parts = parts_by_name(raw)
    result = take("02-mixed-attachments.eml")
    stored = versions(result.entry)
    assert set(stored) == {"claim form.pdf", "Original message"}
    pdf = stored["claim form.pdf"]
    assert (pdf.filename, pdf.content_type) == ("claim form.pdf", "application/pdf")
    assert pdf.size == len(parts["claim form.pdf"]) and pdf.sha256 == hashlib.sha256(parts["claim form.pdf"]).hexdigest()
    with pdf.file.open("rb") as handle:
        assert handle.read().startswith(b"%PDF-1.4")
    assert stored["Original message"].sha256 == hashlib.sha256(raw).hexdigest()
    # The .exe is not an attachment, but the entry says so, and why; the original has it.
    assert [name for name, _reason in result.skipped] == ["estimate.exe"]
    assert parts["estimate.exe"].startswith(b"MZ")
    body = result.entry.body
    assert body.startswith("Please find the signed claim form attached")
    assert "Not registered as attachments (they stay in original.eml):" in body
    assert (f"- estimate.exe (application/octet-stream, {len(parts['estimate.exe'])} bytes: "
            "This type of file is not accepted.") in body


def test_encoded_non_ascii_headers_and_body():
    entry = take("03-non-ascii.eml").entry
    assert entry.subject == "Réclamation – délai"
    assert (entry.sender_name, entry.sender_email) == ("Zoë Müller", "zoe.mueller@example.de")
    assert entry.recipients[0]["name"] == "Service réclamations"
    assert "ma réclamation n° 2024/117 — merci de réagir." in entry.body


def test_an_html_only_message_is_registered_as_text():
    entry = take("06-html-only.eml").entry
    assert "Repair estimate" in entry.body and "Vehicle AB-123-CD, front bumper and headlight." in entry.body
    assert "Labour: 3 h à 70 EUR" in entry.body and "Garage Dupont & fils" in entry.body
    assert "<" not in entry.body and "color" not in entry.body
    assert entry.sender_name == "Garage Dupont"


def test_a_message_without_message_id_gets_a_stable_one():
    raw = sample("05-no-message-id.eml")
    entry = take("05-no-message-id.eml").entry
    assert entry.message_id == f"<sha256-{hashlib.sha256(raw.strip()).hexdigest()}@intake>"
    # The same message with other line endings (as an IMAP server sends it) is the same message.
    again = mail_intake.take_message(raw.replace(b"\n", b"\r\n"), label="crlf")
    assert (again.status, again.entry) == (mail_intake.DUPLICATE, entry)


# Threading ------------------------------------------------------------------------------

def test_a_reply_joins_its_thread_by_in_reply_to():
    first = take("01-alternative.eml").entry
    reply = take("04-reply-in-reply-to.eml").entry
    assert (reply.in_reply_to, reply.thread_root) == (first, first)


def test_a_reply_joins_its_thread_by_references_newest_first():
    first = take("01-alternative.eml").entry
    reply = take("04-reply-in-reply-to.eml").entry
    # A client that sends References only, oldest first, as RFC 5322 has it.
    raw = sample("04-reply-in-reply-to.eml").replace(b"In-Reply-To: <alt-0001@mail.example.org>\n", b"").replace(
        b"Message-ID: <reply-0004@", b"Message-ID: <reply-0005@").replace(
        b"References: <unknown-0000@elsewhere.example> <alt-0001@mail.example.org>",
        b"References: <alt-0001@mail.example.org> <reply-0004@mail.example.org> <unknown-0000@elsewhere.example>")
    assert b"In-Reply-To" not in raw
    answer = mail_intake.take_message(raw, label="references only").entry
    assert (answer.in_reply_to, answer.thread_root) == (reply, first)


def test_a_reply_without_headers_joins_by_the_reference_in_its_subject():
    first = take("01-alternative.eml").entry
    reply = take("04-reply-in-reply-to.eml").entry
    assert (first.reference, reply.reference) == (reference(1), reference(2))
    # It answers the reply, written in lower case: the thread is still the first entry's.
    answer = take("subject-reference.eml.in", REFERENCE=reply.reference.lower()).entry
    assert answer.subject == f"Re: your file {reply.reference.lower()} - photos follow"
    assert (answer.in_reply_to, answer.thread_root) == (reply, first)


def test_an_unknown_reference_in_the_subject_starts_a_new_thread():
    entry = take("subject-reference.eml.in", REFERENCE=reference(999)).entry
    assert entry.in_reply_to is None and entry.thread_root is None


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"email": {
        "BACKEND": "wagtail_correspondence.delivery.email.EmailChannel",
        "OPTIONS": {"connection": {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                                   "port": server.port, "timeout": 5}}}}}
    server.start()
    yield server
    server.stop()


@pytest.fixture
def template(customer_dictionary, standard_layout):
    from . import factories

    fragment = factories.fragment(customer_dictionary, key="greeting", html="<p>Dear {{ customer.first_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["email"],
                                     email_intro="Hello {{ customer.first_name }}, your letter is attached.")


@pytest.mark.usefixtures("one_customer")
def test_a_reply_to_a_letter_email_joins_the_letter_entry(smtp, agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    [sent] = smtp.mailbox.messages
    letter_entry = Correspondence.objects.get(letter=letter)
    reply = take("letter-reply.eml.in", IN_REPLY_TO=sent["Message-ID"]).entry
    assert (reply.in_reply_to, reply.thread_root) == (letter_entry, letter_entry)
    assert reply.customer_id == letter_entry.customer_id == "C-1001"


# Each message once ----------------------------------------------------------------------

def test_the_command_registers_each_message_once():
    output, error = fetch(str(SAMPLES))
    assert error is None
    lines = output.splitlines()
    assert lines == [
        f"{SAMPLES / '01-alternative.eml'}: {reference(1)} registered",
        f"{SAMPLES / '02-mixed-attachments.eml'}: {reference(2)} registered; not attached: estimate.exe "
        "(kept in original.eml)",
        f"{SAMPLES / '03-non-ascii.eml'}: {reference(3)} registered",
        f"{SAMPLES / '04-reply-in-reply-to.eml'}: {reference(4)} registered, in reply to {reference(1)}",
        f"{SAMPLES / '05-no-message-id.eml'}: {reference(5)} registered",
        f"{SAMPLES / '06-html-only.eml'}: {reference(6)} registered",
        "6 registered, 0 duplicate(s), 0 failed."]
    output, error = fetch(str(SAMPLES / "01-alternative.eml"), str(SAMPLES))
    assert error is None
    assert output.splitlines()[0] == (f"{SAMPLES / '01-alternative.eml'}: duplicate of {reference(1)} "
                                      "(<alt-0001@mail.example.org>)")
    assert output.splitlines()[-1] == "0 registered, 7 duplicate(s), 0 failed."
    assert Correspondence.objects.count() == 6


def test_a_concurrent_duplicate_is_taken_not_failed(monkeypatch):
    first = take("01-alternative.eml").entry
    real = mail_intake._taken
    asked = []

    def missed_once(message_ids):
        # The other intake commits between this one's check and its insert.
        asked.append(message_ids)
        return {} if len(asked) == 1 else real(message_ids)

    monkeypatch.setattr(mail_intake, "_taken", missed_once)
    result = take("01-alternative.eml")
    assert (result.status, result.entry) == (mail_intake.DUPLICATE, first)
    assert len(asked) == 2 and Correspondence.objects.count() == 1


def test_a_run_with_a_concurrent_duplicate_falls_back_to_one_by_one(monkeypatch):
    """The messages of a run are registered together; when another intake registered one of
    them meanwhile, the run's insert fails as a whole and each message is taken on its own:
    the others are registered, the taken one is a duplicate, nothing is lost or doubled."""
    first = take("01-alternative.eml").entry
    real = mail_intake._taken
    asked = []

    def missed_once(message_ids):
        asked.append(list(message_ids))
        return {} if len(asked) == 1 else real(message_ids)

    monkeypatch.setattr(mail_intake, "_taken", missed_once)
    names = ["01-alternative.eml", "03-non-ascii.eml", "06-html-only.eml"]
    results = list(mail_intake.take_messages(mail_intake.MailItem(name, sample(name)) for name in names))
    assert [result.status for result in results] == [mail_intake.DUPLICATE, mail_intake.CREATED, mail_intake.CREATED]
    assert results[0].entry == first
    assert len(asked[0]) == 3  # the whole run was checked at once, then each message alone
    assert Correspondence.objects.count() == 3
    assert Attachment.objects.filter(correspondence__in=[result.entry for result in results[1:]]).count() >= 2


def too_big_for_the_register(settings, line_end=b"\n"):
    """Sets a limit only the message with the PDF exceeds (IMAP servers send CRLF line ends)."""
    size = {name: len(sample(name).replace(b"\n", line_end)) for name in SAMPLE_FILES}
    limit = max(length for name, length in size.items() if name != "02-mixed-attachments.eml")
    assert size["02-mixed-attachments.eml"] > limit
    register = settings.WAGTAIL_CORRESPONDENCE.get("REGISTER", {})
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "REGISTER": {**register, "MAX_UPLOAD_BYTES": limit}}
    return limit


def test_a_failed_message_is_reported_and_does_not_stop_the_others(settings):
    configured = settings.WAGTAIL_CORRESPONDENCE
    limit = too_big_for_the_register(settings)
    output, error = fetch(str(SAMPLES))
    assert error is not None and error.returncode == 1
    mixed = SAMPLES / "02-mixed-attachments.eml"
    assert (f"{mixed}: FAILED: message: The message ({len(sample(mixed.name))} bytes) is larger than the "
            f"register accepts ({limit} bytes); register it by hand.") in output.splitlines()
    assert output.splitlines()[-1] == "5 registered, 0 duplicate(s), 1 failed."
    assert not Correspondence.objects.filter(subject="Claim form and repair estimate").exists()
    # Once the limit allows it, the next run takes it, and only it.
    settings.WAGTAIL_CORRESPONDENCE = configured
    output, error = fetch(str(SAMPLES))
    assert error is None and output.splitlines()[-1] == "1 registered, 5 duplicate(s), 0 failed."


def test_routing_rules_apply_to_mail():
    complaints = Department.add_root(name="Complaints", code="complaints")
    rule = RoutingRule.objects.create(name="Complaints", keywords="réclamation, complaint", department=complaints)
    routed = take("03-non-ascii.eml").entry
    other = take("01-alternative.eml").entry
    assert (routed.department, routed.routing_rule) == (complaints, rule)
    assert routed.routing_decision["matched"] == ["keyword=réclamation"]
    assert other.department is None and other.routing_rule is None


def test_the_command_needs_a_source_and_reads_the_password_only_from_the_environment(monkeypatch):
    assert "Nothing to read" in str(fetch()[1])
    assert "Not found" in str(fetch("/nonexistent/mail.eml")[1])
    monkeypatch.delenv("NO_SUCH_PASSWORD", raising=False)
    output, error = fetch("--imap-host", "127.0.0.1", "--imap-user", "intake", "--imap-password-env",
                          "NO_SUCH_PASSWORD")
    assert "Set the IMAP password in the environment variable NO_SUCH_PASSWORD" in str(error) and output == ""


# Sources --------------------------------------------------------------------------------

def test_mbox(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    for name in SAMPLE_FILES:
        box.add(sample(name))
    box.flush()
    box.close()
    output, error = fetch("--mbox", str(path))
    assert error is None and output.splitlines()[-1] == "6 registered, 0 duplicate(s), 0 failed."
    assert f"{path}#3: {reference(4)} registered, in reply to {reference(1)}" in output
    # The same messages as files, the one without a Message-ID too, are already registered.
    output, error = fetch(str(SAMPLES))
    assert output.splitlines()[-1] == "0 registered, 6 duplicate(s), 0 failed."


def test_maildir_messages_move_to_cur_flagged_seen(tmp_path):
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(root)
    keys = [box.add(sample(name)) for name in SAMPLE_FILES]
    assert sorted(os.listdir(root / "new")) == sorted(keys)
    output, error = fetch("--maildir", str(root))
    assert error is None and output.splitlines()[-1] == "6 registered, 0 duplicate(s), 0 failed."
    assert os.listdir(root / "new") == []
    assert sorted(os.listdir(root / "cur")) == sorted(f"{key}:2,S" for key in keys)
    assert Correspondence.objects.get(reference=reference(4)).in_reply_to.reference == reference(1)
    box.add(sample("subject-reference.eml.in", REFERENCE=reference(2)))
    output, error = fetch("--maildir", str(root))
    assert output.splitlines()[-1] == "1 registered, 6 duplicate(s), 0 failed."
    assert Correspondence.objects.get(reference=reference(7)).in_reply_to.reference == reference(2)
    assert os.listdir(root / "new") == [] and len(os.listdir(root / "cur")) == 7


# IMAP -----------------------------------------------------------------------------------

DOVECOT_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = correspondence-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dovecot_binary():
    return shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(path, os.X_OK)), None)


class Dovecot:
    """A private Dovecot: its own configuration, Maildir and sockets in a temporary folder,
    plain-text login on a loopback port, user ``intake``."""

    user, password = "intake", "intake-secret"

    def __init__(self, binary):
        self.binary = binary
        self.port = free_port()
        # Dovecot's login processes run as another user when started as root: the folder
        # must be reachable for them (mkdtemp makes it private).
        self.root = Path(tempfile.mkdtemp(prefix="correspondence-dovecot-"))
        self.root.chmod(0o755)
        self.process = None

    def _accounts(self):
        if os.geteuid() == 0:
            # Dovecot refuses to run its login processes, or anyone's mail, as root.
            mail = pwd.getpwnam("dovecot")
            return {"internal_user": "dovecot", "internal_group": "dovecot", "login_user": "dovenull",
                    "mail_uid": mail.pw_uid, "mail_gid": mail.pw_gid}
        me = getpass.getuser()
        return {"internal_user": me, "internal_group": grp.getgrgid(os.getgid()).gr_name, "login_user": me,
                "mail_uid": os.getuid(), "mail_gid": os.getgid()}

    def start(self):
        accounts = self._accounts()
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        os.chown(self.root / "mail", accounts["mail_uid"], accounts["mail_gid"])
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        config = self.root / "dovecot.conf"
        config.write_text(DOVECOT_CONFIG.format(root=self.root, port=self.port, **accounts))
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self.process.stderr.read().decode()} {self.log()}")
            try:
                self.client().logout()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self):
        return imaplib.IMAP4("127.0.0.1", self.port, timeout=5)

    def session(self):
        connection = self.client()
        connection.login(self.user, self.password)
        return connection


@pytest.fixture
def dovecot():
    binary = dovecot_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is missing: scripts/install-system-deps.sh installs dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd, or make system-deps)")
    server = Dovecot(binary)
    try:
        yield server.start()
    finally:
        server.stop()


def folder_state(connection, folder):
    """{subject: flags} of the messages in ``folder``."""
    connection.select(folder, readonly=True)
    _status, data = connection.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    state = {}
    for item in data:
        if isinstance(item, tuple):
            flags = imaplib.ParseFlags(item[0])
            subject = email.message_from_bytes(item[1], policy=email.policy.default)["Subject"]
            state[str(subject)] = {flag.decode() for flag in flags} - {"\\Recent"}
    return state


def test_imap_against_dovecot(dovecot, settings, monkeypatch):
    configured = settings.WAGTAIL_CORRESPONDENCE
    too_big_for_the_register(settings, line_end=b"\r\n")
    with dovecot.session() as connection:
        for name in SAMPLE_FILES:
            connection.append("INBOX", None, None, sample(name))
    monkeypatch.setenv("TEST_IMAP_SECRET", dovecot.password)
    command = ["--imap-host", "127.0.0.1", "--imap-port", str(dovecot.port), "--imap-user", dovecot.user,
               "--imap-password-env", "TEST_IMAP_SECRET", "--no-imap-ssl", "--imap-processed-folder", "Registered"]
    output, error = fetch(*command)
    assert error is not None, output
    assert output.splitlines()[-1] == "5 registered, 0 duplicate(s), 1 failed."
    assert f"imap:INBOX/4: {reference(3)} registered, in reply to {reference(1)}" in output
    assert "imap:INBOX/2: FAILED: message: The message" in output
    entry = Correspondence.objects.get(subject="Réclamation – délai")
    assert (entry.sender_name, entry.source) == ("Zoë Müller", Source.MAILBOX)
    with dovecot.session() as connection:
        # The failed message stays unread in the inbox for the next run; the others moved.
        assert folder_state(connection, "INBOX") == {"Claim form and repair estimate": set()}
        registered = folder_state(connection, "Registered")
        assert len(registered) == 5 and all(flags == {"\\Seen"} for flags in registered.values())
    settings.WAGTAIL_CORRESPONDENCE = configured
    output, error = fetch(*command)
    assert error is None and output.splitlines() == [
        f"imap:INBOX/2: {reference(6)} registered; not attached: estimate.exe (kept in original.eml)",
        "1 registered, 0 duplicate(s), 0 failed."]
    original = versions(Correspondence.objects.get(reference=reference(6)))["Original message"]
    with original.file.open("rb") as handle:
        assert b"estimate.exe" in handle.read()
    # A message read again (someone marked it unread) is not registered twice.
    with dovecot.session() as connection:
        connection.select("Registered")
        connection.uid("STORE", "1:*", "-FLAGS", r"(\Seen)")
    output, error = fetch(*command[:-2], "--imap-folder", "Registered")
    assert error is None and output.splitlines()[-1] == "0 registered, 6 duplicate(s), 0 failed."


def test_an_unreachable_imap_server_is_a_failure_not_a_crash(monkeypatch):
    monkeypatch.setenv("TEST_IMAP_SECRET", "x")
    output, error = fetch("--imap-host", "127.0.0.1", "--imap-port", str(free_port()), "--imap-user", "intake",
                          "--imap-password-env", "TEST_IMAP_SECRET", "--no-imap-ssl")
    assert error is not None
    assert output.startswith("imap://127.0.0.1/INBOX: FAILED to read: [Errno 111]")


def test_a_run_waits_for_what_its_messages_answer_or_repeat(settings):
    """Messages are registered in runs; a reply to a message of the same run, or the same
    message twice, must not be registered before that message: the run is registered first."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "REGISTER": {
        **settings.WAGTAIL_CORRESPONDENCE.get("REGISTER", {}), "INTAKE_RUN": 50}}
    names = ["01-alternative.eml", "03-non-ascii.eml", "04-reply-in-reply-to.eml", "01-alternative.eml"]
    results = list(mail_intake.take_messages(mail_intake.MailItem(name, sample(name)) for name in names))
    assert [result.status for result in results] == [mail_intake.CREATED] * 3 + [mail_intake.DUPLICATE]
    first, _other, reply, again = (result.entry for result in results)
    assert reply.in_reply_to == first and reply.thread_root == first and again == first
    assert Correspondence.objects.count() == 3


def test_a_run_is_registered_in_the_same_statements_as_one_message(settings, django_assert_max_num_queries):
    """A run of 40 messages (each with its original and, for some, a PDF) is read and written
    in about as many statements as a few messages on their own."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "REGISTER": {
        **settings.WAGTAIL_CORRESPONDENCE.get("REGISTER", {}), "INTAKE_RUN": 100}}
    take("06-html-only.eml")  # content types and the like are read once per process
    items = [mail_intake.MailItem(f"copy {number}", sample("02-mixed-attachments.eml").replace(
        b"Message-ID: <", f"Message-ID: <copy{number}-".encode())) for number in range(40)]
    with django_assert_max_num_queries(80):
        results = list(mail_intake.take_messages(items))
    assert {result.status for result in results} == {mail_intake.CREATED}
    assert len({result.entry.pk for result in results}) == 40
