"""Demo register for the reference site: a business calendar, a slightly larger department
tree with supervisors, a category tree, SLA policies, ordered routing rules and about 200
register entries spread over the last ten weeks.

The entries go through the real services (``register_entry``, ``assign``, ``transition``,
``add_note``, ``generate_letter``), so routing decisions, deadlines, versions and audit log
entries exist as they would in production. Only their timestamps are moved into the past
afterwards with queryset updates (demo data: the services always stamp "now"); the history
and audit log keep the moment the demo ran.

Idempotent: the configuration is looked up by name or code; the entries are skipped when
the first of them (external reference ``DEMO-0001``) exists. Deterministic:
``random.Random(2026)``, relative to the moment the demo runs.
"""

import datetime
import random
import struct
import unicodedata
import zlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from wagtail_correspondence import postal, roles
from wagtail_correspondence.customers import CustomerNotFound, get_customer_source
from wagtail_correspondence.models import (
    AttachmentVersion,
    BusinessCalendar,
    Category,
    Confidentiality,
    Correspondence,
    Department,
    Direction,
    Kind,
    Note,
    Priority,
    RegisterChannel,
    RetentionAction,
    RetentionPolicy,
    RoutingRule,
    SlaPolicy,
    SlaUnit,
    Source,
    Status,
)
from wagtail_correspondence.models.attachments import Attachment
from wagtail_correspondence.services import register as register_service
from wagtail_correspondence.services import retention as retention_service
from wagtail_correspondence.services import sla as sla_service

SEED = 2026
MARKER = "DEMO-0001"
CALENDAR_NAME = "Belgium (Brussels)"
SPAN_DAYS = 70

EXTRA_DEPARTMENTS = [
    ("claims", "Claims", "customer-service"),
    ("litigation", "Litigation", "legal"),
]

# username, first name, last name, role, departments
EXTRA_USERS = [
    ("officer2", "Omar", "Officer", roles.OFFICERS, ["complaints", "claims"]),
]

# code, name, parent code, description
CATEGORIES = [
    ("complaints", "Complaints", None, "Expressions of dissatisfaction about our service or products"),
    ("complaint-delay", "Delay", "complaints", "Something took too long"),
    ("complaint-staff", "Staff behaviour", "complaints", "The way a member of staff behaved"),
    ("complaint-billing", "Billing error", "complaints", "Wrong amounts, double charges"),
    ("billing", "Billing", None, "Premiums, invoices and payments"),
    ("billing-refund", "Refund", "billing", "Money to be paid back to the customer"),
    ("billing-payment-plan", "Payment plan", "billing", "Paying an outstanding balance in instalments"),
    ("billing-direct-debit", "Direct debit", "billing", "Mandates and bank account changes"),
    ("claims", "Claims", None, "Claims on an insurance policy"),
    ("claims-new", "New claim", "claims", "A first declaration of a loss"),
    ("claims-documents", "Claim documents", "claims", "Documents for a claim already open"),
    ("legal", "Legal", None, "Courts, lawyers, regulators"),
    ("legal-subpoena", "Subpoena", "legal", "Orders to produce documents or appear"),
    ("legal-gdpr", "Data request (GDPR)", "legal", "Access, rectification and erasure requests"),
    ("legal-lawyer", "Lawyer's letter", "legal", "Formal letters from lawyers and bailiffs"),
    ("general", "General inquiry", None, "Questions about cover, documents, contact details"),
    ("internal", "Internal", None, "Memos between departments"),
]

# name, category code, priority, response time, unit
SLA_POLICIES = [
    ("Standard response", None, "", 10, SlaUnit.WORKING_DAYS),
    ("High priority", None, Priority.HIGH, 5, SlaUnit.WORKING_DAYS),
    ("Urgent", None, Priority.URGENT, 8, SlaUnit.WORKING_HOURS),
    ("Complaints", "complaints", "", 5, SlaUnit.WORKING_DAYS),
    ("Claims", "claims", "", 7, SlaUnit.WORKING_DAYS),
    ("Legal", "legal", "", 3, SlaUnit.WORKING_DAYS),
    ("GDPR data request", "legal-gdpr", "", 20, SlaUnit.WORKING_DAYS),
]

# Name, category code (None: the default policy), years, then what.
RETENTION_POLICIES = [
    ("Keep 7 years, then anonymise", None, 7, RetentionAction.ANONYMISE),
    ("General inquiries: 2 years, then purge", "general", 2, RetentionAction.PURGE),
    ("Legal matters: 10 years, then anonymise", "legal", 10, RetentionAction.ANONYMISE),
]

# Tried in this order; the first whose conditions all hold decides.
ROUTING_RULES = [
    {"name": "Courts and bailiffs → Litigation (urgent)", "sort_order": 10, "department": "litigation",
     "senders": "@just.example.be, @bailiffs.example.be", "priority": Priority.URGENT, "sla_policy": "Urgent",
     "assignment": "fixed", "assignee": "admin"},
    {"name": "GDPR requests → Legal", "sort_order": 20, "department": "legal",
     "keywords": "gdpr, personal data, right of access, erasure", "sla_policy": "GDPR data request"},
    {"name": "Legal documents → Legal", "sort_order": 30, "department": "legal", "kinds": [Kind.LEGAL]},
    {"name": "Law firms → Legal", "sort_order": 40, "department": "legal", "priority": Priority.HIGH,
     "senders": "@vandamme-law.example, @peeters-advocaten.example, @cabinet-renard.example"},
    {"name": "VIP complaints → Complaints (high)", "sort_order": 50, "department": "complaints",
     "kinds": [Kind.COMPLAINT], "customer_condition": "customer.vip", "priority": Priority.HIGH,
     "assignment": "round_robin"},
    {"name": "Complaints → Complaints team", "sort_order": 60, "department": "complaints",
     "kinds": [Kind.COMPLAINT], "assignment": "round_robin"},
    {"name": "Complaint categories → Complaints team", "sort_order": 70, "department": "complaints",
     "categories": ["complaints"], "assignment": "round_robin"},
    {"name": "Ombudsman and complaint words → Complaints team", "sort_order": 80, "department": "complaints",
     "keywords": "complaint, ombudsman, unacceptable, dissatisfied", "assignment": "round_robin"},
    {"name": "VIP customers → VIP desk (Olga)", "sort_order": 90, "department": "customer-service",
     "customer_condition": "customer.vip", "priority": Priority.HIGH, "assignment": "fixed",
     "assignee": "officer"},
    {"name": "Invoices → Billing", "sort_order": 85, "department": "billing", "kinds": [Kind.INVOICE],
     "assignment": "fixed", "assignee": "agent"},
    {"name": "Billing categories → Billing", "sort_order": 110, "department": "billing", "categories": ["billing"],
     "assignment": "fixed", "assignee": "agent"},
    {"name": "Payment words → Billing", "sort_order": 120, "department": "billing",
     "keywords": "invoice, refund, direct debit, payment plan", "assignment": "fixed", "assignee": "agent"},
    {"name": "Claims → Claims", "sort_order": 115, "department": "claims", "categories": ["claims"]},
    {"name": "Marketing partners → Marketing", "sort_order": 140, "department": "marketing",
     "senders": "@brightside-agency.example, @brussels20km.example"},
    {"name": "Everything else → Customer Service", "sort_order": 1000, "department": "customer-service"},
]

ORGANISATIONS = {
    "ombudsman": ("Ombudsman des Assurances", "complaints@ombudsman-insurance.example",
                  "Square de Meeûs 35\n1000 Brussels"),
    "vandamme": ("Van Damme & Partners", "office@vandamme-law.example", "Avenue Louise 250\n1050 Brussels"),
    "peeters": ("Peeters Advocaten", "info@peeters-advocaten.example", "Meir 12\n2000 Antwerpen"),
    "renard": ("Cabinet Renard", "secretariat@cabinet-renard.example", "Rue Saint-Gilles 5\n4000 Liège"),
    "court": ("Tribunal de première instance de Bruxelles", "greffe@just.example.be",
              "Place Poelaert 1\n1000 Brussels"),
    "bailiff": ("Etude Lemaire, huissiers de justice", "etude.lemaire@bailiffs.example.be",
                "Rue du Midi 80\n1000 Brussels"),
    "garage": ("Garage Dupont SRL", "factures@garage-dupont.example", "Chaussée de Mons 410\n1070 Anderlecht"),
    "expert": ("Expertises Lambert", "rapports@expertises-lambert.example", "Rue de Namur 7\n5000 Namur"),
    "agency": ("Brightside Agency", "hello@brightside-agency.example", "Rue Dansaert 90\n1000 Brussels"),
    "run": ("Brussels 20 km", "partners@brussels20km.example", "Avenue du Port 86\n1000 Brussels"),
}

NOTES = [
    "Called the customer; they will send the missing documents this week.",
    "Checked the payment history: two debits on the same day, the second one is ours to refund.",
    "Expert visit planned; waiting for the report before answering.",
    "Discussed with the supervisor: we offer a goodwill gesture of EUR 50.",
    "Customer prefers to be contacted by phone in the afternoon.",
    "Asked Claims for the file history; answer expected tomorrow.",
    "Draft answer ready, to be checked by Legal before sending.",
    "Duplicate of an email received the day before; kept this one as the main entry.",
]

RESOLUTIONS = [
    "Answered in writing; the customer accepted our explanation.",
    "Refund paid to the customer's account.",
    "Claim settled; payment sent.",
    "Information sent by email.",
    "Documents filed in the claim; no answer needed.",
    "Payment plan agreed in six monthly instalments.",
]

# Template slug → how many recent entries are answered with a generated letter of it.
LETTERS = {"complaint-acknowledgement": 4, "payment-reminder": 3, "policy-renewal": 1}

CLOSE_REASONS = ["Duplicate of an earlier entry", "Resolved by phone; no written answer needed",
                 "Withdrawn by the sender"]


def ascii_text(value):
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")


def tiny_pdf(lines):
    """A small, valid one-page PDF with a few lines of text (a stand-in for a scan)."""
    def escape(text):
        return ascii_text(text).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = ("BT /F1 12 Tf 16 TL 72 770 Td " + " ".join(f"({escape(line)}) '" for line in lines) + " ET").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    content = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(content))
        content += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(content)
    content += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    content += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    content += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return content


def tiny_png(seed, width=64, height=48):
    """A small RGB PNG (a stand-in for a photo of the damage)."""
    rng = random.Random(seed)
    base = [rng.randrange(60, 200) for _channel in range(3)]
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(((base[0] + x) % 256, (base[1] + y) % 256, (base[2] + x + y) % 256))
        rows.append(bytes(row))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


class RegisterDemo:
    def __init__(self, builder, departments, users):
        self.builder = builder
        self.departments = departments
        self.users = users

    def build(self):
        calendar = self.calendar()
        self.department_tree(calendar)
        self.extra_users()
        categories = self.categories()
        policies = self.sla_policies(categories)
        self.routing_rules(categories, policies)
        self.retention_policies(categories)
        if Correspondence.objects.filter(external_reference=MARKER).exists():
            return []
        entries = EntryMaker(self, categories).make()
        self.legal_hold(categories)
        return entries

    # Configuration ------------------------------------------------------------------

    def calendar(self):
        import holidays

        try:
            holidays.country_holidays("BE", subdiv="BRU")
            subdivision = "BRU"
        except NotImplementedError:
            subdivision = ""  # the holidays package has no Brussels region: national holidays only
        calendar = BusinessCalendar.objects.filter(name=CALENDAR_NAME).first()
        if calendar is None:
            # Boxing Day is no public holiday in Belgium, but the office closes.
            calendar = BusinessCalendar(name=CALENDAR_NAME, country="BE", subdivision=subdivision,
                                        time_zone="Europe/Brussels",
                                        extra_closed_days=[f"{year}-12-26" for year in self._years()])
            calendar.full_clean()
            calendar.save()
            self.builder.note(True, f"business calendar {CALENDAR_NAME}")
        return calendar

    @staticmethod
    def _years():
        today = timezone.localdate()
        return sorted({today.year - 1, today.year, today.year + 1})

    def department_tree(self, calendar):
        for code, name, parent_code in EXTRA_DEPARTMENTS:
            department = Department.objects.filter(code=code).first()
            if department is None:
                parent = Department.objects.get(pk=self.departments[parent_code].pk)
                department = parent.add_child(instance=Department(code=code, name=name,
                                                                  email=f"{code}@northwind.example"))
                self.builder.note(True, f"department {name}")
            self.departments[code] = department
        supervisors = {"customer-service": self.users["supervisor"], "legal": self.users["admin"]}
        for code, department in list(self.departments.items()):
            department = Department.objects.get(pk=department.pk)  # fresh paths after add_child
            changed = []
            if department.is_root() and department.calendar_id is None:
                department.calendar = calendar
                changed.append("calendar")
            if code in supervisors and department.supervisor_id is None:
                department.supervisor = supervisors[code]
                changed.append("supervisor")
            if changed:
                department.save(update_fields=changed)
                self.builder.note(True, f"{' and '.join(changed)} of department {department.name}")
            self.departments[code] = department

    def extra_users(self):
        model = get_user_model()
        for username, first, last, role, department_codes in EXTRA_USERS:
            user = model.objects.filter(username=username).first()
            if user is None:
                user = model(username=username, first_name=first, last_name=last, email=f"{username}@example.org")
                user.set_password(self.builder.password)
                user.save()
                self.builder.note(True, f"user {username}")
            user.groups.add(Group.objects.get(name=role))
            for code in department_codes:
                self.departments[code].members.add(user)
            self.users[username] = user

    def categories(self):
        result = {}
        for code, name, parent_code, description in CATEGORIES:
            category = Category.objects.filter(code=code).first()
            if category is None:
                instance = Category(code=code, name=name, description=description)
                if parent_code:
                    category = Category.objects.get(pk=result[parent_code].pk).add_child(instance=instance)
                else:
                    category = Category.add_root(instance=instance)
                self.builder.note(True, f"category {name}")
            result[code] = category
        return {code: Category.objects.get(pk=category.pk) for code, category in result.items()}

    def sla_policies(self, categories):
        result = {}
        for name, category_code, priority, response_time, unit in SLA_POLICIES:
            policy = SlaPolicy.objects.filter(name=name).first()
            if policy is None:
                policy = SlaPolicy(name=name, category=categories[category_code] if category_code else None,
                                   priority=priority, response_time=response_time, unit=unit,
                                   reminder_percentages=[50, 80])
                policy.full_clean()
                policy.save()
                self.builder.note(True, f"SLA policy {name}")
            result[name] = policy
        return result

    def retention_policies(self, categories):
        for name, category_code, years, action in RETENTION_POLICIES:
            if RetentionPolicy.objects.filter(name=name).exists():
                continue
            policy = RetentionPolicy(name=name, category=categories[category_code] if category_code else None,
                                     retain_years=years, action=action)
            policy.full_clean()
            policy.save()
            self.builder.note(True, f"retention policy {name}")

    def legal_hold(self, categories):
        """A lawyer's letter on hold, so that retention shows what a hold keeps."""
        lawyers_letters = Correspondence.objects.filter(category=categories["legal-lawyer"]).order_by("pk")
        # A closed one: retention would otherwise take it once its period is over.
        entry = lawyers_letters.filter(status=Status.CLOSED).first() or lawyers_letters.first()
        supervisor = get_user_model().objects.filter(username="supervisor").first()
        if entry is not None and supervisor is not None:
            retention_service.place_legal_hold(entry, supervisor, "Pending litigation, case 2026/LIT/0042")
            self.builder.note(True, f"legal hold on {entry.reference}")

    def routing_rules(self, categories, policies):
        for spec in ROUTING_RULES:
            if RoutingRule.objects.filter(name=spec["name"]).exists():
                continue
            rule = RoutingRule(
                name=spec["name"], sort_order=spec["sort_order"], direction=Direction.INBOUND,
                kinds=list(spec.get("kinds", [])), senders=spec.get("senders", ""), keywords=spec.get("keywords", ""),
                customer_condition=spec.get("customer_condition", ""),
                department=self.departments[spec["department"]], assignment=spec.get("assignment", "none"),
                assignee=self.users[spec["assignee"]] if spec.get("assignee") else None,
                priority=spec.get("priority", ""),
                sla_policy=policies[spec["sla_policy"]] if spec.get("sla_policy") else None)
            rule.full_clean()
            rule.save()
            rule.categories.set([categories[code] for code in spec.get("categories", [])])
            self.builder.note(True, f"routing rule {spec['name']}")


class EntryMaker:
    """About 200 entries: inbound mail of every kind, internal memos, outbound mail and a few
    threads answered with real generated letters."""

    def __init__(self, demo, categories):
        self.demo = demo
        self.builder = demo.builder
        self.users = demo.users
        self.departments = demo.departments
        self.categories = categories
        self.rng = random.Random(SEED)
        self.now = timezone.now()
        self.tz = timezone.get_current_timezone()
        source = get_customer_source()
        self.customers = []
        for number in range(1001, 1023):
            try:
                self.customers.append(source.get(f"C-{number}"))
            except CustomerNotFound:
                continue
        self.created = []
        self.last_registered = self.now - datetime.timedelta(days=SPAN_DAYS + 1)

    # Helpers ----------------------------------------------------------------------------

    def customer(self):
        return self.rng.choice(self.customers)

    @staticmethod
    def sender(record):
        customer = record["customer"]
        lines = postal.address_lines(customer.get("address") or {})
        return {"sender_name": customer["full_name"], "sender_email": customer.get("email", ""),
                "sender_phone": customer.get("phone", ""), "sender_address": "\n".join(lines),
                "customer_id": customer["id"]}

    @staticmethod
    def organisation(key):
        name, email, address = ORGANISATIONS[key]
        return {"sender_organisation": name, "sender_email": email, "sender_address": address}

    def claim_number(self):
        return f"CLM-{self.now.year}-{self.rng.randint(10000, 99999)}"

    def received_time(self, office_hours):
        """A moment in the last ``SPAN_DAYS`` days, more of them recent; mail that comes by post
        or over the counter arrives on a weekday during office hours."""
        ago = datetime.timedelta(days=SPAN_DAYS * self.rng.random() ** 1.25, minutes=self.rng.randint(20, 600))
        # Returned in UTC: arithmetic on datetimes of one zone is wall-clock arithmetic in
        # Python, which goes wrong across the night the clocks change.
        moment = timezone.localtime(self.now - ago, self.tz)
        if not office_hours:
            return moment.astimezone(datetime.timezone.utc)
        day = moment.date()
        while True:
            while day.weekday() >= 5:
                day -= datetime.timedelta(days=1)
            candidate = datetime.datetime.combine(day, datetime.time(9 + self.rng.randint(0, 6), self.rng.randint(0, 59)),
                                                  tzinfo=self.tz)
            if candidate < self.now - datetime.timedelta(minutes=30):
                return candidate.astimezone(datetime.timezone.utc)
            day -= datetime.timedelta(days=1)

    def between(self, start, end, low=0.1, high=0.9):
        if end <= start:
            return start
        return start + (end - start) * self.rng.uniform(low, high)

    # Streams of mail ----------------------------------------------------------------------

    def complaint(self):
        record = self.customer()
        product = record["policy"]["product"].lower()
        claim = self.claim_number()
        subjects = [
            ("complaint-delay", f"Complaint: claim {claim} still not settled",
             f"I declared the damage to my {product} weeks ago and I still have no answer. This is unacceptable."),
            ("complaint-delay", f"Unacceptable delay in handling my {product} claim",
             "Nobody calls me back and the expert never came. I want a date for the settlement."),
            ("complaint-staff", "Complaint about the attitude of your call-centre agent",
             "The agent I spoke to on Tuesday hung up on me while I was explaining my situation."),
            ("complaint-staff", "Rude treatment at the Brussels counter",
             "I was kept waiting for an hour and then told to come back another day."),
            ("complaint-billing", f"Charged twice for my {product} premium",
             "My account was debited twice this month for the same premium. Please refund the second debit."),
            ("complaint-billing", "Premium increase without notice: formal complaint",
             "My premium went up by 15% without any letter explaining why."),
            ("complaints", f"Dissatisfied with the settlement offer for claim {claim}",
             "The amount offered does not cover the repair invoice I sent you."),
            ("complaint-delay", "No answer to my letter of last month",
             "I wrote to you a month ago about my policy and never received a reply."),
        ]
        category, subject, body = self.rng.choice(subjects)
        channel = self.rng.choices([RegisterChannel.EMAIL, RegisterChannel.POST, RegisterChannel.PORTAL,
                                    RegisterChannel.PHONE], weights=[5, 3, 1, 1])[0]
        spec = {"direction": Direction.INBOUND, "kind": Kind.COMPLAINT, "channel": channel, "subject": subject,
                "body": body, "category": category, **self.sender(record)}
        if self.rng.random() < 0.12:
            spec.update(self.organisation("ombudsman"))
            spec.update(kind=Kind.LETTER, channel=RegisterChannel.EMAIL, tags=["ombudsman"],
                        subject=f"Ombudsman file {self.rng.randint(2000, 2999)}: complaint of {spec['sender_name']}",
                        external_reference=f"OMB/{self.now.year}/{self.rng.randint(100, 999)}",
                        body=f"We received a complaint from {spec['sender_name']} about {subject.lower()}. "
                             "Please send us your position within 30 days.")
            spec.update(sender_name="Mediation service", sender_phone="")
        if channel == RegisterChannel.POST and self.rng.random() < 0.6:
            spec["attachment"] = "pdf"
        spec["letter_template"] = "complaint-acknowledgement"
        return spec

    def billing(self):
        record = self.customer()
        invoice = (record.get("invoices") or [{"number": f"INV-{self.now.year}-1000"}])[0]["number"]
        policy = record["policy"]["number"]
        subjects = [
            ("billing-refund", "Request for refund of overpaid premium",
             "I cancelled my second car in March but I still paid the full premium. Please refund the difference."),
            ("billing-refund", f"Refund after cancellation of policy {policy}",
             "My policy ended last month; when will I get back the premium paid in advance?"),
            ("billing-payment-plan", f"Request for a payment plan, balance of EUR {record['balance']}",
             "I cannot pay the whole amount at once. Could I pay in monthly instalments?"),
            ("billing-direct-debit", "Change of bank account for my direct debit",
             "From next month, please debit my new account BE68 5390 0754 7034."),
            ("billing", f"Question about invoice {invoice}",
             "I do not understand the amount of this invoice; it is higher than last year."),
            ("billing", f"Proof of payment for invoice {invoice}",
             "Please find attached the proof of my transfer. I received a reminder although I paid."),
        ]
        category, subject, body = self.rng.choice(subjects)
        channel = self.rng.choices([RegisterChannel.EMAIL, RegisterChannel.POST, RegisterChannel.PORTAL],
                                   weights=[5, 2, 2])[0]
        spec = {"direction": Direction.INBOUND, "kind": Kind.INQUIRY, "channel": channel, "subject": subject,
                "body": body, "category": category, "letter_template": "payment-reminder", **self.sender(record)}
        if subject.startswith("Proof of payment") or channel == RegisterChannel.POST:
            spec["attachment"] = "pdf"
        return spec

    def supplier_invoice(self):
        record = self.customer()
        claim = self.claim_number()
        spec = {"direction": Direction.INBOUND, "kind": Kind.INVOICE, "channel": RegisterChannel.EMAIL,
                "subject": f"Invoice {self.now.year}-{self.rng.randint(100, 999)} for repairs, claim {claim}",
                "body": f"Repair of the vehicle of {record['customer']['full_name']}. Payment within 30 days.",
                "category": "billing", "customer_id": record["customer"]["id"], "attachment": "pdf",
                "external_reference": claim, **self.organisation("garage")}
        spec["sender_name"] = "Accounts department"
        return spec

    def claim(self):
        record = self.customer()
        city = (record["customer"].get("address") or {}).get("city", "Brussels")
        claim = self.claim_number()
        subjects = [
            ("claims-new", f"New claim: water damage at {city}",
             "A pipe burst in the bathroom last night; the kitchen ceiling is damaged. Photos attached.", "png"),
            ("claims-new", "Car accident on the E40: claim declaration",
             "I was hit from behind at the Groot-Bijgaarden exit. The accident report is attached.", "pdf"),
            ("claims-new", "Travel claim: lost luggage in Lisbon",
             "The airline lost my suitcase on the way back. I enclose the property irregularity report.", "pdf"),
            ("claims-new", f"Storm damage to the roof in {city}",
             "Several tiles came off during the storm; a roofer has covered the hole for now.", "png"),
            ("claims-documents", f"Additional documents for claim {claim}",
             "As requested, here are the repair estimate and the photos of the damage.", "pdf"),
            ("claims-documents", f"Repair invoice for claim {claim}",
             "The repair is finished; please find the invoice so that you can reimburse me.", None),
        ]
        category, subject, body, attachment = self.rng.choice(subjects)
        channel = self.rng.choices([RegisterChannel.EMAIL, RegisterChannel.POST, RegisterChannel.PORTAL,
                                    RegisterChannel.PHONE], weights=[5, 2, 2, 1])[0]
        spec = {"direction": Direction.INBOUND, "kind": Kind.LETTER if channel == RegisterChannel.POST else Kind.EMAIL,
                "channel": channel, "subject": subject, "body": body, "category": category, **self.sender(record)}
        if channel == RegisterChannel.PHONE:
            spec.update(kind=Kind.OTHER, attachment=None)
        elif attachment:
            spec["attachment"] = attachment
        if self.rng.random() < 0.15:
            spec.update(self.organisation("expert"))
            spec.update(sender_name="Jean Lambert", category="claims-documents", attachment="pdf",
                        subject=f"Expert report for claim {claim}", external_reference=claim,
                        body="Our report on the damage, with our estimate of the repair cost, is attached.")
        return spec

    def general(self):
        record = self.customer()
        product = record["policy"]["product"]
        policy = record["policy"]["number"]
        subjects = [
            ("Change of address", "We moved; please use our new address for all correspondence from now on.", False),
            (f"Question about my {product.lower()} cover", "Am I covered when I lend my car to my son?", False),
            ("Request for a copy of my policy documents", "I lost the general conditions; could you send them?",
             False),
            (f"When does my policy {policy} renew?", "I would like to know the renewal date and the new premium.",
             True),
            (f"Add my partner to the {product.lower()} policy", "My partner moved in; can she be insured too?", False),
            ("Certificate of insurance for my landlord", "My landlord asks for proof of my family liability cover.",
             False),
        ]
        subject, body, renewal = self.rng.choice(subjects)
        channel = self.rng.choices([RegisterChannel.EMAIL, RegisterChannel.POST, RegisterChannel.PHONE,
                                    RegisterChannel.COUNTER, RegisterChannel.PORTAL], weights=[5, 2, 2, 1, 2])[0]
        spec = {"direction": Direction.INBOUND, "kind": Kind.INQUIRY, "channel": channel, "subject": subject,
                "body": body, "category": "general", **self.sender(record)}
        if renewal:
            spec["letter_template"] = "policy-renewal"
        if channel == RegisterChannel.POST and self.rng.random() < 0.5:
            spec["attachment"] = "pdf"
        return spec

    def legal(self):
        record = self.customer()
        name = record["customer"]["full_name"]
        choice = self.rng.choices(["gdpr", "erasure", "lawyer", "subpoena", "bailiff"], weights=[4, 2, 8, 3, 5])[0]
        year = self.now.year
        if choice in ("gdpr", "erasure"):
            subject = ("Data subject access request (GDPR)" if choice == "gdpr"
                       else "Request for erasure of my personal data")
            body = ("Under article 15 of the GDPR I ask for a copy of all personal data you hold about me."
                    if choice == "gdpr" else "I ask you to erase my personal data now that my contract has ended.")
            return {"direction": Direction.INBOUND, "kind": Kind.EMAIL, "channel": RegisterChannel.EMAIL,
                    "subject": subject, "body": body, "category": "legal-gdpr", "tags": ["gdpr"],
                    "confidentiality": Confidentiality.CONFIDENTIAL, **self.sender(record)}
        if choice == "lawyer":
            firm = self.rng.choice(["vandamme", "peeters", "renard"])
            spec = {"direction": Direction.INBOUND, "kind": Kind.LETTER,
                    "channel": self.rng.choice([RegisterChannel.EMAIL, RegisterChannel.POST]),
                    "subject": f"Our client {name}: formal notice regarding claim {self.claim_number()}",
                    "body": f"We act for {name}. Unless the claim is settled within 15 days, we will bring the "
                            "matter before the court.",
                    "category": "legal-lawyer", "customer_id": record["customer"]["id"],
                    "confidentiality": Confidentiality.CONFIDENTIAL,
                    "external_reference": f"{year}/{self.rng.randint(1000, 9999)}/{firm[:2].upper()}",
                    "sender_name": self.rng.choice(["Me Anne Van Damme", "Me Koen Peeters", "Me Julie Renard"]),
                    **self.organisation(firm)}
            if spec["channel"] == RegisterChannel.POST:
                spec["attachment"] = "pdf"
            return spec
        if choice == "subpoena":
            return {"direction": Direction.INBOUND, "kind": Kind.LEGAL, "channel": RegisterChannel.POST,
                    "subject": f"Order to produce documents, case {year}/{self.rng.randint(100, 999)}/A",
                    "body": f"The court orders the production of the claim file of {name} within 8 days.",
                    "category": "legal-subpoena", "customer_id": record["customer"]["id"], "attachment": "pdf",
                    "confidentiality": Confidentiality.SECRET, "sender_name": "The clerk of the court",
                    "external_reference": f"RG {year}/{self.rng.randint(1000, 9999)}/A", **self.organisation("court")}
        return {"direction": Direction.INBOUND, "kind": Kind.LEGAL, "channel": RegisterChannel.EMAIL,
                "subject": f"Writ of garnishment: {name}",
                "body": "Please withhold any amount due to the debtor and declare it within 15 days.",
                "category": "legal-lawyer", "customer_id": record["customer"]["id"],
                "confidentiality": Confidentiality.SECRET, "sender_name": "Maître Lemaire",
                "external_reference": f"LEM-{self.rng.randint(10000, 99999)}", **self.organisation("bailiff")}

    def marketing(self):
        key = self.rng.choice(["agency", "run"])
        subject = ("Proposal for the autumn campaign" if key == "agency"
                   else "Sponsorship request: Brussels 20 km")
        return {"direction": Direction.INBOUND, "kind": Kind.EMAIL, "channel": RegisterChannel.EMAIL,
                "subject": subject, "body": "We would love to discuss a partnership with Northwind Mutual.",
                "sender_name": self.rng.choice(["Lena Brightside", "Marc Dewit"]), **self.organisation(key)}

    def memo(self):
        options = [
            ("complaints", "officer", "Handover: open complaints during Omar's leave",
             "List of the complaints that need an answer next week."),
            ("customer-service", "supervisor", "Monthly complaints report",
             "Figures of last month: complaints received, answered in time, escalated."),
            ("billing", "supervisor", "New payment-plan guidelines",
             "From the first of next month, payment plans up to 12 instalments need no approval."),
            ("legal", "admin", "Legal review of the new renewal letter",
             "Please check the wording about the premium freeze for VIP customers."),
            ("legal", "admin", "Reminder: GDPR requests are registered the day they arrive",
             "The one-month deadline starts when the request reaches any of our mailboxes."),
            ("claims", "supervisor", "Claims backlog: weekly status",
             "Open claims by age; the oldest ones are listed with their handler."),
            ("marketing", "admin", "Customer survey results", "Satisfaction went up two points this quarter."),
        ]
        department, author, subject, body = self.rng.choice(options)
        return {"direction": Direction.INTERNAL, "kind": Kind.MEMO, "channel": RegisterChannel.INTERNAL,
                "subject": subject, "body": body, "department": department, "author": author,
                "category": "internal", "sender_name": self.users[author].get_full_name(),
                "sender_organisation": "Northwind Mutual"}

    def outbound(self):
        key = self.rng.choice(["vandamme", "peeters", "ombudsman", "expert", "court"])
        name, email, address = ORGANISATIONS[key]
        subjects = {
            "vandamme": "Our position on the formal notice", "peeters": "Reply to your letter on behalf of your client",
            "ombudsman": "Our position on the complaint file", "expert": "Instructions for an expert visit",
            "court": "Documents produced as ordered",
        }
        department = "litigation" if key == "court" else "legal" if key in ("vandamme", "peeters") else (
            "complaints" if key == "ombudsman" else "claims")
        return {"direction": Direction.OUTBOUND, "kind": Kind.LETTER if key == "court" else Kind.EMAIL,
                "channel": RegisterChannel.POST if key == "court" else RegisterChannel.EMAIL,
                "subject": subjects[key], "body": "Please find our answer attached.", "department": department,
                "author": "admin" if department in ("legal", "litigation") else "supervisor",
                "recipients": [{"name": name, "organisation": name, "email": email, "address": address, "phone": ""}]}

    STREAMS = [("complaint", 40), ("billing", 30), ("supplier_invoice", 6), ("claim", 28), ("general", 26),
               ("legal", 22), ("marketing", 5), ("memo", 17), ("outbound", 16)]

    def specs(self):
        specs = []
        for stream, count in self.STREAMS:
            for _number in range(count):
                spec = getattr(self, stream)()
                spec.setdefault("tags", [])
                office_hours = spec["channel"] in (RegisterChannel.POST, RegisterChannel.COUNTER, RegisterChannel.PHONE,
                                                   RegisterChannel.INTERNAL)
                spec["received"] = self.received_time(office_hours)
                specs.append(spec)
        specs.sort(key=lambda spec: spec["received"])
        next(spec for spec in specs if spec["direction"] == Direction.INBOUND)["external_reference"] = MARKER
        return specs

    # Making the entries ---------------------------------------------------------------------

    def make(self):
        specs = self.specs()
        # Recent customer mail to answer with a letter (two spares of each, in case one is
        # waiting for the customer or routed to someone who cannot write letters).
        wanted = {slug: count + 2 for slug, count in LETTERS.items()}
        for spec in reversed(specs):
            slug = spec.get("letter_template")
            if slug and wanted.get(slug) and self.age_days(spec) < 10 and not spec.get("sender_organisation"):
                spec["answer_with"] = slug
                wanted[slug] -= 1
        letter_candidates = []
        for spec in specs:
            entry = self.register(spec)
            if spec.get("answer_with"):
                letter_candidates.append((spec, entry))
        self.letters(letter_candidates)
        self.due_soon()
        self.builder.note(True, f"{len(self.created)} register entries")
        return self.created

    def age_days(self, spec):
        return (self.now - spec["received"]).total_seconds() / 86400

    def target_status(self, spec):
        age = self.age_days(spec)
        if spec["direction"] == Direction.INTERNAL:
            weights = [0, 1, 1, 0, 3, 6] if age > 10 else [1, 3, 3, 0, 1, 1]
        elif age > 28:
            weights = [1, 1, 3, 3, 8, 84]
        elif age > 10:
            weights = [6, 4, 12, 10, 20, 48]
        elif age > 1:
            weights = [35, 15, 25, 10, 8, 7]
        else:
            weights = [60, 20, 20, 0, 0, 0]  # today's mail: mostly still to be dealt with
        statuses = [Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER,
                    Status.RESPONDED, Status.CLOSED]
        return self.rng.choices(statuses, weights=weights)[0]

    def workers(self, department):
        code = department.code if department else "customer-service"
        return {
            "complaints": ["officer", "officer2"], "billing": ["agent"], "claims": ["officer2", "supervisor"],
            "customer-service": ["officer", "agent", "supervisor"], "legal": ["admin"],
            "litigation": ["admin"], "marketing": ["admin"],
        }.get(code, ["supervisor"])

    def assigner(self, department):
        customer_service = self.departments["customer-service"]
        if department is not None and department.path.startswith(customer_service.path):
            return self.users["supervisor"]
        return self.users["admin"]

    def register(self, spec):
        received = spec["received"]
        attachments = []
        scanned = spec["channel"] == RegisterChannel.POST
        if spec.get("attachment") == "pdf":
            attachments.append(register_service.NewAttachment(
                content=tiny_pdf(["Northwind Mutual - scanned mail", f"Received {received:%d/%m/%Y}",
                                  spec["subject"][:80], spec.get("sender_name", "")]),
                filename="scan.pdf" if scanned else "documents.pdf",
                title="Scan of the letter" if scanned else "Documents"))
        elif spec.get("attachment") == "png":
            attachments.append(register_service.NewAttachment(
                content=tiny_png(len(self.created)), filename="photo.png", title="Photo of the damage"))
        fields = {name: spec[name] for name in (
            "kind", "channel", "subject", "body", "sender_name", "sender_organisation", "sender_address",
            "sender_email", "sender_phone", "customer_id", "external_reference", "confidentiality", "priority",
            "recipients") if spec.get(name)}
        if spec.get("category"):
            fields["category"] = self.categories[spec["category"]]
        if spec.get("department"):
            fields["department"] = self.departments[spec["department"]]
        tags = list(spec["tags"])
        if spec.get("customer_id") and any(record["customer"]["id"] == spec["customer_id"]
                                           and record["customer"].get("vip") for record in self.customers):
            tags.append("vip")
        direction = spec["direction"]
        if direction == Direction.OUTBOUND:
            author = self.users[spec["author"]]
            entry = register_service.register_entry(
                author, direction=direction, attachments=attachments, tags=tags, sent_at=received,
                status=Status.CLOSED, closed_at=received, assignee=author, **fields)
            self.backdate(entry, received, spec)
            self.created.append(entry.pk)
            return entry
        if direction == Direction.INTERNAL:
            author = self.users[spec["author"]]
            entry = register_service.register_entry(author, direction=direction, attachments=attachments, tags=tags,
                                                    received_at=received, **fields)
        else:
            # Email arrives through the mailbox and portal messages through the API; post, phone
            # calls and visits are registered by hand.
            automatic = {RegisterChannel.EMAIL: Source.MAILBOX, RegisterChannel.PORTAL: Source.API}
            mailbox = spec["channel"] in automatic
            entry = register_service.register_entry(
                None if mailbox else self.users["admin"], direction=direction,
                source=automatic.get(spec["channel"], Source.ADMIN), check_permission=not mailbox,
                attachments=attachments, tags=tags, received_at=received, **fields)
        self.created.append(entry.pk)
        target = Status.IN_PROGRESS if spec.get("answer_with") else self.target_status(spec)
        if not entry.assignee_id and self.age_days(spec) < 5 and self.rng.random() < 0.7:
            target = Status.REGISTERED  # the department's queue: nobody has taken it yet
        entry = self.work(entry, target)
        self.backdate(entry, received, spec)
        return entry

    def work(self, entry, target):
        """Move the entry to ``target`` through the status machine, as its people would."""
        if target == Status.REGISTERED:
            return entry
        if not entry.assignee_id:
            worker = self.users[self.rng.choice(self.workers(entry.department))]
            entry = register_service.assign(self.assigner(entry.department), entry, assignee=worker)
        if (target in (Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER)
                and entry.assignee_id == self.users["officer2"].pk and entry.department.code == "complaints"
                and self.rng.random() < 0.6):
            entry = register_service.assign(self.users["supervisor"], entry, assignee=self.users["officer"],
                                            reason="Omar is on leave: handed over to Olga")
        worker = entry.assignee
        if target == Status.ASSIGNED:
            return entry
        if target == Status.CLOSED and self.rng.random() < 0.15:
            return register_service.transition(worker, entry, Status.CLOSED, self.rng.choice(CLOSE_REASONS))
        entry = register_service.transition(worker, entry, "start")
        if self.rng.random() < 0.25:
            register_service.add_note(worker, entry, self.rng.choice(NOTES))
        if target == Status.IN_PROGRESS:
            return entry
        if target == Status.AWAITING_CUSTOMER:
            return register_service.transition(worker, entry, "await_customer")
        entry = register_service.transition(worker, entry, "respond")
        if target == Status.RESPONDED:
            return entry
        entry = register_service.transition(worker, entry, "close")
        if self.rng.random() < 0.04:
            # The customer disputed the answer: a second deadline cycle.
            entry = register_service.transition(worker, entry, "reopen", "The customer disputes our answer")
            entry = register_service.transition(worker, entry, "start")
        return entry

    def backdate(self, entry, received, spec):
        """Move the entry's own timestamps into the past (demo data only: the services stamp
        "now"; history and the audit log keep the moment the demo ran)."""
        entry = Correspondence.objects.get(pk=entry.pk)
        delay = datetime.timedelta(minutes=self.rng.randint(2, 25) if spec["channel"] in (
            RegisterChannel.EMAIL, RegisterChannel.PORTAL) else self.rng.randint(10, 90))
        # In the order of the reference numbers, which were drawn in the order received.
        registered = max(received + delay, self.last_registered + datetime.timedelta(seconds=self.rng.randint(5, 90)))
        registered = min(registered, self.now - datetime.timedelta(minutes=1))
        self.last_registered = registered
        changes = {"registered_at": registered}
        if entry.direction == Direction.OUTBOUND:
            changes.update(closed_at=registered)
        elif entry.sla_cycle == 0:
            deadline = min(entry.due_at or self.now, self.now)
            if entry.responded_at:
                # Most answers go out in time, some late.
                end = self.now if self.rng.random() < 0.15 else deadline
                changes["responded_at"] = self.between(registered, end, 0.3, 0.95)
            if entry.closed_at:
                start = changes.get("responded_at", registered)
                changes["closed_at"] = self.between(start, min(start + datetime.timedelta(days=3), self.now), 0, 1)
                changes["resolution"] = self.rng.choice(RESOLUTIONS) if entry.responded_at else ""
            if entry.sla_paused_at:
                changes["sla_paused_at"] = self.between(registered, deadline, 0.2, 0.8)
        Correspondence.objects.filter(pk=entry.pk).update(**changes)
        moment = changes.get("responded_at") or changes.get("sla_paused_at") or self.between(registered, self.now)
        Note.objects.filter(correspondence=entry).update(created_at=moment)
        Attachment.objects.filter(correspondence=entry).update(created_at=registered)
        AttachmentVersion.objects.filter(attachment__correspondence=entry).update(uploaded_at=registered)

    # Threads with letters ---------------------------------------------------------------------

    def letters(self, candidates):
        """Six to ten recent entries answered with real generated letters; two customers write
        back in the thread."""
        from wagtail_correspondence.services.letters import (
            LetterError,
            LetterRequest,
            available_templates,
            generate_letter,
        )

        templates = {page.slug: page for page in available_templates()}
        answered = []
        wanted = dict(LETTERS)
        for spec, entry in candidates:
            slug = spec["answer_with"]
            if wanted.get(slug, 0) <= 0 or slug not in templates or not entry.customer_id:
                continue
            entry = Correspondence.objects.get(pk=entry.pk)
            if not entry.is_open or entry.status == Status.AWAITING_CUSTOMER:
                continue
            user = entry.assignee if entry.assignee_id and entry.assignee.has_perm(
                "wagtail_correspondence.add_letter") else self.users["agent" if slug == "payment-reminder" else "officer"]
            record = get_customer_source().get(entry.customer_id)
            preferred = record["customer"].get("preferred_channel")
            channel = preferred if preferred in ("email", "portal") else "print"
            slots = {}
            if slug == "complaint-acknowledgement":
                # The entry's reference, date and subject reach the letter as in_reply_to.
                slots = {"case_summary": entry.body[:900] or entry.subject}
            elif self.rng.random() < 0.5:
                slots = {"personal_note": "Following your message, here is the information you asked for."}
            try:
                letter = generate_letter(user, LetterRequest(template=templates[slug], customer_id=entry.customer_id,
                                                             channel=channel, in_reply_to=entry, slots=slots))
            except LetterError:
                continue  # refused by a data rule (a payment reminder to a customer who owes nothing)
            self.created.append(letter.register_entry.pk)
            wanted[slug] -= 1
            answered.append((entry, letter))
        for entry, _letter in answered[::3]:
            # Thread complete: the answered entry is closed.
            register_service.transition(entry.assignee or self.users["officer"], Correspondence.objects.get(
                pk=entry.pk), "close")
        if answered:
            entry, letter = answered[-1]
            parent = Correspondence.objects.get(letter=letter)
            reply = register_service.register_entry(
                None, direction=Direction.INBOUND, source=Source.MAILBOX, check_permission=False,
                in_reply_to=parent, kind=Kind.EMAIL, channel=RegisterChannel.EMAIL,
                subject=f"Re: {letter.subject}"[:500], body="Thank you for your letter. I still have a question "
                "about the amounts: could someone call me?", **{
                    key: value for key, value in self.sender(get_customer_source().get(entry.customer_id)).items()
                    if key != "sender_address"})
            self.created.append(reply.pk)
        self.customer_answers()

    def customer_answers(self):
        """A customer answers an entry that waits for them: it is back in progress."""
        waiting = (Correspondence.objects.filter(status=Status.AWAITING_CUSTOMER, direction=Direction.INBOUND,
                                                 sender_organisation="").exclude(customer_id="")
                   .order_by("-received_at").first())
        if waiting is None:
            return
        record = get_customer_source().get(waiting.customer_id)
        reply = register_service.register_entry(
            None, direction=Direction.INBOUND, source=Source.MAILBOX, check_permission=False, in_reply_to=waiting,
            kind=Kind.EMAIL, channel=RegisterChannel.EMAIL, subject=f"Re: {waiting.subject}"[:500],
            body="Here are the documents you asked for.", attachments=[register_service.NewAttachment(
                content=tiny_pdf(["Documents as requested", waiting.reference]), filename="documents.pdf",
                title="Documents")],
            **{key: value for key, value in self.sender(record).items() if key != "sender_address"})
        self.created.append(reply.pk)

    # Due soon ----------------------------------------------------------------------------------

    def due_soon(self):
        """Deadlines within the next day for the officer and the supervisor, so that their
        work lists show what is coming (set as by hand, with ``sla.set_deadline``)."""
        for username, count in (("officer", 4), ("supervisor", 3)):
            user = self.users[username]
            entries = list(Correspondence.objects.open().filter(
                assignee=user, sla_paused_at__isnull=True, direction=Direction.INBOUND).order_by(
                "-received_at")[:count])
            if len(entries) < count:
                # Take over some of Customer Service's mail: unassigned first (leaving some in
                # the queue), then from colleagues.
                pool = list(Correspondence.objects.open().filter(
                    direction=Direction.INBOUND, sla_paused_at__isnull=True,
                    department__path__startswith=self.departments["customer-service"].path).exclude(
                    assignee=user).order_by("-received_at"))
                unassigned = [entry for entry in pool if entry.status == Status.REGISTERED]
                taken = unassigned[:max(0, len(unassigned) - 3)] + [
                    entry for entry in pool if entry.status != Status.REGISTERED]
                for entry in taken[:count - len(entries)]:
                    entries.append(register_service.assign(self.users["supervisor"], entry, assignee=user,
                                                           reason="Taken over: due soon"))
            for entry in entries:
                due = self.now + datetime.timedelta(hours=self.rng.uniform(2, 20))
                sla_service.set_deadline(entry, due, now=entry.received_at or entry.registered_at)
                Correspondence.objects.filter(pk=entry.pk).update(
                    due_at=entry.due_at, sla_started_at=entry.sla_started_at,
                    sla_budget_seconds=entry.sla_budget_seconds)
