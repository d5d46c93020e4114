"""Character-per-line NER corpora: BIO, IOB1, BIOES/BILOU and BMES tags.

One character (or item) per line, sentences separated by blank lines, the
tag in the last column by default:

- People's Daily (zjy-ucas/ChineseNER), fmt "peoples_daily": `char<space>tag`,
  e.g. `厦 B-LOC`, exactly 2 columns, BIO.
- Weibo NER (hltcoe/golden-horse, 2nd release), fmt "weibo":
  `char+digits<TAB>tag`, e.g. `嘉0	B-LOC.NAM`, BIO. The digits are the
  character's position in an automatic word segmentation (0, 1, 2 … 10, 11 …)
  and are not text: the item is the first character plus the trailing digits
  (`310` is the character `3` at position 10).
- any other corpus, fmt "chars": columns separated by spaces or tabs, extra
  columns allowed, the character in the first column and the tag in
  `tag_column` (default -1, the last); the scheme is detected from the tags.

Schemes (`SCHEME_ROLES`: each scheme's prefixes and their roles; `scheme=None` takes the format's default, "auto"
detects): BIO (B- begins, I- continues), IOB1 (I- begins too, B- only splits
two adjacent entities of one type), BIOES (B/I/E/S), BILOU (B/I/L/U) and BMES
(B/M/E/S). Detection: M- means BMES, L-/U- BILOU, E-/S- BIOES; only B-/I-
tags are IOB1 when every B- follows an I-/B- of its type, BIO otherwise.

Each sentence becomes one Doc with one token per character (no spaces), its
entities set and every other token O, so the component reads it as
NER-annotated and unsegmented.

Rules (counted in the ConversionReport):
- an I-/M- that continues nothing (after O or another type): read as B-
  (repair); in IOB1 that is how entities begin and not a repair.
- an E-/L- that ends nothing: read as S-/U-; after another type the open
  entity ends before it (repair).
- BIOES/BILOU/BMES: an entity not closed by E-/L- ends where the next tag
  begins (repair).
- an item of several characters (Weibo has broken emoji written as two
  U+FFFD): split into one token per character; inside an entity the
  continuation characters belong to it (repair).
- a tag the scheme does not have (or no label), a wrong column count,
  a Weibo item without position digits: "file:line: reason" (on_error="stop",
  the default) or the sentence is skipped and counted (on_error="skip").
- a label mapped to None by the label map: the entity becomes O (counted).
- spaces around a tag or its label (`B- LOC`, a tab-separated `B-LOC `): trimmed
  (repair), so that they do not make a label of their own.
- blank lines: sentence breaks; extra ones are counted as empty sentences.
"""
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .lines import read_blocks
from .conversion_report import ConversionReport, OnError, quote, where
from ..types import CharSpan
from .spans import LABEL_TRIMMED, LabelMap, char_doc, spans_to_doc  # noqa: F401 (char_doc re-exported)

# fmt -> (column separator, None: runs of spaces and tabs; number of columns, 0: 2 or more)
FORMATS: Dict[str, Tuple[Optional[str], int]] = {
    "peoples_daily": (" ", 2), "weibo": ("\t", 2), "chars": (None, 0),
}
DEFAULT_SCHEME = {"peoples_daily": "BIO", "weibo": "BIO", "chars": "auto"}
# scheme -> its prefixes and what each does
SCHEME_ROLES: Dict[str, Dict[str, str]] = {
    "BIO": {"B": "begin", "I": "inside"},
    "IOB1": {"B": "begin", "I": "inside"},
    "BIOES": {"B": "begin", "I": "inside", "E": "end", "S": "single"},
    "BILOU": {"B": "begin", "I": "inside", "L": "end", "U": "single"},
    "BMES": {"B": "begin", "M": "inside", "E": "end", "S": "single"},
}
SCHEME_VALUES = ("auto",) + tuple(SCHEME_ROLES)
_ANY_PREFIX = {p for roles in SCHEME_ROLES.values() for p in roles}
_WEIBO_ITEM = re.compile(r"^(.+?)([0-9]+)$")
# "chars" columns: spaces and tabs only, so a full-width space U+3000 stays a character
_BLANKS = re.compile(r"[ \t]+")
Tag = Tuple[str, str]


def parse_tag(tag: str, scheme: str = "BIO") -> Tag:
    """Split a tag into (prefix, label); "O" gives ("O", "").

    scheme: One of SCHEME_ROLES, or "auto" (any prefix of any scheme).
    RAISES (ValueError): The scheme has no such prefix or the label is empty.
    """
    if tag == "O":
        return "O", ""
    prefixes = _ANY_PREFIX if scheme == "auto" else set(SCHEME_ROLES[scheme])
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in prefixes or not label:
        if scheme == "BIO":
            expected = "O, B-LABEL or I-LABEL"
        else:
            shown = "/".join(sorted(prefixes)) if scheme == "auto" else "/".join(SCHEME_ROLES[scheme])
            expected = f"O or {shown}-LABEL" + ("" if scheme == "auto" else f" for {scheme}")
        raise ValueError(f"unknown tag {quote(tag)} (expected {expected})")
    return prefix, label


def detect_scheme(sentences: List[List[Tag]]) -> str:
    """Detect the tag scheme from parsed (prefix, label) tags (module docstring)."""
    prefixes = {p for tags in sentences for p, _ in tags}
    if "M" in prefixes:
        return "BMES"
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"E", "S"}:
        return "BIOES"
    if "I" not in prefixes:
        return "BIO"
    for tags in sentences:
        prev = ("O", "")
        for tag in tags:
            if tag[0] == "B" and not (prev[0] in ("B", "I") and prev[1] == tag[1]):
                return "BIO"
            prev = tag
    return "IOB1"


def decode_tags(
    tags: List[Tag], scheme: str, report: ConversionReport, path: Union[str, Path], lines: List[int]
) -> List[Tuple[int, int, str]]:
    """Decode tags of one sentence to (first item, last item exclusive, label),
    repairing and counting broken sequences (module docstring).
    """
    roles = SCHEME_ROLES[scheme]
    closes = "end" in roles.values()
    end_prefix = next((p for p, r in roles.items() if r == "end"), "")
    spans: List[Tuple[int, int, str]] = []
    open_start, open_label = -1, ""

    def repair(reason: str, i: int) -> None:
        report.repair(reason, where(path, lines[i]))
        report.count("entities repaired")

    def close(i: int, counted: bool = True) -> None:
        nonlocal open_start, open_label
        if open_label:
            spans.append((open_start, i, open_label))
            if closes and counted:
                repair(f"entity not closed by {end_prefix}- ended before the next tag", open_start)
        open_start, open_label = -1, ""

    for i, (prefix, label) in enumerate(tags):
        role = roles.get(prefix, "outside")
        if role == "outside":
            close(i)
        elif role == "begin":
            close(i)
            open_start, open_label = i, label
        elif role == "inside":
            if open_label == label:
                continue
            if scheme != "IOB1":
                after = "O" if not open_label else "another type"
                repair(f"{prefix}- after {after} read as B-", i)
            close(i)
            open_start, open_label = i, label
        elif role == "end":
            if open_label == label:
                spans.append((open_start, i + 1, label))
                open_start, open_label = -1, ""
                continue
            single = next(p for p, r in roles.items() if r == "single")
            after = "O" if not open_label else "another type"
            repair(f"{prefix}- after {after} read as {single}-", i)
            close(i, counted=False)
            spans.append((i, i + 1, label))
        else:  # single
            close(i)
            spans.append((i, i + 1, label))
    close(len(tags))
    return spans


def read_char_tags(
    path: Union[str, Path],
    fmt: str,
    report: ConversionReport,
    *,
    scheme: Optional[str] = None,
    tag_column: int = -1,
    on_error: OnError = "stop",
    encoding: Optional[str] = None,
) -> Iterator[Tuple[int, str, List[CharSpan]]]:
    """Read a character-per-line NER file.

    path: The corpus file (BOM and CRLF are handled).
    fmt: "peoples_daily", "weibo" or "chars" (see the module docstring).
    scheme: A tag scheme of SCHEME_ROLES, "auto" (detected from the whole file) or
        None (the format's default: BIO for peoples_daily/weibo, else auto).
    tag_column: Column of the tag (0-based, negative from the end).
    report: Counts repairs and skips.
    on_error: "stop" raises CorpusFormatError, "skip" skips the sentence.
    encoding: The file's encoding; None detects it (`corpora.encoding`).
    YIELDS (Tuple[int, str, List[CharSpan]]): First line, text, entity spans.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown character-per-line format {fmt!r}; choose from {sorted(FORMATS)}")
    scheme = scheme or DEFAULT_SCHEME[fmt]
    if scheme not in SCHEME_VALUES:
        raise ValueError(f"Unknown tag scheme {scheme!r}; choose from {SCHEME_VALUES}")
    sep, n_columns = FORMATS[fmt]
    sentences = []
    for start, block in read_blocks(path, report, encoding):
        sentence = _read_block(path, fmt, block, report, scheme, sep, n_columns, tag_column, on_error)
        if sentence is not None:
            sentences.append((start, *sentence))
    if scheme == "auto":
        scheme = detect_scheme([tags for _, _, tags, _ in sentences])
        report.notes["tag scheme"] = f"{scheme} (detected)"
        bad = _check_scheme(path, sentences, scheme, report, on_error)
        sentences = [s for s in sentences if s[0] not in bad]
    for start, items, tags, lines in sentences:
        offsets = [0]
        for item in items:
            offsets.append(offsets[-1] + len(item))
        spans = [
            (offsets[a], offsets[b], label)
            for a, b, label in decode_tags(tags, scheme, report, path, lines)
        ]
        report.count("entities read", len(spans))
        yield start, "".join(items), spans


def _read_block(path, fmt, block, report, scheme, sep, n_columns, tag_column, on_error):
    """Parse the lines of one sentence: (items, tags, line numbers) or None (skipped)."""
    items: List[str] = []
    tags: List[Tag] = []
    lines: List[int] = []
    for i, line in block:
        parts = line.split(sep) if sep is not None else _BLANKS.split(line.strip(" \t"))
        if n_columns and len(parts) != n_columns:
            report.error(
                on_error, path, i,
                f"expected {n_columns} columns separated by {sep!r}, found {len(parts)}: {quote(line)}",
            )
            return None
        if len(parts) < 2:
            report.error(on_error, path, i, f"expected a character and a tag column, found {len(parts)}: {quote(line)}")
            return None
        item = parts[0]
        try:
            tag = parts[tag_column]
        except IndexError:
            report.error(on_error, path, i, f"no tag column {tag_column} in {quote(line)}")
            return None
        if fmt == "weibo":
            match = _WEIBO_ITEM.match(item)
            if match is None:
                report.error(on_error, path, i, f"no trailing segmentation digit in {quote(item)}")
                return None
            item = match.group(1)
        prefix, dash, label = tag.partition("-")
        trimmed = f"{prefix.strip()}{dash}{label.strip()}"
        if trimmed != tag:
            report.repair(LABEL_TRIMMED, where(path, i))
        try:
            parsed = parse_tag(trimmed, scheme)
        except ValueError as err:
            report.error(on_error, path, i, str(err))
            return None
        if item == "":
            report.error(on_error, path, i, "empty character column")
            return None
        if len(item) > 1:
            report.repair("item of several characters split into characters", where(path, i))
        items.append(item)
        tags.append(parsed)
        lines.append(i)
    return items, tags, lines


def _check_scheme(path, sentences, scheme, report, on_error) -> set:
    """Stop on (or skip) sentences with prefixes the detected scheme lacks."""
    bad = set()
    for start, _, tags, lines in sentences:
        for (prefix, label), line in zip(tags, lines):
            if prefix != "O" and prefix not in SCHEME_ROLES[scheme]:
                report.error(
                    on_error, path, line,
                    f"tag {prefix}-{label} does not belong to the scheme {scheme} detected from the file "
                    f"(use --scheme to choose one)",
                )
                bad.add(start)
                break
    return bad


def char_bio_to_docs(
    path: Union[str, Path],
    fmt: str,
    vocab: Vocab,
    report: ConversionReport,
    *,
    scheme: Optional[str] = None,
    tag_column: int = -1,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Convert a character-per-line NER file to Docs (one per sentence).

    See `read_char_tags` for the arguments; label_map relabels (or removes,
    value None) entities, e.g. `labels.WEIBO_MERGE`.
    YIELDS (Doc): One Doc per sentence, one token per character, NER set.
    """
    for start, text, spans in read_char_tags(
        path, fmt, report, scheme=scheme, tag_column=tag_column, on_error=on_error, encoding=encoding
    ):
        doc = spans_to_doc(vocab, text, spans, report, path, start, label_map=label_map, on_error=on_error)
        if doc is not None:
            yield doc
