"""Write everything held about one customer id to a ZIP (a subject access request): register
entries, documents, letters and their PDFs, dispatch records, portal responses, with an
index. The export is audited under ``--user``, who needs the ``export_subject_access``
permission: a disclosure is always made by someone."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from ...services.subject_access import export_subject


class Command(BaseCommand):
    help = "Export everything held about a customer id as a ZIP with an index (subject access request)."

    def add_arguments(self, parser):
        parser.add_argument("customer_id", help="The customer number, as entries and letters carry it")
        parser.add_argument("--output", "-o", required=True, metavar="FILE.zip", help="Where to write the ZIP")
        parser.add_argument("--user", metavar="USERNAME",
                            help="Who makes the disclosure (recorded in the audit log; needs the "
                                 "export_subject_access permission)")

    def handle(self, *args, customer_id, output, user=None, **options):
        if not user:
            raise CommandError("Give --user USERNAME: the audit log records who disclosed the data.")
        User = get_user_model()
        account = User.objects.filter(**{User.USERNAME_FIELD: user}).first()
        if account is None:
            raise CommandError(f"--user: no user named {user!r}")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"--output: the folder {str(path.parent)!r} does not exist")
        try:
            content = export_subject(customer_id, account)
        except PermissionDenied as exc:
            raise CommandError(f"{user} may not export subject access requests.") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(message for messages in exc.message_dict.values() for message in messages)) \
                from exc
        path.write_bytes(content)
        self.stdout.write(f"Wrote {path} ({len(content)} bytes) for customer {customer_id}.")
