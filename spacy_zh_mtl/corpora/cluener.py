"""CLUENER2020 span JSON lines.

One JSON object per line: `{"text": …, "label": {TYPE: {MENTION: [[start, end], …]}}}`
with **inclusive** end offsets (a JSON array of such records is read too).
Each record becomes one Doc with one token per
character (no spaces added), entities set and every other token O.

Rules (counted in the ConversionReport; the span checks are those of
`spacy_zh_mtl.corpora.spans`):
- overlapping spans (CLUENER train has one: a company inside a book title):
  overlap="longest" (default) keeps the longer span (the earlier one on a tie)
  and counts the dropped one with both spans shown; overlap="stop" raises.
- invalid JSON, a missing/empty "text", a record of another shape or with
  keys that may hold annotations (`jsonspans.unread_keys`), an offset outside the text, a mention
  string that differs from text[start:end+1]: "file:line: reason" with
  on_error="stop" (the default), or the line is skipped and counted.
- empty lines are counted as empty sentences.
"""
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .conversion_report import ConversionReport, OnError, quote
from ..types import CharSpan
from .jsonspans import iter_json_records, record_format, shape_problem
from .spans import LabelMap, Overlap, RawSpan, check_spans, spans_to_doc


def read_cluener(
    path: Union[str, Path],
    report: ConversionReport,
    *,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
    encoding: Optional[str] = None,
) -> Iterator[Tuple[int, str, List[CharSpan]]]:
    """Read CLUENER JSON lines.

    YIELDS (Tuple[int, str, List[CharSpan]]): Line number, text and
        non-overlapping (start, end_exclusive, label) spans sorted by start.
    """
    for i, record in iter_json_records(path, report, on_error, encoding):
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text:
            report.error(on_error, path, i, "missing or empty 'text'")
            continue
        if record_format(record) not in ("cluener", "plain"):
            report.error(on_error, path, i, shape_problem(record, "cluener"))
            continue
        raw: List[RawSpan] = []
        problem = None
        for label, mentions in (record.get("label") or {}).items():
            if not isinstance(mentions, dict):
                problem = f"{label} is not an object of mention -> [[start, end], …]: {quote(mentions)}"
                continue
            for mention, offsets in mentions.items():
                for pair in offsets if isinstance(offsets, list) else [offsets]:
                    if not isinstance(pair, list) or len(pair) != 2:
                        problem = f"offset {quote(pair)} of {label} {quote(mention)} is not [start, end]"
                        continue
                    start, end = pair
                    raw.append((start, end + 1 if type(end) is int else end, label, mention))
        if problem is not None:
            report.error(on_error, path, i, problem)
            continue
        kept = check_spans(
            text, raw, report, path, i, on_error=on_error, overlap=overlap,
            units="codepoints", inclusive=True, item="sentence",
        )
        if kept is not None:
            yield i, text, kept


def cluener_to_docs(
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Convert a CLUENER2020 JSON-lines file to Docs, one token per character.

    label_map: Optional relabelling; labels mapped to None are removed (counted).
    YIELDS (Doc): One Doc per line with NER annotation.
    """
    for i, text, spans in read_cluener(path, report, on_error=on_error, overlap=overlap, encoding=encoding):
        doc = spans_to_doc(vocab, text, spans, report, path, i, label_map=label_map, on_error=on_error)
        if doc is not None:
            yield doc
