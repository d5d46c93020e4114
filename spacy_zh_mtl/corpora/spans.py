"""Character-offset entity spans: validation, overlaps, label maps, Docs.

Every NER reader in `spacy_zh_mtl.corpora` ends in character spans
`(start, end_exclusive, label)` over the sentence text (Python str offsets,
that is code points). This module is the one place that checks them and turns
them into a Doc, so each reader counts the same problems the same way:

- a span with an empty label, a non-integer offset, start >= end or an offset
  outside the text;
- an offset that splits a combining sequence (the character at the offset is a
  combining mark, a variation selector, a zero-width joiner, an emoji
  modifier or tag, or the span ends on a zero-width joiner);
- offsets counted in UTF-16 code units (JavaScript tools such as Label Studio
  count an emoji as 2): `utf16_to_codepoints` converts them, and an offset that
  lands inside a surrogate pair is a problem of its own;
- overlapping or nested spans: `resolve_overlaps` keeps the longest (the
  earlier one on a tie) and counts the other, or stops (overlap="stop");
- labels mapped by a label map (old -> new, None drops the entity, counted);
- spaces around a label (" LOC ") or at the edges of a span are trimmed and
  each trim counted, so that " LOC " is not a label of its own; a span of
  spaces only is a problem.
"""
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, List, Literal, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..types import CharSpan
from .conversion_report import ConversionReport, OnError, quote, where

Overlap = Literal["longest", "stop"]
OVERLAP_VALUES = ("longest", "stop")
LABEL_TRIMMED = "spaces around a label trimmed"
EDGE_TRIMMED = "spaces at the edge of a span trimmed"
LabelMap = Optional[Dict[str, Optional[str]]]
# how span offsets are counted: Python code points, UTF-16 code units, or
# detected per record ("auto": UTF-16 when the code-point reading does not fit)
OffsetUnits = Literal["auto", "codepoints", "utf16"]
OFFSET_UNITS = ("auto", "codepoints", "utf16")

ZWJ = "\u200d"


class OpenLabelMap(dict):
    """A label map read from a file: labels it does not name stay as they are."""


def extends_previous(char: str) -> bool:
    """True for a character that belongs to the grapheme before it: combining
    marks, variation selectors, the zero-width joiner, emoji skin-tone
    modifiers and emoji tag characters.
    """
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char == ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def splits_sequence(text: str, offset: int) -> bool:
    """True if a span boundary at `offset` cuts a combining sequence."""
    if offset <= 0 or offset >= len(text):
        return False
    return extends_previous(text[offset]) or text[offset - 1] == ZWJ


def span_problem(text: str, start: object, end: object, label: object) -> Optional[str]:
    """Return why a (start, end_exclusive, label) span cannot be used, or None."""
    if not isinstance(label, str) or not label.strip():
        return f"empty label in span [{start}, {end})"
    if type(start) is not int or type(end) is not int:
        return f"{label} offsets [{start!r}, {end!r}) are not integers"
    if not 0 <= start < end <= len(text):
        return f"{label} offset [{start}, {end}) outside the text (length {len(text)}) or empty"
    for offset in (start, end):
        if splits_sequence(text, offset):
            return (
                f"{label} offset {offset} of [{start}, {end}) splits a combining sequence "
                f"({text[max(0, offset - 1):offset + 1]!r})"
            )
    return None


def has_astral(text: str) -> bool:
    """True if the text has characters outside the BMP (2 UTF-16 units each)."""
    return any(ord(c) > 0xFFFF for c in text)


def utf16_to_codepoints(text: str) -> Dict[int, int]:
    """Map every UTF-16 offset that starts a character (and the end) to its
    code-point offset. Offsets inside a surrogate pair are missing.
    """
    mapping = {}
    units = 0
    for i, char in enumerate(text):
        mapping[units] = i
        units += 2 if ord(char) > 0xFFFF else 1
    mapping[units] = len(text)
    return mapping


RawSpan = Tuple[object, object, object, Optional[str]]


def _fits(text: str, spans: Sequence[RawSpan]) -> bool:
    """All spans are inside the text and match their mention where one is given."""
    for start, end, _, mention in spans:
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(text):
            return False
        if mention is not None and text[start:end] != mention:
            return False
    return True


def to_codepoints(
    text: str,
    spans: Sequence[RawSpan],
    units: OffsetUnits,
    report: ConversionReport,
    location: str,
) -> Tuple[List[RawSpan], List[str]]:
    """Read span offsets as code points, converting UTF-16 offsets.

    units="auto" reads the offsets as code points unless the text has
    characters outside the BMP and the code-point reading does not fit (an
    offset past the end, or a mention that differs) while the UTF-16 one does;
    each converted record is counted.
    RETURNS: The spans in code points, and problems (offsets inside a
        surrogate pair) of spans that were left out.
    """
    if units == "codepoints" or not has_astral(text):
        return list(spans), []
    if units == "auto":
        if _fits(text, spans):
            return list(spans), []
        utf16 = utf16_to_codepoints(text)
        converted = [
            (utf16.get(s, -1) if type(s) is int else s, utf16.get(e, -1) if type(e) is int else e, label, m)
            for s, e, label, m in spans
        ]
        if not _fits(text, converted):
            return list(spans), []  # neither reading fits: span_problem reports it
        report.repair("UTF-16 offsets (emoji counted as 2) read as code points", location)
    utf16 = utf16_to_codepoints(text)
    out: List[RawSpan] = []
    problems = []
    for start, end, label, mention in spans:
        if type(start) is int and type(end) is int:
            inside = [o for o in (start, end) if o not in utf16 and 0 < o < max(utf16)]
            if inside:
                problems.append(f"{label} UTF-16 offset {inside[0]} of [{start}, {end}) is inside a surrogate pair")
                continue
            start, end = utf16.get(start, start), utf16.get(end, end)
        out.append((start, end, label, mention))
    return out, problems


def check_spans(
    text: str,
    spans: Sequence[RawSpan],
    report: ConversionReport,
    path: Union[str, Path],
    line: Optional[int],
    *,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
    units: OffsetUnits = "auto",
    inclusive: bool = False,
    item: str = "entity",
) -> Optional[List[CharSpan]]:
    """Validate raw spans (start, end_exclusive, label, mention or None) of one
    record and return the usable ones, sorted and without overlaps.

    A span that cannot be used stops the conversion with "file:line: reason"
    (on_error="stop") or is dropped and counted (on_error="skip").
    inclusive: Show end offsets as inclusive in messages (CLUENER).
    item: "entity" drops a bad span; "sentence" skips the whole record
        (returns None) on the first bad span.
    """
    location = where(path, line)
    report.count("entities read", len(spans))
    spans, problems = to_codepoints(text, spans, units, report, location)
    good: List[CharSpan] = []
    for start, end, label, mention in spans:
        problem = span_problem(text, start, end, label)
        # span_problem checked the types; the isinstance checks tell the type checker
        if problem is None and isinstance(start, int) and isinstance(end, int) and isinstance(label, str):
            problem = _mention_problem(text, (start, end, label), mention, inclusive)
            trimmed = trim_span(text, (start, end, label), report, location) if problem is None else None
            if trimmed is not None:
                good.append(trimmed)
            elif problem is None:
                problem = f"{label} [{start}, {end}) covers only spaces"
        if problem is not None:
            problems.append(problem)
    if problems and item == "sentence":
        report.error(on_error, path, line, problems[0])
        report.count("entities dropped", len(spans))
        return None
    for problem in problems:
        report.error(on_error, path, line, problem, item="entity")
        report.count("entities dropped")
    return resolve_overlaps(good, report, path, line, overlap, inclusive=inclusive)


def _mention_problem(text: str, span: CharSpan, mention: Optional[str], inclusive: bool) -> Optional[str]:
    start, end, label = span
    if mention is None or text[start:end] == mention:
        return None
    shown = f"[{start}, {end - 1}] (inclusive end)" if inclusive else f"[{start}, {end})"
    return f"{label} {quote(mention)} at {shown} does not match the text {quote(text[start:end])}"


def trim_span(text: str, span: CharSpan, report: ConversionReport, location: str) -> Optional[CharSpan]:
    """Trim spaces around the label and at the edges of a span, counting each trim.

    RETURNS: The trimmed span, or None if it covers only spaces.
    """
    start, end, label = span
    if label != label.strip():
        label = label.strip()
        report.repair(LABEL_TRIMMED, location)
    new_start, new_end = start, end
    while new_start < new_end and text[new_start].isspace():
        new_start += 1
    while new_end > new_start and text[new_end - 1].isspace():
        new_end -= 1
    if new_start == new_end:
        return None
    if (new_start, new_end) != (start, end):
        report.repair(EDGE_TRIMMED, location)
    if (new_start, new_end, label) != span:
        report.count("entities repaired")
    return new_start, new_end, label


def resolve_overlaps(
    spans: List[CharSpan],
    report: ConversionReport,
    path: Union[str, Path],
    line: Optional[int],
    overlap: Overlap,
    *,
    inclusive: bool = True,
) -> List[CharSpan]:
    """Keep the longest of overlapping spans; count (or stop on) the others."""
    if overlap not in OVERLAP_VALUES:
        raise ValueError(f"overlap must be one of {OVERLAP_VALUES}, not {overlap!r}")

    def show(span: CharSpan) -> str:
        return f"{span[2]} [{span[0]}, {span[1] - 1}]" if inclusive else f"{span[2]} [{span[0]}, {span[1]})"

    kept: List[CharSpan] = []
    # longest first, then earliest
    for span in sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        clash = next((k for k in kept if span[0] < k[1] and k[0] < span[1]), None)
        if clash is None:
            kept.append(span)
            continue
        detail = f"{show(span)} overlaps {show(clash)}" + (" (inclusive ends)" if inclusive else "")
        if overlap == "stop":
            report.error("stop", path, line, f"overlapping spans: {detail}")
        report.skip("overlapping span dropped (the longer one is kept)", f"{where(path, line)} {detail}")
        report.count("entities dropped")
    n_dupes = len(spans) - len(set(spans))
    if n_dupes:
        report.repair("duplicate span listed twice read once", where(path, line), n=n_dupes)
        report.count("entities repaired", n_dupes)
    return sorted(kept)


def map_labels(
    spans: Iterable[CharSpan], label_map: LabelMap, report: ConversionReport, location: str
) -> List[CharSpan]:
    """Relabel spans; labels mapped to None are removed and counted.

    RAISES (ValueError): A label is missing from a closed (named) label map.
    """
    spans = list(spans)
    if label_map is None:
        return spans
    if not isinstance(label_map, OpenLabelMap):
        unknown = sorted({label for _, _, label in spans if label not in label_map})
        if unknown:
            raise ValueError(f"labels {unknown} are not in the label map {sorted(label_map)}")
    out = []
    for start, end, label in spans:
        new = label_map.get(label, label)
        if new is None:
            report.skip(f"entity removed by the label map: {label}", location)
            report.count("entities dropped")
            continue
        out.append((start, end, new))
    return out


def char_doc(vocab: Vocab, chars: List[str], spans: Optional[List[CharSpan]] = None) -> Doc:
    """Make a one-token-per-character Doc with NER annotation on every token.

    spans: (start, end, label) character offsets (end exclusive).
    """
    doc = Doc(vocab, words=chars, spaces=[False] * len(chars))
    doc.set_ents([Span(doc, s, e, label=label) for s, e, label in spans or []], default="outside")
    return doc


def spans_to_doc(
    vocab: Vocab,
    text: str,
    spans: List[CharSpan],
    report: ConversionReport,
    path: Union[str, Path],
    line: Optional[int],
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
) -> Optional[Doc]:
    """Map labels, make the one-token-per-character Doc and count it.

    RETURNS: The Doc, or None when the sentence was skipped (on_error="skip").
    """
    try:
        spans = map_labels(spans, label_map, report, where(path, line))
    except ValueError as err:
        report.error(on_error, path, line, str(err))
        report.count("entities dropped", len(spans))
        return None
    doc = char_doc(vocab, list(text), spans=spans)
    report.count("sentences")
    report.count("characters", len(doc))
    report.count("entities", len(doc.ents))
    report.labels.update(ent.label_ for ent in doc.ents)
    return doc
