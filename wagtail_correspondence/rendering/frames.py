"""Frames: the print document and the email around a letter's body, rendered once.

The Django templates around a body (``letter/document.html``, ``letter/email.html``) depend
on the layout, the language and a few yes/no questions (is there a subject, a reference, an
introduction); everything else is a value of the letter. A frame is such a template rendered
once with a marker in place of each value, split at the markers; per letter the values,
escaped as Django escapes them, are put in. The filled frame is byte for byte what rendering
the template with the letter's values gives (``tests/test_plans.py``).

The email frame also has its stylesheet inlined once (mail clients drop ``<style>``). The
body inside it gets the same inline styles by tag — the body's markup is only what the
allow-list and the blocks write, and merged values are escaped, so a tag in the body is
always one the content wrote.
"""

import re

import css_inline
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: no text of a layout holds them
_MARKERS = re.compile(f"{_OPEN}([a-z_0-9]+){_CLOSE}")
_FRAMES_ATTRIBUTE = "_correspondence_frames"
_NO_LAYOUT_FRAMES = {}


def marker(name):
    return f"{_OPEN}{name}{_CLOSE}"


class Frame:
    def __init__(self, parts):
        self.parts = parts

    @classmethod
    def from_rendered(cls, rendered, names):
        """None when the rendered template does not hold exactly the markers it was given."""
        parts = _MARKERS.split(rendered)
        found = parts[1::2]
        if set(found) - set(names) or _OPEN in "".join(parts[::2]) or _CLOSE in "".join(parts[::2]):
            return None
        return cls(parts)

    def fill(self, values):
        parts = self.parts[:]
        for index in range(1, len(parts), 2):
            parts[index] = values[parts[index]]
        return "".join(parts)


def text(value):
    """A value as Django writes ``{{ value }}``: escaped unless it is markup already."""
    return str(conditional_escape(value))


def cached_frame(layout, key, build):
    """The frame for ``key``, kept with the layout (a revision's layout object is rebuilt
    once and kept), built on first use; None when it cannot be built (render directly)."""
    frames = _NO_LAYOUT_FRAMES if layout is None else getattr(layout, _FRAMES_ATTRIBUTE, None)
    if frames is None:
        frames = {}
        try:
            setattr(layout, _FRAMES_ATTRIBUTE, frames)
        except AttributeError:
            return build()
    if key not in frames:
        if len(frames) > 256:
            frames.clear()
        frames[key] = build()
    return frames[key]


# The email -----------------------------------------------------------------------------

EMAIL_TEMPLATE = "wagtail_correspondence/letter/email.html"
_EMAIL_NAMES = ("subject", "body", "intro", "reference")
# The body's own tags that the email stylesheet styles, and a sample of each to read the
# inlined style from.
_STYLED_TAGS = {"table": "<table></table>", "th": "<table><tr><th>x</th></tr></table>",
                "td": "<table><tr><td>x</td></tr></table>", "figure": "<figure></figure>"}
_STYLED_CLASSES = {"page-break": '<div class="page-break"></div>',
                   "missing-field": '<mark class="missing-field">x</mark>'}


def inline_css(html):
    # Mail clients drop <style> blocks; remote stylesheets are never fetched.
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False).inline(html)


def _inlined_style(context, sample, tag, css_class=None):
    inlined = inline_css(render_to_string(EMAIL_TEMPLATE, {**context, "body_html": mark_safe(sample)}))
    body = inlined[inlined.index('class="letter-body"'):]
    pattern = rf'<{tag}\b[^>]*?' + (rf'class="{css_class}"[^>]*?' if css_class else "") + r'style="([^"]*)"'
    match = re.search(pattern, body)
    return match.group(1) if match else ""


class EmailFrame:
    """The inlined email with markers, and the inline style of each tag the body may hold:
    by tag (``table``), or by tag and class (``div`` of class ``page-break``)."""

    def __init__(self, frame, tag_styles, class_styles):
        self.frame = frame
        self.tag_styles = {tag: style for tag, style in tag_styles.items() if style}
        self.class_styles = {tag: [(css_class, style) for css_class, style in pairs if style]
                             for tag, pairs in class_styles.items()}
        tags = sorted(set(self.tag_styles) | {tag for tag, pairs in self.class_styles.items() if pairs})
        self._tags = re.compile(rf"<({'|'.join(tags)})(?=[\s>])([^>]*)>") if tags else None

    def _styled(self, match):
        tag, attributes = match.group(1), match.group(2)
        if "style=" in attributes:
            return match.group(0)
        style = self.tag_styles.get(tag, "")
        for css_class, class_style in self.class_styles.get(tag, ()):
            if re.search(rf'class="(?:[^"]* )?{css_class}(?: [^"]*)?"', attributes):
                style = f"{style};{class_style}" if style else class_style
        return f'<{tag}{attributes} style="{style}">' if style else match.group(0)

    def style_body(self, body_html):
        """The body's tags with the inline styles the stylesheet gives them."""
        body_html = str(body_html)
        return self._tags.sub(self._styled, body_html) if self._tags is not None else body_html


def email_frame(layout, context):
    """The email around a body, its stylesheet inlined; None when it cannot be framed."""
    def build():
        markers = {"subject": marker("subject"), "body_html": marker("body"),
                   "intro_html": marker("intro") if context["intro_html"] else "",
                   "reference": marker("reference") if context["reference"] else ""}
        frame = Frame.from_rendered(inline_css(render_to_string(EMAIL_TEMPLATE, {**context, **markers})), _EMAIL_NAMES)
        if frame is None:
            return None
        tag_styles = {tag: _inlined_style(context, sample, tag) for tag, sample in _STYLED_TAGS.items()}
        class_styles = {}
        for css_class, sample in _STYLED_CLASSES.items():
            tag = sample[1:sample.index(" ")]
            class_styles.setdefault(tag, []).append((css_class, _inlined_style(context, sample, tag, css_class)))
        return EmailFrame(frame, tag_styles, class_styles)

    key = ("email", context["language"], bool(context["intro_html"]), bool(context["reference"]),
           str(context["reference_label"]), str(context["footer_html"]))
    return cached_frame(layout, key, build)


def render_email(layout, context):
    """The email's HTML, inlined: from the frame, or rendered and inlined whole."""
    framed = email_frame(layout, context)
    if framed is None:
        return inline_css(render_to_string(EMAIL_TEMPLATE, context))
    return framed.frame.fill({
        "subject": text(context["subject"]), "body": framed.style_body(context["body_html"]),
        "intro": text(context["intro_html"]), "reference": text(context["reference"])})


__all__ = ["Frame", "marker", "text", "cached_frame", "email_frame", "render_email", "inline_css"]
