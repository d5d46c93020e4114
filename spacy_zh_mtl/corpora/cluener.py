"""CLUENER2020 span JSON lines.

One JSON object per line: `{"text": …, "label": {TYPE: {MENTION: [[start, end], …]}}}`
with **inclusive** end offsets. Each line becomes one Doc with one token per
character (no spaces added), entities set and every other token O.

Rules (counted in the ConversionReport):
- overlapping spans (CLUENER train has one: a company inside a book title):
  overlap="longest" (default) keeps the longer span (the earlier one on a tie)
  and counts the dropped one with both spans shown; overlap="stop" raises.
- invalid JSON, a missing/empty "text", an offset outside the text, a mention
  string that differs from text[start:end+1]: "file:line: reason" with
  on_error="stop" (the default), or the line is skipped and counted.
- empty lines are counted as empty sentences.
"""
import json
from pathlib import Path
from typing import Iterator, List, Literal, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .bio import LabelMap, char_doc
from .lines import read_lines
from .report import ConversionReport, OnError, where

Overlap = Literal["longest", "stop"]
CharSpan = Tuple[int, int, str]


def read_cluener(
    path: Union[str, Path],
    report: ConversionReport,
    *,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
) -> Iterator[Tuple[int, str, List[CharSpan]]]:
    """Read CLUENER JSON lines.

    YIELDS (Tuple[int, str, List[CharSpan]]): Line number, text and
        non-overlapping (start, end_exclusive, label) spans sorted by start.
    """
    for i, line in read_lines(path, report):
        if not line.strip():
            report.skip("empty sentence (blank line)", where(path, i))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            report.error(on_error, path, i, f"invalid JSON: {err}")
            continue
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text:
            report.error(on_error, path, i, "missing or empty 'text'")
            continue
        spans: List[CharSpan] = []
        problem = None
        for label, mentions in (record.get("label") or {}).items():
            for mention, offsets in mentions.items():
                for pair in offsets:
                    if len(pair) != 2:
                        problem = f"offset {pair!r} of {label} {mention!r} is not [start, end]"
                        break
                    start, end = pair
                    if not (0 <= start <= end < len(text)):
                        problem = f"offset [{start}, {end}] of {label} {mention!r} outside the text (length {len(text)})"
                        break
                    if text[start : end + 1] != mention:
                        problem = (
                            f"{label} {mention!r} at [{start}, {end}] (inclusive end) "
                            f"does not match the text {text[start:end + 1]!r}"
                        )
                        break
                    spans.append((start, end + 1, label))
        if problem is not None:
            report.error(on_error, path, i, problem)
            continue
        kept = resolve_overlaps(spans, report, path, i, overlap)
        yield i, text, kept


def resolve_overlaps(
    spans: List[CharSpan],
    report: ConversionReport,
    path: Union[str, Path],
    line: int,
    overlap: Overlap,
) -> List[CharSpan]:
    """Keep the longest of overlapping spans; count (or stop on) the others."""
    kept: List[CharSpan] = []
    # longest first, then earliest
    for span in sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        clash = next((k for k in kept if span[0] < k[1] and k[0] < span[1]), None)
        if clash is None:
            kept.append(span)
            continue
        detail = (
            f"{span[2]} [{span[0]}, {span[1] - 1}] overlaps {clash[2]} "
            f"[{clash[0]}, {clash[1] - 1}] (inclusive ends)"
        )
        if overlap == "stop":
            report.error("stop", path, line, f"overlapping spans: {detail}")
        report.skip("overlapping span dropped (the longer one is kept)", f"{where(path, line)} {detail}")
    n_dupes = len(spans) - len(set(spans))
    if n_dupes:
        report.repair("duplicate span listed twice read once", where(path, line), n=n_dupes)
    return sorted(kept)


def cluener_to_docs(
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
) -> Iterator[Doc]:
    """Convert a CLUENER2020 JSON-lines file to Docs, one token per character.

    label_map: Optional relabelling; labels mapped to None are removed (counted).
    YIELDS (Doc): One Doc per line with NER annotation.
    """
    for i, text, spans in read_cluener(path, report, on_error=on_error, overlap=overlap):
        if label_map is not None:
            unknown = sorted({label for _, _, label in spans if label not in label_map})
            if unknown:
                report.error(on_error, path, i, f"labels {unknown} are not in the label map")
                continue
            mapped = []
            for start, end, label in spans:
                new_label = label_map[label]
                if new_label is None:
                    report.skip(f"entity removed by the label map: {label}", where(path, i))
                    continue
                mapped.append((start, end, new_label))
            spans = mapped
        doc = char_doc(vocab, list(text), spans=spans)
        report.count("sentences")
        report.count("characters", len(doc))
        report.count("entities", len(doc.ents))
        report.labels.update(ent.label_ for ent in doc.ents)
        yield doc
