"""Character-per-line BIO corpora: People's Daily NER and Weibo NER.

People's Daily (zjy-ucas/ChineseNER): `char<space>tag`, e.g. `厦 B-LOC`.
Weibo NER (hltcoe/golden-horse, 2nd release): `char+digits<TAB>tag`, e.g.
`嘉0	B-LOC.NAM`. The digits are the character's position in an automatic word
segmentation (0, 1, 2 … 10, 11 …) and are not text: the item is the first
character plus the trailing digits (`310` is the character `3` at position 10).

Each sentence becomes one Doc with one token per character (no spaces), its
entities set and every other token O, so the component reads it as
NER-annotated and unsegmented.

Rules (counted in the ConversionReport):
- `I-X` after `O` or after another type: read as `B-X` (repair).
- an item of several characters (Weibo has broken emoji written as two
  U+FFFD): split into one token per character; inside an entity the
  continuation characters get `I-` (repair).
- a tag with another prefix than B-/I- (or no label), a wrong column count,
  a Weibo item without position digits: "file:line: reason" (on_error="stop",
  the default) or the sentence is skipped and counted (on_error="skip").
- a label mapped to None by the label map: the entity becomes O (counted).
- blank lines: sentence breaks; extra ones are counted as empty sentences.
"""
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.training.iob_utils import biluo_tags_to_spans, iob_to_biluo
from spacy.vocab import Vocab

from .lines import read_blocks
from .report import ConversionReport, OnError, where

FORMATS = {"peoples_daily": " ", "weibo": "\t"}
_WEIBO_ITEM = re.compile(r"^(.+?)([0-9]+)$")
LabelMap = Optional[Dict[str, Optional[str]]]


def parse_tag(tag: str) -> Tuple[str, str]:
    """Split a BIO tag into (prefix, label); "O" gives ("O", "").

    RAISES (ValueError): The prefix is not B-/I- or the label is empty.
    """
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in ("B", "I") or not label:
        raise ValueError(f"unknown tag {tag!r} (expected O, B-LABEL or I-LABEL)")
    return prefix, label


def repair_bio(
    tags: List[str], report: ConversionReport, path: Union[str, Path], lines: List[int]
) -> List[str]:
    """Turn I-X that does not continue an X entity into B-X, counting each."""
    fixed: List[str] = []
    prev_label = ""
    for tag, line in zip(tags, lines):
        prefix, label = parse_tag(tag)
        if prefix == "I" and prev_label != label:
            after = "O" if not prev_label else "another type"
            report.repair(f"I- after {after} read as B-", where(path, line))
            tag = f"B-{label}"
        fixed.append(tag)
        prev_label = label
    return fixed


def read_char_bio(
    path: Union[str, Path],
    fmt: str,
    report: ConversionReport,
    *,
    on_error: OnError = "stop",
) -> Iterator[Tuple[int, List[str], List[str]]]:
    """Read a char-per-line BIO file.

    path: The corpus file (UTF-8; BOM and CRLF are handled).
    fmt: "peoples_daily" (`char tag`) or "weibo" (`char+digits<TAB>tag`).
    report: Counts repairs and skips.
    on_error: "stop" raises CorpusFormatError, "skip" skips the sentence.
    YIELDS (Tuple[int, List[str], List[str]]): First line, characters, BIO tags.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown char BIO format {fmt!r}; choose from {sorted(FORMATS)}")
    sep = FORMATS[fmt]
    for start, block in read_blocks(path, report):
        chars: List[str] = []
        tags: List[str] = []
        lines: List[int] = []
        bad = False
        for i, line in block:
            parts = line.split(sep)
            if len(parts) != 2:
                report.error(
                    on_error, path, i,
                    f"expected 2 columns separated by {sep!r}, found {len(parts)}: {line!r}",
                )
                bad = True
                break
            item, tag = parts
            if fmt == "weibo":
                match = _WEIBO_ITEM.match(item)
                if match is None:
                    report.error(on_error, path, i, f"no trailing segmentation digit in {item!r}")
                    bad = True
                    break
                item = match.group(1)
            try:
                prefix, label = parse_tag(tag)
            except ValueError as err:
                report.error(on_error, path, i, str(err))
                bad = True
                break
            if item == "":
                report.error(on_error, path, i, "empty character column")
                bad = True
                break
            if len(item) > 1:
                report.repair("item of several characters split into characters", where(path, i))
            for j, char in enumerate(item):
                chars.append(char)
                lines.append(i)
                if j == 0 or prefix == "O":
                    tags.append(tag)
                else:
                    tags.append(f"I-{label}")
        if bad:
            continue
        yield start, chars, repair_bio(tags, report, path, lines)


def apply_label_map(
    spans: List[Span], label_map: LabelMap, report: ConversionReport, location: str
) -> List[Span]:
    """Relabel entity spans; labels mapped to None are removed and counted.

    RAISES (ValueError): A label is missing from the map.
    """
    if label_map is None:
        return spans
    out = []
    for span in spans:
        if span.label_ not in label_map:
            raise ValueError(f"label {span.label_!r} is not in the label map {sorted(label_map)}")
        new = label_map[span.label_]
        if new is None:
            report.skip(f"entity removed by the label map: {span.label_}", location)
            continue
        out.append(Span(span.doc, span.start, span.end, label=new))
    return out


def char_doc(
    vocab: Vocab,
    chars: List[str],
    biluo: Optional[List[str]] = None,
    spans: Optional[List[Tuple[int, int, str]]] = None,
) -> Doc:
    """Make a one-token-per-character Doc with NER annotation on every token.

    biluo: BILUO tags, one per character; or
    spans: (start, end, label) character offsets (end exclusive).
    """
    doc = Doc(vocab, words=chars, spaces=[False] * len(chars))
    ents: List[Span] = []
    if biluo is not None:
        ents = biluo_tags_to_spans(doc, biluo)
    elif spans is not None:
        ents = [Span(doc, s, e, label=label) for s, e, label in spans]
    doc.set_ents(ents, default="outside")
    return doc


def char_bio_to_docs(
    path: Union[str, Path],
    fmt: str,
    vocab: Vocab,
    report: ConversionReport,
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
) -> Iterator[Doc]:
    """Convert a People's Daily / Weibo NER file to Docs (one per sentence).

    See `read_char_bio` for the arguments; label_map relabels (or removes,
    value None) entities, e.g. `labels.WEIBO_MERGE`.
    YIELDS (Doc): One Doc per sentence, one token per character, NER set.
    """
    for start, chars, tags in read_char_bio(path, fmt, report, on_error=on_error):
        doc = char_doc(vocab, chars, biluo=iob_to_biluo(tags))
        location = where(path, start)
        try:
            ents = apply_label_map(list(doc.ents), label_map, report, location)
        except ValueError as err:
            report.error(on_error, path, start, str(err))
            continue
        if label_map is not None:
            doc.set_ents(ents, default="outside")
        report.count("sentences")
        report.count("characters", len(doc))
        report.count("entities", len(doc.ents))
        report.labels.update(ent.label_ for ent in doc.ents)
        yield doc
