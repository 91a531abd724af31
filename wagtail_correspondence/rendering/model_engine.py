"""What the models' methods may ask of the rendering engine (``models.engine``): checks on
save and the bodies of previews. Connected from ``AppConfig.ready``."""

from types import SimpleNamespace

from ..models import engine
from .assembly import render_template_preview
from .document import render_letter_document
from .fragments import check_fragment_body, render_fragment_body
from .sandbox import MergeError, parse_expression
from .templates import check_letter_template

ENGINE = SimpleNamespace(
    MergeError=MergeError,
    check_fragment_body=check_fragment_body,
    render_fragment_body=render_fragment_body,
    check_letter_template=check_letter_template,
    render_template_preview=render_template_preview,
    render_letter_document=render_letter_document,
    parse_expression=parse_expression,
)


def connect():
    engine.connect(ENGINE)
