"""Demo content for the reference site: users in every role, departments, a Customer data
dictionary with sample data, live fragments, a letterhead and three live templates.

Idempotent: everything is looked up by a stable key first, so running it again changes nothing.
"""

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from wagtail.blocks import StreamValue
from wagtail.models import Locale
from wagtail.rich_text import RichText

from wagtail_correspondence import data_rules, roles
from wagtail_correspondence.blocks import FragmentBodyBlock, TemplateBodyBlock
from wagtail_correspondence.customers import get_customer_source
from wagtail_correspondence.models import (
    ContentCategory,
    DataDictionary,
    DataField,
    Department,
    DictionaryRule,
    Enclosure,
    Fragment,
    Layout,
    LetterTemplatePage,
    SampleDataSet,
    TemplateEnclosure,
    TemplateFolderPage,
    TemplateRule,
)
from .batches import finished_batch
from .register import RegisterDemo
from wagtail_correspondence.services.setup import ensure_template_library

DEFAULT_PASSWORD = "correspondence-demo"
# The customer who prefers the portal (customers.json): their renewal letter waits there.
PORTAL_CUSTOMER = "C-1017"
ENCLOSURES = [
    ("policy-terms", "General terms and conditions", [
        "These terms apply to every Northwind Mutual policy.", "1. Your cover starts on the date in your policy.",
        "2. You may cancel within 14 days of renewal.", "(Demo document.)"]),
    ("direct-debit-mandate", "Direct debit mandate", [
        "Fill in and sign this form to pay your premium by SEPA direct debit.", "IBAN: ____________________",
        "Signature: ________________", "(Demo document.)"]),
    ("claim-form", "Claim form", [
        "CLAIM FORM", "Describe what happened, when and where.", "List the damaged items and their value.",
        "Date and signature: ________________", "(Demo document.)"]),
]
# Owes €999.74: a payment reminder to him is held for approval (approval_rules below).
APPROVAL_CUSTOMER = "C-1020"
# A claim update with the apology reworded by the agent, held for approval with its redline.
# Bram Janssens speaks Dutch: the letter is in Dutch, so the agent rewords the Dutch wording.
TAILORED_CUSTOMER = "C-1002"
TAILORED_APOLOGY = ("<p>Het spijt ons <b>echt</b> dat de behandeling van uw schadedossier na de storm langer duurt "
                    "dan beloofd, {{ customer.first_name }}. We begrijpen hoe vervelend dat is, en we doen wat we "
                    "kunnen om het te versnellen.</p>")
BATCH_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "batch-1000.csv"

USERS = [
    ("author", "Alice", "Author", roles.CONTENT_AUTHORS, "marketing"),
    ("reviewer", "Rob", "Reviewer", roles.CONTENT_REVIEWERS, "legal"),
    ("agent", "Amir", "Agent", roles.AGENTS, "billing"),
    ("officer", "Olga", "Officer", roles.OFFICERS, "complaints"),
    ("supervisor", "Sam", "Supervisor", roles.SUPERVISORS, "customer-service"),
    ("approver", "Petra", "Approver", roles.LETTER_APPROVERS, "billing"),
    ("auditor", "Aude", "Auditor", roles.AUDITORS, None),
    ("admin", "Ada", "Admin", roles.ADMINISTRATORS, None),
]

DEPARTMENTS = [
    ("customer-service", "Customer Service", None),
    ("billing", "Billing", "customer-service"),
    ("complaints", "Complaints", "customer-service"),
    ("legal", "Legal", None),
    ("marketing", "Marketing", None),
]

FIELDS = [
    ("customer.id", "Customer number", "text", True, "C-1001"),
    ("customer.title", "Title", "text", False, "Ms"),
    ("customer.first_name", "First name", "text", True, "Ada"),
    ("customer.last_name", "Last name", "text", True, "Peeters"),
    ("customer.full_name", "Full name", "text", True, "Ada Peeters"),
    ("customer.email", "Email", "email", False, "ada@example.org"),
    ("customer.phone", "Phone", "phone", False, "+32 2 555 01 23"),
    ("customer.address", "Postal address", "address", True, ""),
    ("customer.language", "Language", "text", False, "en"),
    ("customer.preferred_channel", "Preferred channel", "text", False, "email"),
    ("customer.date_of_birth", "Date of birth", "date", False, "1980-04-12"),
    ("customer.vip", "VIP customer", "boolean", False, ""),
    ("policy.number", "Policy number", "text", False, "POL-700001"),
    ("policy.product", "Product", "text", False, "Home insurance"),
    ("policy.renewal_date", "Renewal date", "date", False, "2027-01-01"),
    ("policy.premium", "Annual premium", "money", False, "480.00"),
    ("balance", "Outstanding balance", "money", True, "250.00"),
    ("due_date", "Payment due date", "date", False, "2026-12-15"),
    ("invoices", "Open invoices", "list", False, ""),
    ("invoices.number", "Invoice number", "text", True, "INV-2026-1001"),
    ("invoices.amount", "Invoice amount", "money", True, "120.00"),
    ("invoices.due_date", "Invoice due date", "date", False, "2026-11-01"),
    ("complaint.reference", "Complaint reference", "text", False, "CPL-2026-300"),
    ("complaint.received_on", "Complaint received on", "date", False, "2026-11-18"),
    ("complaint.summary", "Complaint summary", "text", False, "Delay in the handling of a claim"),
    # Filled by the product from the register entry a letter answers (services/register_links.py).
    ("in_reply_to.reference", "Reference of the entry answered", "text", False, "IN-2026-000147"),
    ("in_reply_to.date", "Date the entry was received", "date", False, "2026-12-03"),
    ("in_reply_to.subject", "Subject of the entry answered", "text", False, "Delay in the handling of my claim"),
    ("in_reply_to.their_reference", "Sender's own reference", "text", False, ""),
]

# The register entry the sample letters answer, so that previews of replies read as real ones.
SAMPLE_REPLY = {"reference": "IN-2026-000147", "date": "2026-12-03", "subject": "Delay in the handling of my claim",
                "their_reference": ""}

SAMPLE_SETS = [("Typical customer", "C-1002"), ("Customer in arrears", "C-1004"), ("French-speaking policyholder", "C-1005")]


def rt(html):
    return ("rich_text", RichText(html))


def conditional(condition, content, otherwise=()):
    return ("conditional", {"condition": condition, "content": list(content), "otherwise": list(otherwise)})


INVOICE_TABLE = ("repeating_list", {
    "source": "invoices", "item_name": "item", "style": "table", "empty_text": "You have no open invoices.",
    "columns": [{"heading": "Invoice", "value": "{{ item.number }}"},
                {"heading": "Due", "value": "{{ item.due_date|date('medium') }}"},
                {"heading": "Amount", "value": "{{ item.amount|money }}"}],
    "item_text": RichText(""),
})

PREMIUM_TABLE = ("table", {
    "data": [["Policy", "{{ policy.number }}"], ["Product", "{{ policy.product }}"],
             ["Renewal date", "{{ policy.renewal_date|date }}"], ["Annual premium", "{{ policy.premium|money }}"]],
    "first_row_is_table_header": False, "first_col_is_header": True, "table_caption": "Your renewal",
})

# key, title, category, department, channels, body blocks
FRAGMENTS = [
    ("greeting", "Greeting", "Openings", "marketing", ["print", "email"],
     [rt("<p>Dear {{ customer.title }} {{ customer.last_name }},</p>")]),
    ("reference-block", "Reference block", "Openings", "customer-service", ["print", "email"],
     [rt("<p><b>Customer number:</b> {{ customer.id }}</p>")]),
    ("payment-reminder", "Payment reminder", "Billing", "billing", ["print", "email", "sms"],
     [rt("<p>Our records show an outstanding balance of <b>{{ balance|money }}</b> on your account. "
         "We kindly ask you to settle it by {{ due_date|date }}.</p>")]),
    ("overdue-notice", "Overdue notice", "Billing", "billing", ["print", "email"],
     [conditional("balance > 500", [rt("<p>As the amount now exceeds {{ 500|money }}, we may suspend your cover "
                                       "if it is not paid within 14 days.</p>")],
                  [rt("<p>If you have already paid, please disregard this reminder.</p>")])]),
    ("open-invoices", "List of open invoices", "Billing", "billing", ["print", "email"],
     [rt("<p>The following invoices are open:</p>"), INVOICE_TABLE]),
    ("payment-methods", "Payment methods", "Billing", "billing", ["print", "email"],
     [rt("<p>You can pay by bank transfer to BE71 0961 2345 6769, quoting {{ customer.id }}, or online in your "
         "customer portal.</p>")]),
    ("data-protection", "Data-protection notice", "Legal", "legal", ["print", "email"],
     [rt("<p><i>We process your personal data to manage your contract, as described in our privacy notice. You "
         "may access, correct or erase your data by writing to our Data Protection Officer.</i></p>")]),
    ("complaint-acknowledgement", "Complaint acknowledgement", "Complaints", "complaints", ["print", "email"],
     [rt("<p><b>Your letter of {{ in_reply_to.date|date }}, our reference {{ in_reply_to.reference }}</b><br/>"
         "{{ in_reply_to.subject }}</p>"),
      rt("<p>Thank you for writing to us. We have registered your complaint; please quote our reference "
         "{{ in_reply_to.reference }} when you contact us about it.</p>")]),
    ("complaint-next-steps", "Complaint next steps", "Complaints", "complaints", ["print", "email"],
     [rt("<p>A member of our complaints team will review your case and reply within 15 working days. If you are "
         "not satisfied with our answer, you may contact the Insurance Ombudsman.</p>")]),
    ("renewal-notice", "Policy renewal notice", "Policies", "customer-service", ["print", "email"],
     [rt("<p>Your {{ policy.product }} policy {{ policy.number }} renews on {{ policy.renewal_date|date }}.</p>"),
      conditional("customer.vip", [rt("<p>As a valued long-standing customer, your premium is frozen this year.</p>")])]),
    ("renewal-premium", "Renewal premium table", "Policies", "customer-service", ["print", "email"],
     [PREMIUM_TABLE]),
    ("contact-details", "Contact details", "Closings", "customer-service", ["print", "email"],
     [rt("<p>Questions? Call us on +32 2 555 00 00 (weekdays 8:00–18:00) or write to help@northwind.example.</p>")]),
    # The claim update: agents may reword the apology and arrange the next steps.
    ("claim-apology", "Claim delay apology", "Complaints", "complaints", ["print", "email"],
     [rt("<p>We are sorry that the handling of your claim is taking longer than we promised. We understand how "
         "frustrating this is, {{ customer.first_name }}, and we are doing what we can to speed it up.</p>")]),
    ("claim-documents", "Claim: documents needed", "Complaints", "complaints", ["print", "email"],
     [rt("<p><b>Documents.</b> Please send us the repair estimate and photos of the damage, quoting "
         "{{ customer.id }}, by email or in your customer portal.</p>")]),
    ("claim-expert-visit", "Claim: expert visit", "Complaints", "complaints", ["print", "email"],
     [rt("<p><b>Expert visit.</b> An independent expert will call you within five working days to arrange a "
         "visit.</p>")]),
    ("claim-advance-payment", "Claim: advance payment", "Complaints", "complaints", ["print", "email"],
     [rt("<p><b>Advance payment.</b> We will pay an advance on the undisputed part of your claim within ten "
         "working days.</p>")]),
    ("closing", "Closing", "Closings", "marketing", ["print", "email"],
     [rt("<p>Kind regards,</p>")]),
    ("signature-block", "Signature block", "Closings", "customer-service", ["print", "email"],
     [rt("<p><b>Northwind Mutual</b><br/>Customer Service</p>")]),
]

# The newer wording of this fragment waits in the review workflow.
PENDING_REVIEW = ("payment-methods", [rt(
    "<p>You can pay by bank transfer to BE71 0961 2345 6769, quoting {{ customer.id }}, by direct debit, or online "
    "in your customer portal.</p>")])


# Reviews in the other states: (fragment key, the author's new wording, the reviewer's decision,
# their comment). An approved change leaves an earlier version for the side-by-side redline; the
# author of a change sent back meets the comment in the editor.
REVIEWED_CHANGES = [
    ("contact-details", "<p>Questions? Call us on +32 2 555 00 00 (weekdays 8:00–18:00), write to "
     "help@northwind.example or chat with us in your customer portal.</p>", "approve",
     "Portal chat is live since November: fine."),
    ("complaint-next-steps", "<p>A member of our complaints team will review your case and reply as soon as "
     "possible.</p>", "reject",
     "Keep the 15 working days: the complaints procedure promises them, and mention the Ombudsman again."),
]


def template_specs(fragments):
    f = fragments
    payment_reminder = {
        "folder": "Billing", "title": "Payment reminder", "slug": "payment-reminder",
        "subject": "Payment reminder — account {{ customer.id }}",
        "body": [
            ("fragment", f["greeting"]), ("fragment", f["reference-block"]), ("fragment", f["payment-reminder"]),
            ("conditional_include", {"condition": "invoices|length > 0", "fragment": f["open-invoices"]}),
            ("fragment", f["overdue-notice"]),
            ("agent_slot", {"name": "personal_note", "label": "Personal note", "required": False,
                            "help": "Optional, shown after the reminder", "max_length": 600, "default_text": ""}),
            ("optional_fragments", {"name": "payment_help", "label": "Add payment methods", "help": "",
                                    "fragments": [f["payment-methods"]], "preselected": True}),
            ("fragment", f["contact-details"]), ("fragment", f["closing"]), ("fragment", f["signature-block"]),
            ("fragment", f["data-protection"]),
        ],
        "email_subject": "Reminder: {{ balance|money }} due",
        "email_intro": "Dear {{ customer.first_name }}, please find attached a reminder about your balance of "
                       "{{ balance|money }}.",
        "sms_text": "Northwind: a balance of {{ balance|money }} is due on {{ due_date|date('short') }}. "
                    "Ref {{ customer.id }}",
    }
    complaint = {
        "folder": "Complaints", "title": "Complaint acknowledgement", "slug": "complaint-acknowledgement",
        "subject": "Your complaint {{ in_reply_to.reference }}",
        "body": [
            ("fragment", f["greeting"]), ("fragment", f["complaint-acknowledgement"]),
            ("agent_slot", {"name": "case_summary", "label": "Summary of the complaint", "required": True,
                            "help": "In the customer's words, briefly", "max_length": 1000, "default_text": ""}),
            ("fragment", f["complaint-next-steps"]), ("fragment", f["closing"]), ("fragment", f["signature-block"]),
            ("fragment", f["data-protection"]),
        ],
        "email_subject": "We received your complaint {{ in_reply_to.reference }}",
        "email_intro": "Dear {{ customer.first_name }}, we have registered your complaint; our letter is attached.",
        "sms_text": "Northwind: complaint {{ in_reply_to.reference }} registered. We reply within 15 working days.",
    }
    renewal = {
        "folder": "Policies", "title": "Policy renewal", "slug": "policy-renewal",
        "subject": "Renewal of policy {{ policy.number }}",
        "body": [
            ("fragment", f["greeting"]), ("fragment", f["renewal-notice"]), ("fragment", f["renewal-premium"]),
            ("agent_slot", {"name": "personal_note", "label": "Personal note", "help": "", "required": False,
                            "max_length": 600, "default_text": ""}),
            ("fragment", f["contact-details"]), ("fragment", f["closing"]), ("fragment", f["signature-block"]),
        ],
        "enclosures": [("policy-terms", "mandatory"), ("direct-debit-mandate", "optional")],
        "email_subject": "Your policy {{ policy.number }} renews soon",
        "email_intro": "Dear {{ customer.first_name }}, your renewal letter is attached.",
        "sms_text": "Northwind: policy {{ policy.number }} renews on {{ policy.renewal_date|date('short') }}.",
    }
    claim_update = {
        "folder": "Complaints", "title": "Claim update", "slug": "claim-update",
        "subject": "Your claim — customer {{ customer.id }}",
        "description": "Tell a customer where their claim stands. You may reword or leave out the apology and "
                       "choose the next steps, in the order that fits; everything else is locked.",
        "body": [
            ("fragment", f["greeting"]),
            ("tailorable_fragment", {"name": "apology", "label": "Apology", "fragment": f["claim-apology"],
                                     "agents_may": "edit_or_remove", "allow_links": False, "max_length": 1200}),
            ("fragment_zone", {"name": "next_steps", "label": "Next steps",
                               "help": "Keep the steps that apply to this claim, in the order they will happen.",
                               "fragments": [f["claim-documents"], f["claim-expert-visit"], f["claim-advance-payment"]],
                               "arrangement": "any_order", "start_with": "all", "min_count": 1, "max_count": 3,
                               "page_breaks": True}),
            ("fragment", f["contact-details"]), ("fragment", f["closing"]), ("fragment", f["signature-block"]),
            ("fragment", f["data-protection"]),
        ],
        "enclosures": [("claim-form", "optional")],
        "email_subject": "News about your claim",
        "email_intro": "Dear {{ customer.first_name }}, our letter about your claim is attached.",
        "sms_text": "Northwind: news about your claim, customer {{ customer.id }}. See your letter.",
    }
    return [payment_reminder, complaint, renewal, claim_update]


class DemoBuilder:
    def __init__(self, password=None, log=print, register=True):
        self.password = password or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        self.log = log
        self.with_register = register  # the register's ~200 entries and letters
        self.created = []

    def note(self, created, label):
        if created:
            self.created.append(label)

    @transaction.atomic
    def build(self):
        self.locales()
        departments = self.departments()
        users = self.users(departments)
        ensure_template_library()
        dictionary = self.dictionary()
        fragments = self.fragments(dictionary, departments, users)
        layout = self.layout()
        self.enclosures()
        self.templates(dictionary, layout, fragments, departments)
        self.pending_review(fragments, users)
        self.review_states(fragments, users)
        self.data_rules(dictionary)
        self.translations(fragments, layout, users)
        if self.with_register:
            RegisterDemo(self, departments, users).build()
            self.portal_letter(users)
            finished_batch(self, users, BATCH_FILE)
        # After the register and the batch, whose letters went out without a second look.
        self.approval_rules(departments)
        if self.with_register:
            self.letter_awaiting_approval(users)
        return self.created

    def locales(self):
        """A locale per content language (WAGTAIL_CONTENT_LANGUAGES), so that the library can be
        translated into each."""
        from wagtail.coreutils import get_content_languages
        from wagtail.models import Locale

        for code in get_content_languages():
            _locale, created = Locale.objects.get_or_create(language_code=code)
            self.note(created, f"Content language {code}")

    def translations(self, fragments, layout, users):
        """The library in French and Dutch (translations.py): every fragment, the letterhead and
        the letter templates, translated through wagtail-localize's PO files by ``author`` and
        approved by ``reviewer``; then one English change leaves the French variant of that
        fragment out of date."""
        from .translations import CHANGED_AFTER_TRANSLATION, TRANSLATIONS

        default = Locale.get_default()
        sources = [*Fragment.objects.filter(locale=default).order_by("pk"), layout,
                   *LetterTemplatePage.objects.filter(locale=default).order_by("path")]
        for code, strings in TRANSLATIONS.items():
            locale = Locale.objects.get(language_code=code)
            for source in sources:
                if source.get_translation_or_none(locale) is None:
                    self.translate(source, locale, strings, users)
        key, html, dutch = CHANGED_AFTER_TRANSLATION
        fragment = Fragment.objects.get(key=key, locale=default)
        if html not in str(fragment.body):
            fragment.body = StreamValue(FragmentBodyBlock(), [rt(html)])
            fragment.save_revision(user=users["author"], log_action=True).publish(
                user=users["reviewer"], skip_permission_checks=True)
            self.translate(Fragment.objects.get(pk=fragment.pk), Locale.objects.get(language_code="nl"),
                           {**TRANSLATIONS["nl"], **dutch}, users)
            self.note(True, f"fragment {key}: changed in English since its French translation")

    def translate(self, source, locale, strings, users):
        """What a translator does with a PO file, then the reviewer's approval (set-up by code:
        published without the workflow's checks, as the other demo content)."""
        from wagtail_localize.models import Translation, TranslationSource

        translation_source, _created = TranslationSource.update_or_create_from_instance(source)
        translation, _created = Translation.objects.get_or_create(source=translation_source, target_locale=locale)
        po = translation.export_po()
        missing = [entry.msgid for entry in po if entry.msgid not in strings]
        if missing:
            raise ValueError(f"translations.py has no {locale.language_code} translation of {missing}")
        for entry in po:
            entry.msgstr = strings[entry.msgid]
        translation.import_po(po, user=users["author"])
        translation.save_target(user=users["author"], publish=False)
        variant = type(source).objects.get(translation_key=source.translation_key, locale=locale)
        variant.latest_revision.publish(user=users["reviewer"], skip_permission_checks=True)
        self.note(True, f"{source} in {locale.language_code}")

    def approval_rules(self, departments):
        """Four-eyes on letters: large payment reminders and replies to strictly confidential
        entries wait for a second person (``approver`` for Billing, ``supervisor`` for all)."""
        from wagtail_correspondence.models import LetterApprovalRule

        reminder = LetterTemplatePage.objects.filter(slug="payment-reminder", locale=Locale.get_default()).first()
        claim_update = LetterTemplatePage.objects.filter(slug="claim-update", locale=Locale.get_default()).first()
        specs = [
            # Approved wording changed by an agent is read by a second person before it goes out.
            {"name": "Claim updates with changed wording", "template": claim_update, "agent_wrote_text": True},
            # With the agent's own note: a batch of plain reminders goes out without waiting.
            {"name": "Payment reminders over €950 with a personal note", "template": reminder,
             "agent_wrote_text": True, "field": "balance", "operator": "gt", "value": "950"},
            {"name": "Replies to strictly confidential entries", "confidential_reply": True},
        ]
        for spec in specs:
            if not LetterApprovalRule.objects.filter(name=spec["name"]).exists():
                rule = LetterApprovalRule(**spec)
                rule.full_clean()
                rule.save()
                self.note(True, f"approval rule: {spec['name']}")

    def letter_awaiting_approval(self, users):
        """One payment reminder held for approval: Thomas Laurent owes €999.74."""
        from wagtail_correspondence.models import Letter, LetterStatus
        from wagtail_correspondence.services.letters import LetterRequest, generate_letter

        template = LetterTemplatePage.objects.live().filter(slug="payment-reminder", locale=Locale.get_default()).first()
        if template is None or Letter.objects.filter(status=LetterStatus.PENDING_APPROVAL).exists():
            return
        letter = generate_letter(users["agent"], LetterRequest(
            template=template, customer_id=APPROVAL_CUSTOMER, channel="print",
            slots={"personal_note": "We can spread the payment over three months if that helps."}))
        self.note(True, f"letter {letter.reference} awaiting approval ({'; '.join(letter.approval_reasons)})")
        self.tailored_letter_awaiting_approval(users)

    def tailored_letter_awaiting_approval(self, users):
        """A claim update whose apology the agent reworded: it waits for the approver, who reads
        the redline against the approved wording."""
        from wagtail_correspondence.services.letters import LetterRequest, generate_letter

        template = LetterTemplatePage.objects.live().filter(slug="claim-update", locale=Locale.get_default()).first()
        if template is None:
            return
        letter = generate_letter(users["agent"], LetterRequest(
            template=template, customer_id=TAILORED_CUSTOMER, channel="print",
            edits={"apology": {"html": TAILORED_APOLOGY}},
            zones={"next_steps": ["claim-expert-visit", "claim-advance-payment"]}))
        self.note(True, f"letter {letter.reference} awaiting approval (reworded apology)")

    def portal_letter(self, users):
        """A letter waiting for a customer in the portal: the customer who prefers the portal
        gets their renewal letter there, and an email with its link (sent by the worker, as a
        file in site/sent_mail/ in development). The link starts with WAGTAILADMIN_BASE_URL
        (`make demo` sets it from PORT), since no request generates this letter."""
        from wagtail_correspondence.models import Dispatch
        from wagtail_correspondence.services.letters import LetterRequest, generate_letter

        template = LetterTemplatePage.objects.live().filter(slug="policy-renewal", locale=Locale.get_default()).first()
        if template is None or Dispatch.objects.filter(channel="portal", letter__template=template).exists():
            return
        customer = get_customer_source().get(PORTAL_CUSTOMER)["customer"]
        letter = generate_letter(users["agent"], LetterRequest(
            template=template, customer_id=customer["id"], channel="portal",
            slots={"personal_note": "You can reply to this letter from the portal page."}))
        self.note(True, f"portal letter {letter.reference} for {customer['full_name']}")

    def departments(self):
        result = {}
        for code, name, parent_code in DEPARTMENTS:
            department = Department.objects.filter(code=code).first()
            if department is None:
                instance = Department(code=code, name=name, email=f"{code}@northwind.example")
                department = (result[parent_code].add_child(instance=instance) if parent_code
                              else Department.add_root(instance=instance))
                self.note(True, f"department {name}")
            result[code] = department
        return result

    def users(self, departments):
        model = get_user_model()
        result = {}
        for username, first, last, role, department_code in USERS:
            user = model.objects.filter(username=username).first()
            if user is None:
                user = model(username=username, first_name=first, last_name=last, email=f"{username}@example.org",
                             is_superuser=username == "admin", is_staff=username == "admin")
                user.set_password(self.password)
                user.save()
                self.note(True, f"user {username}")
            user.groups.add(Group.objects.get(name=role))
            if department_code:
                departments[department_code].members.add(user)
            result[username] = user
        return result

    def dictionary(self):
        dictionary = DataDictionary.objects.filter(name="Customer").first()
        if dictionary is not None:
            return dictionary
        dictionary = DataDictionary(name="Customer", description="A customer with their account, policy and "
                                    "complaint data, as the customer data source returns it.")
        dictionary.fields = [DataField(name=name, label=label, field_type=kind, required=required, example=example)
                             for name, label, kind, required, example in FIELDS]
        source = get_customer_source()
        dictionary.sample_data_sets = [SampleDataSet(name=name, data={**source.get(customer_id),
                                                                      "in_reply_to": SAMPLE_REPLY})
                                       for name, customer_id in SAMPLE_SETS]
        dictionary.full_clean()
        dictionary.save()
        dictionary.save_revision(log_action=True)
        for sample in dictionary.sample_data_sets.all():
            errors = dictionary.validate_payload(sample.data)
            if errors:
                raise ValueError(f"Sample '{sample.name}' does not match the dictionary: {errors}")
        self.note(True, "data dictionary Customer")
        return dictionary

    def fragments(self, dictionary, departments, users):
        result = {}
        for key, title, category_name, department_code, channels, blocks in FRAGMENTS:
            fragment = Fragment.objects.filter(key=key, locale=Locale.get_default()).first()
            if fragment is None:
                category, _ = ContentCategory.objects.get_or_create(name=category_name)
                fragment = Fragment(key=key, title=title, data_dictionary=dictionary, category=category,
                                    owning_department=departments[department_code], channels=channels,
                                    body=StreamValue(FragmentBodyBlock(), blocks))
                fragment.full_clean()
                fragment.save()
                # Set-up by code, not a user's request: recorded as the reviewer's publication
                # without the checks that keep people to the review workflow.
                fragment.save_revision(user=users["author"], log_action=True).publish(
                    user=users["reviewer"], skip_permission_checks=True)
                fragment.refresh_from_db()
                self.note(True, f"fragment {key}")
            result[key] = fragment
        return result

    def layout(self):
        layout = Layout.objects.filter(name="Northwind Mutual letterhead", locale=Locale.get_default()).first()
        if layout is None:
            layout = Layout(
                name="Northwind Mutual letterhead",
                header="<p><b>Northwind Mutual</b> · Insurance since 1921</p>",
                footer="<p>Northwind Mutual SA · Rue Royale 1, 1000 Brussels · RPM Brussels 0123.456.789 · "
                       "FSMA 01234</p>",
                sender_block="Northwind Mutual · Rue Royale 1 · 1000 Brussels",
            )
            layout.full_clean()
            layout.save()
            layout.save_revision(log_action=True).publish()
            layout.refresh_from_db()
            self.note(True, "layout")
        return layout

    def enclosures(self):
        """The enclosure library: approved PDFs the renewal letter sends (terms, always) and
        offers (a direct debit mandate)."""
        from django.core.files.base import ContentFile

        from .register import tiny_pdf

        for key, title, lines in ENCLOSURES:
            if Enclosure.objects.filter(key=key).exists():
                continue
            item = Enclosure(title=title, key=key, description=lines[0],
                             file=ContentFile(tiny_pdf([f"Northwind Mutual - {title}", "", *lines]), name=f"{key}.pdf"))
            item.full_clean()
            item.save()
            item.save_revision(log_action=True).publish()
            self.note(True, f"enclosure {title}")

    def templates(self, dictionary, layout, fragments, departments):
        library = ensure_template_library()
        for spec in template_specs(fragments):
            folder = TemplateFolderPage.objects.child_of(library).filter(title=spec["folder"]).first()
            if folder is None:
                folder = library.add_child(instance=TemplateFolderPage(title=spec["folder"]))
                folder.save_revision().publish()
            if LetterTemplatePage.objects.filter(slug=spec["slug"], locale=Locale.get_default()).exists():
                continue
            page = LetterTemplatePage(
                title=spec["title"], slug=spec["slug"], data_dictionary=dictionary, layout=layout,
                subject=spec["subject"], body=StreamValue(TemplateBodyBlock(), spec["body"]),
                channels=["print", "email", "sms", "portal"], owning_department=departments["customer-service"],
                fallback_channel="print",
                email_subject=spec["email_subject"], email_intro=spec["email_intro"], sms_text=spec["sms_text"],
                description=spec.get("description") or f"{spec['title']} letter, ready for agents.",
            )
            page.enclosures = [TemplateEnclosure(enclosure=Enclosure.objects.get(key=key), inclusion=inclusion)
                               for key, inclusion in spec.get("enclosures", [])]
            folder.add_child(instance=page)
            page.save_revision(log_action=True).publish()
            self.note(True, f"template {spec['title']}")

    def data_rules(self, dictionary):
        """Rules across the data: no payment due before the letter's own date (every letter
        on the Customer dictionary), no payment reminder for nothing (its template)."""
        if not dictionary.rules.exists():
            dictionary.rules.add(DictionaryRule(
                kind=data_rules.COMPARE_LETTER_DATE, field="due_date", operator=data_rules.GT,
                message="The payment due date must be after the letter's date."))
            dictionary.save()
            dictionary.save_revision(log_action=True)
            self.note(True, "data rule: due date after the letter's date")
        reminder = LetterTemplatePage.objects.get(slug="payment-reminder", locale=Locale.get_default())
        if not reminder.data_rules.exists():
            reminder.data_rules.add(TemplateRule(
                kind=data_rules.COMPARE_VALUE, field="balance", operator=data_rules.GT, value="0",
                message="Nothing is due: a payment reminder needs an outstanding balance greater than 0."))
            reminder.save_revision(log_action=True).publish()
            self.note(True, "template rule: payment reminder refuses a balance of 0 or less")

    def pending_review(self, fragments, users):
        key, blocks = PENDING_REVIEW
        fragment = Fragment.objects.get(pk=fragments[key].pk)
        if fragment.workflow_in_progress or fragment.has_unpublished_changes:
            return
        fragment.body = StreamValue(FragmentBodyBlock(), blocks)
        fragment.full_clean()
        fragment.save_revision(user=users["author"], log_action=True)
        fragment.get_workflow().start(fragment, users["author"])
        self.note(True, f"draft of {key} submitted for review")

    def review_states(self, fragments, users):
        """One change approved (live, with its earlier version) and one sent back with a comment,
        both through the review workflow as a reviewer would decide them."""
        for key, html, decision, comment in REVIEWED_CHANGES:
            fragment = Fragment.objects.get(pk=fragments[key].pk)
            if fragment.workflow_states.exists() or fragment.has_unpublished_changes:
                continue
            fragment.body = StreamValue(FragmentBodyBlock(), [rt(html)])
            fragment.full_clean()
            fragment.save_revision(user=users["author"], log_action=True)
            state = fragment.get_workflow().start(fragment, users["author"])
            task_state = state.current_task_state
            task_state.task.specific.on_action(task_state, users["reviewer"], decision, comment=comment)
            self.note(True, f"change of {key} {'approved' if decision == 'approve' else 'sent back'} by the reviewer")
