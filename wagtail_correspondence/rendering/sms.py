"""SMS text: length and segment count under GSM 03.38 (GSM-7) or UCS-2.

A message that fits the GSM-7 alphabet costs one septet per character, two for the
characters of the extension table (``€ [ ] { } \\ ~ ^ |`` and form feed). One segment holds
160 septets; a concatenated message carries a header, leaving 153 per segment, and an escape
pair never straddles two segments. Any other character switches the whole message to UCS-2:
70 UTF-16 code units in one segment, 67 per segment when concatenated. The tables are part of
the GSM standard and small enough to keep here rather than depend on a codec package.
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: str
    length: int  # characters as the customer sees them
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    def as_dict(self):
        return {"text": self.text, "encoding": self.encoding, "length": self.length, "units": self.units,
                "segments": self.segments}


def is_gsm7(text):
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _pack(costs, single, multi):
    """Segments needed for items of the given costs: one segment if the total fits
    ``single``, else segments of ``multi`` that never split an item."""
    total = sum(costs)
    if total <= single:
        return 1 if total else 0
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return segments


def measure_sms(text):
    text = text or ""
    if is_gsm7(text):
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SmsText(text, GSM7, len(text), sum(costs), _pack(costs, 160, 153))
    # A character outside the Basic Multilingual Plane (most emoji) takes two code units,
    # which must stay in the same segment.
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SmsText(text, UCS2, len(text), sum(costs), _pack(costs, 70, 67))


# The no-break spaces locales put in amounts and dates ("929,75 €" in French, "€ 929,75" in
# Dutch) are not in the GSM-7 alphabet: one would make the whole message UCS-2, at 70
# characters a segment instead of 160. A phone does not break an SMS line there anyway.
NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " "})


def normalise_sms(text):
    """SMS text as sent: no-break spaces made plain, lines trimmed, runs of blank lines
    collapsed, no outer whitespace."""
    lines = [line.strip() for line in (text or "").translate(NO_BREAK_SPACES).replace("\r\n", "\n").split("\n")]
    result = []
    for line in lines:
        if line or (result and result[-1]):
            result.append(line)
    return "\n".join(result).strip()
