from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from ...models import Letter, LetterStatus
from ...services.letters import check_letter_pdf, check_pdf_copy


class Command(BaseCommand):
    help = ("Check generated letters' stored PDFs: each is the file recorded at generation (SHA-256) and, for a "
            "sealed letter, its seal is intact, by the certificate recorded then, and trusted. Name letters by "
            "reference, or check them all (--all, --since). Exits 0 when every letter checked is in order, "
            "1 naming each one that is not.")

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*", metavar="REFERENCE", help="letter reference numbers")
        parser.add_argument("--all", action="store_true", help="every generated letter")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="letters generated on or after this day")
        parser.add_argument("--file", metavar="PATH", help="a PDF someone holds: its seal, and the letter it names")
        parser.add_argument("--password", help="with --file: the password of a password-protected email copy")

    def handle(self, *args, references, all, since, file, password, **options):
        if file:
            return self.check_file(file, password)
        if not (references or all or since):
            raise CommandError("Name letters by reference, or use --all, --since or --file.")
        letters = Letter.objects.filter(status=LetterStatus.GENERATED).exclude(pdf="")
        if since:
            day = parse_date(since)
            if day is None:
                raise CommandError(f"--since: {since!r} is not a date (YYYY-MM-DD).")
            letters = letters.filter(generated_at__date__gte=day)
        if references:
            letters = letters.filter(reference__in=references)
            missing = set(references) - set(letters.values_list("reference", flat=True))
            if missing:
                raise CommandError(f"No generated letter has the reference {', '.join(sorted(missing))}.")
        checked = failed = 0
        for letter in letters.order_by("pk").iterator(chunk_size=500):
            result = check_letter_pdf(letter)
            checked += 1
            if result.ok:
                seal = result.seal
                sealed = (f"sealed by {seal.signer} at {seal.signed_at:%Y-%m-%d %H:%M:%S %Z}" if seal and seal.sealed
                          else "not sealed")
                self.stdout.write(f"{letter.reference}: in order, {sealed}")
            else:
                failed += 1
                self.stdout.write(self.style.ERROR(f"{letter.reference}: NOT in order: {result.problem}"))
        if failed:
            raise CommandError(f"{failed} of {checked} letters are not in order.")
        self.stdout.write(self.style.SUCCESS(f"{checked} letters checked, all in order."))

    def check_file(self, path, password):
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise CommandError(f"--file: {path} cannot be read: {exc.strerror}") from exc
        result = check_pdf_copy(content, password)
        letter = f"letter {result.reference}" if result.letter_found else "no letter of this register"
        stored = ", byte for byte the stored PDF" if result.same_as_stored else ""
        if not result.ok:
            raise CommandError(f"{path}: NOT a genuine copy ({letter}): {result.seal.problem}")
        self.stdout.write(self.style.SUCCESS(
            f"{path}: genuine, {letter}{stored}; sealed by {result.seal.signer} at "
            f"{result.seal.signed_at:%Y-%m-%d %H:%M:%S %Z}"))
