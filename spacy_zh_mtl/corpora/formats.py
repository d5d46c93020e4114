"""The corpus formats of `convert` and `prepare-corpus`: one entry per format.

An entry names the format, says whether it holds entities (NER formats), how
`detect_format` recognizes it (no detector: only when given by name), which
reader makes Docs of it and which options that reader takes. `convert_file`
passes a reader only the options given and stops on an option the format
does not read, and on output that would be silently empty.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .bio import SCHEME_VALUES, char_bio_to_docs
from .cluener import cluener_to_docs
from .conll import SPACES_VALUES, conll_to_docs
from .conversion_report import ON_ERROR_VALUES, ConversionReport, CorpusFormatError
from .detect import Sample
from .docs import docbin_to_docs
from .encoding import check_encoding
from .jsonspans import ENTITY_KEYS_HELP, json_spans_to_docs
from .labels import get_label_map, load_label_map
from .segmented import segmented_to_docs, word_tag_to_docs
from .spans import OFFSET_UNITS, OVERLAP_VALUES

# reader(path, vocab, report, **options) -> Docs
Reader = Callable[..., Iterable[Doc]]
Detector = Callable[[Sample], bool]
# the values an option takes, where they are a fixed set (the CLI's choices)
OPTION_VALUES: Dict[str, Tuple[str, ...]] = {
    "on_error": ON_ERROR_VALUES,
    "overlap": OVERLAP_VALUES,
    "offsets": OFFSET_UNITS,
    "scheme": SCHEME_VALUES,
    "spaces": SPACES_VALUES,
}


@dataclass(frozen=True)
class CorpusFormat:
    """One corpus format.

    name: Its name on the command line.
    ner: It holds entities: one token per character (a DocBin keeps its tokens).
    reader: Makes the Docs: reader(path, vocab, report, **options).
    options: The options the reader takes (names as on the command line, with _).
    detector: True if a file is of this format; None: never detected.
    no_entities_hint: Where entities were expected, for the "no entities" error.
    """

    name: str
    ner: bool
    reader: Reader
    options: FrozenSet[str]
    detector: Optional[Detector] = None
    no_entities_hint: str = ""


def _char_reader(fmt: str) -> Reader:
    def read(path: Path, vocab: Vocab, report: ConversionReport, *, ner_tag_column: int = -1, **options: Any) -> Iterable[Doc]:
        if ner_tag_column == 0:
            raise ValueError("--ner-tag-column counts from 1 (-1: the last column); 1 is the character")
        # --ner-tag-column counts from 1 like the other column options; the reader from 0
        column = ner_tag_column - 1 if ner_tag_column > 0 else ner_tag_column
        return char_bio_to_docs(path, fmt, vocab, report, tag_column=column, **options)

    return read


def _json_reader(fmt: str) -> Reader:
    def read(path: Path, vocab: Vocab, report: ConversionReport, **options: Any) -> Iterable[Doc]:
        if "offsets" in options:
            options["units"] = options.pop("offsets")
        return json_spans_to_docs(path, fmt, vocab, report, **options)

    return read


def _read_conll(
    path: Path, vocab: Vocab, report: ConversionReport, *, tag_column: int = 5, upos_column: int = 4, **options: Any
) -> Iterable[Doc]:
    for flag, column in (("--tag-column", tag_column), ("--upos-column", upos_column)):
        if not 0 <= column <= 10:
            raise ValueError(f"{flag} must be a CoNLL column from 1 to 10, or 0 for none; not {column}")
    # column 0 means "no such column" (None for the reader)
    return conll_to_docs(path, vocab, report, tag_column=tag_column or None, upos_column=upos_column or None, **options)


_TEXT = frozenset({"encoding", "on_error"})
_NER = _TEXT | {"label_map"}
_SPANS = _NER | {"overlap"}
_CHARS = _NER | {"scheme", "ner_tag_column"}
_TAGS_HINT = "every tag is O (is the tag in another column? --ner-tag-column)"
_JSON_HINT = f"the records have no entities ({ENTITY_KEYS_HELP})"

FORMATS: Dict[str, CorpusFormat] = {f.name: f for f in (
    # in the order detection tries them
    CorpusFormat("docbin", True, docbin_to_docs, frozenset({"label_map", "on_error"}),
                 lambda s: s.is_docbin, "the Docs have no entities"),
    CorpusFormat("cluener", True, cluener_to_docs, _SPANS,
                 lambda s: s.json_format == "cluener", _JSON_HINT),
    CorpusFormat("spacy", True, _json_reader("spacy"), _SPANS | {"offsets"},
                 lambda s: s.json_format == "spacy", _JSON_HINT),
    CorpusFormat("doccano", True, _json_reader("doccano"), _SPANS | {"offsets"},
                 lambda s: s.json_format == "doccano", _JSON_HINT),
    CorpusFormat("labelstudio", True, _json_reader("labelstudio"), _SPANS | {"offsets"},
                 lambda s: s.json_format == "labelstudio", _JSON_HINT),
    CorpusFormat("weibo", True, _char_reader("weibo"), _CHARS,
                 lambda s: s.json_format is None and s.is_weibo(), _TAGS_HINT),
    CorpusFormat("chars", True, _char_reader("chars"), _CHARS,
                 lambda s: s.json_format is None, _TAGS_HINT),
    CorpusFormat("peoples_daily", True, _char_reader("peoples_daily"), _CHARS, None, _TAGS_HINT),
    CorpusFormat("conll", False, _read_conll, _TEXT | {"tag_column", "upos_column", "spaces", "fullwidth_punct"}),
    CorpusFormat("word_tag", False, word_tag_to_docs, _TEXT),
    CorpusFormat("segmented", False, segmented_to_docs, frozenset({"encoding"})),
)}


def get_format(name: str) -> CorpusFormat:
    """Look up a format by name. RAISES (ValueError): unknown name."""
    if name not in FORMATS:
        raise ValueError(f"Unknown format {name!r}; choose from auto, {', '.join(FORMATS)}")
    return FORMATS[name]


def detect_format(path: Union[str, Path], encoding: Optional[str] = None) -> str:
    """Return the NER format of a corpus file (the first detector that says yes).

    RAISES (CorpusFormatError): Empty file, text that cannot be decoded, or
        JSON of an unknown shape.
    """
    sample = Sample(path, encoding)
    for fmt in FORMATS.values():
        if fmt.detector is not None and fmt.detector(sample):
            return fmt.name
    raise AssertionError("chars is detected for any text")


def option_flag(option: str) -> str:
    """The command-line flag of a reader option."""
    return "--labels/--label-map" if option == "label_map" else "--" + option.replace("_", "-")


def check_options(fmt: CorpusFormat, options: Dict[str, Any]) -> None:
    """RAISES (ValueError): An option the format does not read, or a value not among its choices."""
    for option, value in options.items():
        if option not in fmt.options:
            readers = [f.name for f in FORMATS.values() if option in f.options]
            raise ValueError(
                f"{option_flag(option)} does not apply to format {fmt.name} "
                f"(it applies to {', '.join(readers) or 'no format'})"
            )
        choices = OPTION_VALUES.get(option)
        if choices is not None and value not in choices:
            raise ValueError(f"{option_flag(option)} must be one of {', '.join(choices)}, not {value!r}")


def convert_file(
    fmt: str,
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    labels: str = "none",
    label_map_path: Optional[Path] = None,
    allow_no_entities: bool = False,
    **options: Any,
) -> List[Doc]:
    """Read a corpus file with the reader of its format.

    fmt: A name of FORMATS, or "auto": detect an NER format (noted in the report).
    labels: A named label map (`labels.LABEL_MAPS`).
    label_map_path: A JSON label map file (old -> new or null), instead of `labels`.
    allow_no_entities: Accept an NER file without any entity (raw text).
    options: Reader options (`CorpusFormat.options`); None means not given.
    RAISES (ValueError): Unknown format or label map, an option the format
        does not read.
    RAISES (CorpusFormatError): A problem in the file (file:line: reason),
        no sentences at all, or an NER file without entities.
    """
    path = Path(path)
    given = {name: value for name, value in options.items() if value is not None}
    if "encoding" in given:
        check_encoding(given["encoding"])
    if fmt == "auto":
        fmt = detect_format(path, given.get("encoding"))
        report.notes["format"] = f"{fmt} (detected)"
    entry = get_format(fmt)
    label_map = get_label_map(labels)
    if label_map_path is not None:
        if label_map is not None:
            raise ValueError("give either --labels or --label-map, not both")
        label_map = load_label_map(label_map_path)
    if label_map is not None:
        given["label_map"] = label_map
    check_options(entry, given)
    if allow_no_entities and not entry.ner:
        raise ValueError(f"--allow-no-entities applies to NER formats only, not {fmt}")
    docs = list(entry.reader(path, vocab, report, **given))
    check_not_empty(entry, path, docs, report, allow_no_entities)
    return docs


def check_not_empty(
    fmt: CorpusFormat, path: Path, docs: List[Doc], report: ConversionReport, allow_no_entities: bool
) -> None:
    """Stop on output that would be silently empty: no sentences, or no entities from an NER file.

    RAISES (CorpusFormatError): with what was found and what to do.
    """
    if not docs:
        # blank lines are counted as empty sentences, but they are no content
        n_skipped = sum(n for reason, n in report.skipped.items() if not reason.startswith("empty sentence"))
        if n_skipped:
            reason = f"no sentences left: {n_skipped:,} items skipped (reasons above)"
        else:
            reason = "no sentences in the file (is it empty?)"
        raise CorpusFormatError(path, None, reason)
    if fmt.ner and not allow_no_entities and report.counts["entities read"] == 0:
        keys = report.notes.get("record keys")
        found = f"; record keys: {keys}" if keys else ""
        raise CorpusFormatError(
            path, None,
            f"no entities in {len(docs):,} sentences read as {fmt.name}{found}: {fmt.no_entities_hint}. "
            "If the file is raw text without entities, pass --allow-no-entities",
        )
