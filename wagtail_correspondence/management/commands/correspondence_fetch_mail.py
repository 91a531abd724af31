import argparse
import imaplib
import ipaddress
import mailbox
import os
from contextlib import closing
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...services import mail_intake as intake

ENV_PREFIX = "IMAP_"


def _env_flag(name, default):
    value = (os.environ.get(ENV_PREFIX + name) or "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = ("Register incoming email: .eml files (or folders of them), an mbox, a Maildir or an IMAP folder. "
            "Each message is registered once; run it again as often as you like (e.g. from cron). "
            "IMAP options default to the IMAP_HOST, IMAP_PORT, IMAP_USER, IMAP_FOLDER, IMAP_SSL and "
            "IMAP_PROCESSED_FOLDER environment variables; the password is only ever read from the environment.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH", help=".eml files, or folders holding .eml files")
        parser.add_argument("--mbox", action="append", default=[], metavar="FILE", help="An mbox file (repeatable)")
        parser.add_argument("--maildir", action="append", default=[], metavar="DIR",
                            help="A Maildir; registered messages move to cur, flagged seen (repeatable)")
        parser.add_argument("--user", metavar="USERNAME", help="Record this user as the one who registered")
        imap = parser.add_argument_group("IMAP")
        imap.add_argument("--imap", action="store_true", help="Fetch from IMAP (implied by --imap-host)")
        imap.add_argument("--imap-host", help="Server name (default: $IMAP_HOST)")
        imap.add_argument("--imap-port", type=int, help="Port (default: $IMAP_PORT, else 993 with SSL, 143 without)")
        imap.add_argument("--imap-user", help="Login (default: $IMAP_USER)")
        imap.add_argument("--imap-password-env", default="IMAP_PASSWORD", metavar="VAR",
                          help="The environment variable holding the password (default: IMAP_PASSWORD)")
        imap.add_argument("--imap-folder", help="Folder to read (default: $IMAP_FOLDER, else INBOX)")
        imap.add_argument("--imap-ssl", action=argparse.BooleanOptionalAction, default=None,
                          help="Connect with SSL/TLS (default: yes, or $IMAP_SSL)")
        imap.add_argument("--imap-starttls", action="store_true", help="Without SSL, upgrade with STARTTLS")
        imap.add_argument("--imap-all", action="store_true", help="Read every message, not only unseen ones")
        imap.add_argument("--imap-processed-folder", metavar="FOLDER",
                          help="Move registered messages there (default: $IMAP_PROCESSED_FOLDER; none: they stay, "
                               "flagged seen)")

    def handle(self, *args, **options):
        sources = self._sources(options)
        if not sources:
            raise CommandError("Nothing to read: give .eml paths, --mbox, --maildir or --imap.")
        user = self._user(options["user"])
        counts = {intake.CREATED: 0, intake.DUPLICATE: 0, intake.FAILED: 0}
        for name, items in sources:
            try:
                # Closed only once every run of messages is registered and marked in its
                # source (an IMAP session must outlive the reading of the last message).
                with closing(items):
                    for result in intake.take_messages(items, user=user):
                        counts[result.status] += 1
                        self.stdout.write(self._line(result))
            except (OSError, mailbox.Error, imaplib.IMAP4.error, intake.ImapError) as exc:
                # The source itself failed (unreachable, refused the login, missing): what it
                # had not handed over yet is not read.
                counts[intake.FAILED] += 1
                self.stdout.write(f"{name}: FAILED to read: {exc}")
        self.stdout.write(f"{counts[intake.CREATED]} registered, {counts[intake.DUPLICATE]} duplicate(s), "
                          f"{counts[intake.FAILED]} failed.")
        if counts[intake.FAILED]:
            raise CommandError(f"{counts[intake.FAILED]} message(s) or source(s) failed; see above.")

    def _user(self, username):
        if not username:
            return None
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None

    def _sources(self, options):
        sources = []
        missing = [path for path in options["paths"] + options["mbox"] + options["maildir"] if not Path(path).exists()]
        if missing:
            raise CommandError(f"Not found: {', '.join(missing)}")
        if options["paths"]:
            sources.append((", ".join(options["paths"]), intake.eml_items(options["paths"])))
        sources += [(path, intake.mbox_items(path)) for path in options["mbox"]]
        sources += [(path, intake.maildir_items(path)) for path in options["maildir"]]
        if options["imap"] or options["imap_host"]:
            config = self._imap_settings(options)
            sources.append((f"imap://{config.host}/{config.folder}", intake.imap_items(config)))
        return sources

    def _imap_settings(self, options):
        env = os.environ.get
        host = options["imap_host"] or env(ENV_PREFIX + "HOST", "")
        user = options["imap_user"] or env(ENV_PREFIX + "USER", "")
        password = env(options["imap_password_env"])
        if not host or not user:
            raise CommandError("IMAP needs a host and a user (--imap-host/--imap-user or IMAP_HOST/IMAP_USER).")
        if password is None:
            raise CommandError(f"Set the IMAP password in the environment variable {options['imap_password_env']}.")
        try:
            port = options["imap_port"] or int(env(ENV_PREFIX + "PORT") or 0)
        except ValueError:
            raise CommandError(f"{ENV_PREFIX}PORT is not a port number.") from None
        use_ssl = options["imap_ssl"] if options["imap_ssl"] is not None else _env_flag("SSL", True)
        if not use_ssl and not options["imap_starttls"] and not _is_loopback(host):
            self.stderr.write(f"Warning: the password goes to {host} unencrypted (no SSL, no STARTTLS).")
        return intake.ImapSettings(
            host=host, user=user, password=password, port=port,
            folder=options["imap_folder"] or env(ENV_PREFIX + "FOLDER") or "INBOX", use_ssl=use_ssl,
            starttls=options["imap_starttls"], unseen_only=not options["imap_all"],
            processed_folder=options["imap_processed_folder"] or env(ENV_PREFIX + "PROCESSED_FOLDER") or "")

    def _line(self, result):
        if result.status == intake.FAILED:
            line = f"{result.label}: FAILED: {result.reason}"
        elif result.status == intake.DUPLICATE:
            line = f"{result.label}: duplicate of {result.entry.reference} ({result.message_id})"
        else:
            entry = result.entry
            line = f"{result.label}: {entry.reference} registered"
            if entry.in_reply_to_id:
                line += f", in reply to {entry.in_reply_to.reference}"
            if result.skipped:
                line += f"; not attached: {', '.join(name for name, _reason in result.skipped)} (kept in original.eml)"
        return f"{line}; {result.warning}" if result.warning else line
