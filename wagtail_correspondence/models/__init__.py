"""Models, split by concept. Import from here: ``from wagtail_correspondence.models import Fragment``."""

from .batches import BatchRow, BatchRowStatus, BatchStatus, LetterBatch
from .content import ContentCategory, Fragment
from .departments import Department
from .dispatch import Dispatch, DispatchStatus, PortalResponse, PrintRun
from .dictionary import DataDictionary, DataField, SampleDataSet
from .layouts import Layout
from .letters import Letter, LetterFragmentPin, LetterStatus
from .numbering import ReferenceSequence
from .templates import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage

__all__ = [
    "BatchRow", "BatchRowStatus", "BatchStatus", "LetterBatch",
    "ContentCategory", "DataDictionary", "DataField", "Department", "Dispatch", "DispatchStatus", "Fragment", "Layout", "Letter",
    "LetterFragmentPin", "LetterStatus", "LetterTemplatePage", "PortalResponse", "PrintRun", "ReferenceSequence", "SampleDataSet",
    "TemplateFolderPage", "TemplateLibraryPage",
]
