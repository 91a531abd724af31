"""Pages of the demo's letters: every live template for every demo customer, as PDF, with the
pages of each and how many have the end of the letter alone on their last page (its first
line, below the running header, is the closing, the signature or the privacy notice). Prints figures;
asserts nothing.

    DATABASE_URL=sqlite:///path/to/demo.sqlite3 .venv/bin/python bench/letter_pages.py

Needs a database loaded by `correspondence_demo` (templates, fragments, the agent user).
"""

import collections
import os
import subprocess
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent.parent / "site"
sys.path.insert(0, str(SITE))
sys.path.insert(0, str(SITE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "correspondence_site.settings.dev")


def last_page_text(pdf, pages):
    return subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), "-layout", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


def main():
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from wagtail_correspondence.customers import get_customer_source
    from wagtail_correspondence.services import letters as service

    agent = get_user_model().objects.get(username="agent")
    records = get_customer_source()._records()
    slots = {"complaint-acknowledgement": {"case_summary": "The handling of my claim took too long."}}
    pages = collections.Counter()
    lonely = collections.Counter()
    letters = collections.Counter()
    for template in service.available_templates():
        for customer_id in sorted(records):
            request = service.LetterRequest(template=template, customer_id=customer_id,
                                            slots=slots.get(template.slug, {}))
            rendered = service.preview_pdf(agent, request)
            pdf, count = rendered.content, rendered.pages
            letters[template.slug] += 1
            pages[template.slug] += count
            if count > 1:
                # What the last page begins with, below the running header: the closing or the
                # privacy notice means the letter's text stayed behind on the page before.
                lines = [line.strip() for line in last_page_text(pdf, count).splitlines() if line.strip()]
                first = lines[1] if len(lines) > 2 else ""
                if first.startswith(("Kind regards", "Northwind Mutual", "We process your personal data")):
                    lonely[template.slug] += 1
    print(f"{'template':<28}{'letters':>8}{'pages':>8}{'ending alone':>15}")
    for slug in sorted(letters):
        print(f"{slug:<28}{letters[slug]:>8}{pages[slug]:>8}{lonely[slug]:>15}")
    print(f"{'all':<28}{sum(letters.values()):>8}{sum(pages.values()):>8}{sum(lonely.values()):>15}")


if __name__ == "__main__":
    main()
