"""Line-per-sentence corpora: space-separated words and `word_TAG` items.

Segmented words (SXU, SIGHAN 2005 gold): one sentence per line, words
separated by one or more spaces (SXU, PKU and MSR use two). The words become
the tokens of a Doc, without spaces between them and without any other
annotation: full-width digits, the BOM of cityu_test_gold.utf8 (removed and
counted) and everything else are kept as they are.

`word_TAG` lines (Zhuxian): items separated by spaces, each split at its
last `_` into word and tag (so a word may itself contain `_`).

Rules: empty lines are skipped and counted; an item without `_`, with an
empty word or an empty tag gives "file:line: reason" (on_error="stop",
default) or the line is skipped and counted.
"""
from pathlib import Path
from typing import Iterator, Optional, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .lines import read_lines
from .conversion_report import ConversionReport, OnError, quote, where


def segmented_to_docs(
    path: Union[str, Path], vocab: Vocab, report: ConversionReport, *, encoding: Optional[str] = None
) -> Iterator[Doc]:
    """Convert a file of space-separated words to Docs (words only).

    YIELDS (Doc): One Doc per non-empty line; tokens are the words.
    """
    for i, line in read_lines(path, report, encoding):
        words = line.split()
        if not words:
            report.skip("empty sentence (blank line)", where(path, i))
            continue
        doc = Doc(vocab, words=words, spaces=[False] * len(words))
        report.count("sentences")
        report.count("tokens", len(doc))
        report.count("characters", len(doc.text))
        yield doc


def word_tag_to_docs(
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    sep: str = "_",
    on_error: OnError = "stop",
    encoding: Optional[str] = None,
) -> Iterator[Doc]:
    """Convert a file of `word_TAG` lines to Docs with token.tag_ set.

    sep: The separator between word and tag (split at its last occurrence).
    YIELDS (Doc): One Doc per non-empty line, with tags; no NER annotation.
    """
    for i, line in read_lines(path, report, encoding):
        items = line.split()
        if not items:
            report.skip("empty sentence (blank line)", where(path, i))
            continue
        words, tags = [], []
        for item in items:
            word, found, tag = item.rpartition(sep)
            if not found or not word or not tag:
                report.error(on_error, path, i, f"item {quote(item)} is not word{sep}TAG")
                break
            words.append(word)
            tags.append(tag)
        else:
            doc = Doc(vocab, words=words, spaces=[False] * len(words), tags=tags)
            report.count("sentences")
            report.count("tokens", len(doc))
            report.count("characters", len(doc.text))
            report.labels.update(tags)
            yield doc
