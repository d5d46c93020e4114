"""CoNLL-U and CoNLL-X treebanks (UD Chinese GSD/GSDSimp, hankcs UDC, WTB).

Words become tokens, `token.tag_` is read from `tag_column` (1-based, default
5: XPOS in CoNLL-U, POSTAG in CoNLL-X; use 5 for the Weibo treebank, whose
column 4 is a 2-letter cut of column 5) and `token.pos_` from `upos_column`
where the corpus has UPOS (4 for UD; None for WTB). ENT_IOB stays unset, so
the component masks the NER loss on these Docs.

spaCy's `conllu_to_docs` is not used: it puts a space after every token that
has no `SpaceAfter=No` (all tokens of UD 1.3 and CoNLL-X files, which would
give "看似 简单 ,"), merges sentences into multi-sentence Docs, and its errors
do not name the line. Here the text has no spaces between Chinese words:

spaces="auto" (default): the `# text` comment if there is one and it matches
    the words; else `SpaceAfter=No` in MISC if the sentence uses it (CoNLL-U
    rule); else "latin".
spaces="latin": a space only between two tokens that meet with ASCII letters
    or digits on both sides ("Google Maps"); reproduces the `# text` of all
    500 GSDSimp dev sentences from their tokens.
spaces="none": never a space.

fullwidth_punct: UD 1.3 (and the hankcs Simplified copy) writes ASCII
punctuation (`,` `.` `(`) where GSDSimp and the NER corpora have full-width
(`，` `。` `（`). With fullwidth_punct=True, tokens tagged as punctuation
(UPOS PUNCT, or made only of these marks) are mapped to the full-width form
that GSDSimp has for the same sentences (the mapping below was read off the
aligned dev/test files), so a tagger trained on it knows `，`. Counted.

Rules: comment lines are read (`# text`) or ignored; multiword-token ranges
(`1-2`) and empty nodes (`1.1`) are skipped and counted (none in Chinese UD);
a line without exactly 10 tab-separated columns or a non-integer ID gives
"file:line: reason" (on_error="stop", default) or skips the sentence.
A tag `_` leaves the token without a tag (counted).
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Literal, Optional, Union

from spacy.tokens import Doc
from spacy.util import get_words_and_spaces
from spacy.vocab import Vocab

from .lines import Line, read_blocks
from .conversion_report import ConversionReport, OnError, quote, where

Spaces = Literal["auto", "latin", "none"]
SPACES_VALUES = ("auto", "latin", "none")

# ASCII -> full-width, as in GSDSimp for the same UD 1.3 sentences.
FULLWIDTH_PUNCT: Dict[str, str] = {
    ",": "，", ".": "。", "(": "（", ")": "）", ":": "：",
    ";": "；", "?": "？", "!": "！",
}
_LATIN = re.compile(r"[A-Za-z0-9]")


def latin_spaces(words: List[str]) -> List[bool]:
    """A space after a word only where ASCII letters/digits meet on both sides."""
    spaces = []
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        spaces.append(bool(word and nxt and _LATIN.match(word[-1]) and _LATIN.match(nxt[0])))
    return spaces


def to_fullwidth(word: str) -> str:
    """Map a word made only of ASCII punctuation marks to full-width."""
    if word and all(ch in FULLWIDTH_PUNCT for ch in word):
        return "".join(FULLWIDTH_PUNCT[ch] for ch in word)
    return word


def conll_to_docs(
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    tag_column: Optional[int] = 5,
    upos_column: Optional[int] = 4,
    spaces: Spaces = "auto",
    fullwidth_punct: bool = False,
    on_error: OnError = "stop",
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Convert a CoNLL-U / CoNLL-X file to Docs, one per sentence.

    tag_column: 1-based column for token.tag_ (None: no tags).
    upos_column: 1-based column for token.pos_ (None: not set).
    spaces: "auto", "latin" or "none" (see the module docstring).
    fullwidth_punct: Map ASCII punctuation tokens to full-width.
    YIELDS (Doc): Docs with words and tags; no NER annotation.
    """
    for start, block in read_blocks(path, report, encoding):
        sentence = _read_sentence(
            block, path, report, tag_column=tag_column, upos_column=upos_column,
            fullwidth_punct=fullwidth_punct, on_error=on_error,
        )
        if sentence is None:
            continue
        if not sentence.words:
            report.skip("empty sentence (no word lines)", where(path, start))
            continue
        yield _sentence_doc(sentence, vocab, spaces, report, path, start, tag_column)


@dataclass
class _Sentence:
    """The columns of one sentence's word lines, and its `# text` comment."""

    text: Optional[str] = None
    words: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    upos: List[str] = field(default_factory=list)
    misc: List[str] = field(default_factory=list)


def _read_sentence(
    block: List[Line],
    path: Union[str, Path],
    report: ConversionReport,
    *,
    tag_column: Optional[int],
    upos_column: Optional[int],
    fullwidth_punct: bool,
    on_error: OnError,
) -> Optional[_Sentence]:
    """The words, tags, UPOS and MISC of a block of numbered lines; None if
    a line is broken (reported as an error, which stops or skips it)."""
    sentence = _Sentence()
    for i, line in block:
        if line.startswith("#"):
            if line.startswith("# text = "):
                sentence.text = line[len("# text = "):]
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            report.error(on_error, path, i, f"expected 10 tab-separated columns, found {len(cols)}")
            return None
        if "-" in cols[0] or "." in cols[0]:
            kind = "multiword-token range" if "-" in cols[0] else "empty node"
            report.skip(f"{kind} line skipped (its words are kept)", where(path, i))
            continue
        if not cols[0].isdigit():
            report.error(on_error, path, i, f"ID {quote(cols[0])} is not a number")
            return None
        word = cols[1]
        if fullwidth_punct and to_fullwidth(word) != word:
            report.repair("ASCII punctuation token made full-width", where(path, i))
            word = to_fullwidth(word)
        sentence.words.append(word)
        sentence.tags.append(cols[tag_column - 1] if tag_column else "_")
        sentence.upos.append(cols[upos_column - 1] if upos_column else "_")
        sentence.misc.append(cols[9])
    return sentence


def _sentence_doc(
    sentence: _Sentence,
    vocab: Vocab,
    spaces: Spaces,
    report: ConversionReport,
    path: Union[str, Path],
    start: int,
    tag_column: Optional[int],
) -> Doc:
    """The Doc of a sentence with its tags and UPOS ("_": not set), counted."""
    words = sentence.words
    doc = Doc(vocab, words=words, spaces=_spaces(words, sentence.text, sentence.misc, spaces, report, path, start))
    for token, tag, pos in zip(doc, sentence.tags, sentence.upos):
        if tag != "_":
            token.tag_ = tag
        elif tag_column:
            report.repair("token without a tag (column is _)", where(path, start))
        if pos != "_":
            token.pos_ = pos
    report.count("sentences")
    report.count("tokens", len(doc))
    report.count("characters", len(doc.text))
    report.labels.update(t.tag_ for t in doc if t.tag_)
    return doc


def _spaces(
    words: List[str],
    text: Optional[str],
    misc: List[str],
    mode: Spaces,
    report: ConversionReport,
    path: Union[str, Path],
    line: int,
) -> List[bool]:
    if mode == "none":
        return [False] * len(words)
    if mode == "latin":
        return latin_spaces(words)
    if text is not None:
        try:
            aligned, spaces = get_words_and_spaces(words, text.rstrip())
        except ValueError:
            aligned = None
        if aligned == words:
            return spaces
        report.repair("# text does not match the words; spaces guessed", where(path, line))
    if any("SpaceAfter=No" in m for m in misc):
        spaces = ["SpaceAfter=No" not in m for m in misc]
        spaces[-1] = False
        return spaces
    return latin_spaces(words)
