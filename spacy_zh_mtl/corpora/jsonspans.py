"""Span JSON from annotation tools: spaCy/Prodigy, doccano and Label Studio.

Records hold a text and entity spans with character offsets (end exclusive):

- "spacy" (spaCy / Prodigy JSONL):
  `{"text": "王小明去北京", "spans": [{"start": 0, "end": 3, "label": "PER"}]}`;
  Prodigy records answered "reject" or "ignore" are skipped and counted.
- "doccano" (JSONL): `{"text": …, "label": [[0, 3, "PER"]]}` or
  `{"text": …, "entities": [[0, 3, "PER"]]}` (also the object form
  `{"start_offset": 0, "end_offset": 3, "label": "PER"}`).
- "labelstudio" (Label Studio JSON export, a JSON array of tasks, or JSONL):
  `{"data": {"text": …}, "annotations": [{"result": [{"type": "labels",
  "value": {"start": 0, "end": 3, "text": "王小明", "labels": ["PER"]}}]}]}`;
  the first annotation that is not cancelled is read (others counted); the
  JSON-min export `{"text": …, "label": [{"start", "end", "labels"}]}` too.

A record whose other keys may hold annotations that no format reads (a list
or an object under a key such as "labels", "ner" or "span") stops the
conversion with the keys found and the keys each format reads, rather than
being read as a text without entities. doccano 1.x exports (the text under
"data") are read as doccano.

Line numbers are those of the record in the file (the first line of a task
in a JSON array). The spans go through `spacy_zh_mtl.corpora.spans`:
overlaps (overlap="longest" or "stop"), offsets outside the text, inside a
surrogate pair (UTF-16 offsets of JavaScript tools are detected and
converted, see `units`) or splitting a combining sequence, and empty labels
are counted with file:line, or stop the conversion (on_error="stop").
"""
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .lines import BOM, iter_lines, read_text
from .conversion_report import ConversionReport, OnError, quote, where
from ..types import CharSpan
from .spans import LabelMap, OffsetUnits, Overlap, RawSpan, check_spans, spans_to_doc

JSON_FORMATS = ("spacy", "doccano", "labelstudio")
# record keys that hold entities, and the formats that read them
ENTITY_KEYS: Dict[str, str] = {
    "spans": "spacy", "label": "doccano or cluener", "entities": "doccano",
    "annotations": "labelstudio", "predictions": "labelstudio",
}
ENTITY_KEYS_HELP = (
    "entities go under 'spans' (spacy), 'label' or 'entities' (doccano), "
    "'label': {TYPE: {mention: [[start, end]]}} (cluener) or 'annotations' (labelstudio)"
)
# keys that annotation tools write beside the text and the entities, without entities
OTHER_KEYS = frozenset({
    "text", "data", "id", "meta", "tokens", "relations", "Comments", "comments", "cats",
    "answer", "options", "accept", "drafts", "_input_hash", "_task_hash", "_view_id",
    "_session_id", "_timestamp", "_annotator_id", "created_at", "updated_at", "annotator",
    "annotation_id", "lead_time", "file_upload", "project", "inner_id", "updated_by",
    "comment_authors",
})


class RecordError(ValueError):
    """A record that has no usable text or spans."""


def iter_json_records(
    path: Union[str, Path], report: ConversionReport, on_error: OnError = "stop", encoding: Optional[str] = None
) -> Iterator[Tuple[int, Any]]:
    """Yield (line number, record) of a JSON-lines file or a JSON array.

    encoding: The file's encoding; None detects it (`corpora.encoding`).
    """
    yield from iter_json_text(path, read_text(path, report, encoding), report, on_error)


def iter_json_text(
    path: Union[str, Path], text: str, report: ConversionReport, on_error: OnError = "stop"
) -> Iterator[Tuple[int, Any]]:
    """Yield (line number, record) of the text of a JSON-lines file or a JSON array."""
    if text.lstrip(BOM + " \t\r\n").startswith("["):
        if text.startswith(BOM):
            report.repair("UTF-8 BOM removed", where(path, 1))
        yield from _iter_array(Path(path), text.lstrip(BOM), report, on_error)
        return
    for i, line in iter_lines(path, text, report):
        if not line.strip():
            report.skip("empty sentence (blank line)", where(path, i))
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as err:
            report.error(on_error, path, i, f"invalid JSON: {err} in {quote(line)}")


def _iter_array(path: Path, text: str, report: ConversionReport, on_error: OnError) -> Iterator[Tuple[int, Any]]:
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line, counted = 1, 0  # line numbers counted on from the last record, not from the start
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        if pos >= len(text):
            report.error("stop", path, line, "JSON array not closed")
        if text[pos] == "]":
            return
        try:
            record, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            # the rest of the array cannot be found without a valid record
            report.error("stop", path, line, f"invalid JSON: {err}")
        yield line, record


def _label_of(value: Dict[str, Any]) -> Any:
    labels = value.get("labels", value.get("label"))
    if isinstance(labels, list):
        return labels
    return [labels]


def spacy_spans(record: Dict[str, Any]) -> Tuple[Any, List[RawSpan]]:
    """Text (checked by the caller) and raw spans of a spaCy/Prodigy record."""
    spans = record.get("spans")
    if spans is None:
        spans = []
    if not isinstance(spans, list):
        raise RecordError("'spans' is not a list")
    raw = []
    for span in spans:
        if not isinstance(span, dict):
            raise RecordError(f"span {quote(span)} is not an object with start, end and label")
        raw.append((span.get("start"), span.get("end"), span.get("label"), span.get("text")))
    return record_text(record), raw


def doccano_spans(record: Dict[str, Any]) -> Tuple[Any, List[RawSpan]]:
    """Text and raw spans of a doccano record ("label" or "entities")."""
    spans = record.get("entities", record.get("label"))
    if spans is None:
        spans = []
    if not isinstance(spans, list):
        raise RecordError("'label'/'entities' is not a list of [start, end, label]")
    raw: List[RawSpan] = []
    for span in spans:
        if isinstance(span, dict):
            if "labels" in span:  # Label Studio JSON-min
                for label in _label_of(span):
                    raw.append((span.get("start"), span.get("end"), label, span.get("text")))
                continue
            raw.append((span.get("start_offset"), span.get("end_offset"), span.get("label"), None))
        elif isinstance(span, list) and len(span) == 3:
            raw.append((span[0], span[1], span[2], None))
        else:
            raise RecordError(f"span {quote(span)} is not [start, end, label]")
    return record_text(record), raw


def record_text(record: Dict[str, Any]) -> Any:
    """The text of a record: "text", or "data" when it is a string (doccano 1.x)."""
    text = record.get("text")
    if text is None and isinstance(record.get("data"), str):
        return record["data"]
    return text


def unread_keys(record: Dict[str, Any]) -> List[str]:
    """Keys of a record that may hold annotations no format reads: not a
    known key, and a non-empty list or object.
    """
    return sorted(
        key for key, value in record.items()
        if key not in ENTITY_KEYS and key not in OTHER_KEYS and isinstance(value, (list, dict)) and value
    )


def shape_problem(record: Dict[str, Any], fmt: Optional[str] = None) -> str:
    """Why a record cannot be read as `fmt` (None: as any format), naming its
    keys and the formats that read them.
    """
    keys = sorted(record)
    unread = unread_keys(record)
    if unread:
        return (
            f"record keys {quote(keys)}: {', '.join(map(repr, unread))} read by no format "
            f"({ENTITY_KEYS_HELP}); rename the key or convert the file"
        )
    shape = record_format(record)
    if shape is not None and fmt is not None:
        return f"record has the shape of {shape}, not {fmt}: keys {quote(keys)} (use --format {shape} or auto)"
    return f"record keys {quote(keys)} have no text or entities of a known format ({ENTITY_KEYS_HELP})"


def labelstudio_spans(record: Dict[str, Any], report: ConversionReport, location: str) -> Tuple[Any, List[RawSpan]]:
    """Text and raw spans of a Label Studio task (full export)."""
    if "data" not in record:  # JSON-min export
        return doccano_spans(record)
    data = record["data"]
    if not isinstance(data, dict):
        raise RecordError("'data' is not an object")
    text = data.get("text")
    if text is None:
        strings = [v for v in data.values() if isinstance(v, str)]
        text = strings[0] if len(strings) == 1 else None
    given = record.get("annotations") or []
    if not isinstance(given, list) or not all(isinstance(a, dict) for a in given):
        raise RecordError(f"'annotations' is not a list of objects: {quote(given)}")
    annotations = [a for a in given if not a.get("was_cancelled")]
    n_cancelled = len(given) - len(annotations)
    if n_cancelled:
        report.skip("cancelled Label Studio annotation ignored", location, n=n_cancelled)
    if not annotations:
        if record.get("annotations") is None and record.get("predictions"):
            raise RecordError("task has predictions only, no annotations")
        return text, []
    if len(annotations) > 1:
        report.skip("Label Studio annotation besides the first of a task ignored", location, n=len(annotations) - 1)
    raw: List[RawSpan] = []
    results = annotations[0].get("result") or []
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise RecordError(f"'result' is not a list of objects: {quote(results)}")
    for result in results:
        value = result.get("value") or {}
        if not isinstance(value, dict):
            raise RecordError(f"result 'value' is not an object: {quote(value)}")
        if "start" not in value:  # relations, choices, text areas
            report.skip(f"Label Studio result without span ignored (type {result.get('type')!r})", location)
            continue
        for label in _label_of(value):
            raw.append((value.get("start"), value.get("end"), label, value.get("text")))
    return text, raw


def read_json_spans(
    path: Union[str, Path],
    fmt: str,
    report: ConversionReport,
    *,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
    units: OffsetUnits = "auto",
    encoding: Optional[str] = None,
) -> Iterator[Tuple[int, str, List[CharSpan]]]:
    """Read span JSON of one of JSON_FORMATS.

    YIELDS (Tuple[int, str, List[CharSpan]]): Line number, text and
        checked, non-overlapping (start, end_exclusive, label) spans.
    """
    if fmt not in JSON_FORMATS:
        raise ValueError(f"Unknown span JSON format {fmt!r}; choose from {JSON_FORMATS}")
    keys: Set[str] = set()
    for i, record in iter_json_records(path, report, on_error, encoding):
        location = where(path, i)
        if not isinstance(record, dict):
            report.error(on_error, path, i, f"record is not a JSON object: {quote(record, 60)}")
            continue
        keys.update(record)
        if record_format(record) not in (fmt, "plain"):
            report.error(on_error, path, i, shape_problem(record, fmt))
            continue
        if record.get("answer") in ("reject", "ignore"):
            report.skip(f"Prodigy record answered {record['answer']!r} left out", location)
            continue
        try:
            if fmt == "spacy":
                text, raw = spacy_spans(record)
            elif fmt == "doccano":
                text, raw = doccano_spans(record)
            else:
                text, raw = labelstudio_spans(record, report, location)
        except RecordError as err:
            report.error(on_error, path, i, str(err))
            continue
        if not isinstance(text, str) or not text:
            report.error(on_error, path, i, "missing or empty text")
            continue
        kept = check_spans(text, raw, report, path, i, on_error=on_error, overlap=overlap, units=units)
        yield i, text, kept or []
    report.notes["record keys"] = ", ".join(sorted(keys))


def json_spans_to_docs(
    path: Union[str, Path],
    fmt: str,
    vocab: Vocab,
    report: ConversionReport,
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
    overlap: Overlap = "longest",
    units: OffsetUnits = "auto",
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Convert span JSON to Docs, one per record, one token per character."""
    for i, text, spans in read_json_spans(
        path, fmt, report, on_error=on_error, overlap=overlap, units=units, encoding=encoding
    ):
        doc = spans_to_doc(vocab, text, spans, report, path, i, label_map=label_map, on_error=on_error)
        if doc is not None:
            yield doc


def record_format(record: Any) -> Optional[str]:
    """The span JSON format of one record: "cluener", one of JSON_FORMATS,
    "plain" (a text without any spans, readable as any format) or None
    (no known shape, or keys that may hold annotations no format reads).
    """
    if not isinstance(record, dict) or unread_keys(record):
        return None
    if "data" in record and ("annotations" in record or "predictions" in record):
        return "labelstudio"
    label = record.get("label")
    if isinstance(label, dict):
        return "cluener"
    if "spans" in record:
        return "spacy"
    entities = record.get("entities", label)
    if isinstance(entities, list):
        if any(isinstance(e, dict) and "labels" in e for e in entities):
            return "labelstudio"
        return "doccano"
    if isinstance(record_text(record), str):
        return "plain"
    return None
