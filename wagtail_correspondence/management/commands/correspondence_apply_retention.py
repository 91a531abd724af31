"""Apply the register's retention policies: anonymise or purge the closed entries whose
period has passed, except those a legal hold covers (the entry or any entry of its
conversation). ``--dry-run`` only reports; ``--now`` applies as of another moment.

Run it from cron (daily is plenty); each entry is handled in a transaction of its own and
audited, so an interrupted run simply continues next time.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...services import retention
from .correspondence_sla_sweep import parse_moment


class Command(BaseCommand):
    help = ("Anonymise or purge closed register entries past their retention policy's period; entries under a "
            "legal hold (on themselves or on their conversation) are skipped. --dry-run changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would be done; change nothing")
        parser.add_argument("--now", metavar="ISO",
                            help="Apply as of this moment (ISO 8601; no offset: the site's time zone)")
        parser.add_argument("--user", metavar="USERNAME", help="Record the changes under this user (default: none)")

    def handle(self, *args, dry_run=False, now=None, user=None, **options):
        moment = parse_moment(now) if now is not None else None
        account = None
        if user:
            account = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: user}).first()
            if account is None:
                raise CommandError(f"--user: no user named {user!r}")
        result = retention.apply_retention(now=moment, dry_run=dry_run, user=account)
        verb = {"anonymise": "would anonymise", "purge": "would purge"} if dry_run else {
            "anonymise": "anonymised", "purge": "purged"}
        heading = "Dry run: nothing was changed." if dry_run else "Retention applied."
        if moment is not None:
            heading += f" As of {moment.isoformat()}."
        self.stdout.write(heading)
        if not result.counts:
            self.stdout.write("No entry is due.")
        for (policy, action), count in sorted(result.counts.items()):
            self.stdout.write(f"  {policy}: {verb[action]} {count} entries")
        if result.kept_for_replies:
            self.stdout.write(f"  Due for purge but kept (anonymised) because other entries answer them: "
                              f"{len(result.kept_for_replies)} ({', '.join(result.kept_for_replies)})")
        if result.held:
            references = ", ".join(item.entry.reference for item in result.held)
            self.stdout.write(f"  Skipped because of a legal hold: {len(result.held)} ({references})")
        if result.skipped:
            references = ", ".join(item.entry.reference for item in result.skipped)
            self.stdout.write(f"  Skipped because they changed meanwhile: {len(result.skipped)} ({references})")
        total = "would be changed" if dry_run else "changed"
        self.stdout.write(f"{len(result.anonymised)} anonymised, {len(result.purged)} purged; "
                          f"{len(result.anonymised) + len(result.purged)} entries {total}.")
