"""Models, split by concept. Import from here: ``from wagtail_correspondence.models import Fragment``."""

from .attachments import Attachment, AttachmentVersion
from .audit import AuditChainHead, AuditSeal
from .batches import BatchChunk, BatchRow, BatchRowStatus, BatchStatus, LetterBatch
from .categories import Category
from .content import ContentCategory, Fragment
from .data_rules import DictionaryRule, TemplateRule
from .departments import Department
from .dispatch import Dispatch, DispatchStatus, PortalResponse, PrintRun, PrintRunStatus
from .dictionary import DataDictionary, DataField, SampleDataSet
from .layouts import Layout
from .leases import BatchLease, JobOutcome, ScheduledJob
from .enclosures import Enclosure, Inclusion, LetterEnclosurePin, TemplateEnclosure
from .letter_approval import LetterApprovalRule
from .letters import Letter, LetterFragmentPin, LetterStatus
from .numbering import ReferenceSequence, VoidReference
from .register import (
    OPEN_STATUSES,
    Confidentiality,
    Correspondence,
    Direction,
    Kind,
    Note,
    Priority,
    RegisterChannel,
    Source,
    Status,
    TaggedCorrespondence,
    overdue_condition,
)
from .register_counts import DashboardVolumes
from .register_exports import RegisterExport, RegisterExportFormat, RegisterExportStatus
from .routing import Assignment, ConfigurationStamp, RoutingRule
from .retention import RetentionAction, RetentionPolicy, RetentionRecord
from .review import FourEyesReviewTask
from .sla import BusinessCalendar, SlaNotice, SlaNoticeKind, SlaNoticeState, SlaPolicy, SlaUnit
from .templates import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage
from .translation_state import RevisionWording, TranslatedRevision, TranslationCapture

__all__ = [
    "RevisionWording", "TranslatedRevision", "TranslationCapture",
    "OPEN_STATUSES", "Assignment", "Attachment", "AttachmentVersion", "AuditChainHead", "AuditSeal",
    "BusinessCalendar", "Category", "Confidentiality",
    "Correspondence", "Direction", "Kind", "Note", "Priority", "RegisterChannel", "RoutingRule", "SlaNotice",
    "SlaNoticeKind", "SlaNoticeState", "SlaPolicy", "SlaUnit", "Source", "Status", "TaggedCorrespondence",
    "overdue_condition",
    "BatchChunk", "BatchRow", "BatchRowStatus", "BatchStatus", "LetterBatch", "FourEyesReviewTask", "VoidReference",
    "ContentCategory", "DataDictionary", "DataField", "Department", "Dispatch", "DispatchStatus", "Fragment", "Layout", "Letter",
    "Enclosure", "Inclusion", "LetterEnclosurePin", "TemplateEnclosure",
    "LetterApprovalRule", "LetterFragmentPin", "LetterStatus",
    "LetterTemplatePage", "PortalResponse", "PrintRun", "ReferenceSequence", "SampleDataSet",
    "PrintRunStatus",
    "TemplateFolderPage", "TemplateLibraryPage", "RetentionAction", "RetentionPolicy", "RetentionRecord",
    "BatchLease", "JobOutcome", "ScheduledJob", "DictionaryRule", "TemplateRule",
    "RegisterExport", "RegisterExportFormat", "RegisterExportStatus", "DashboardVolumes", "ConfigurationStamp",
]
