"""Joint mode: a Doc of the predicted words, with their tags and the entities.

The component's input Doc usually comes from a character tokenizer. Merging
its tokens one word at a time costs more than the whole decoder, so the
words are written into a new Doc built in one call, and the input's
user data (extension attributes: `doc._.trf_data`, realigned to the words) and
categories are carried over. Words never contain whitespace; whitespace
becomes trailing spaces or whitespace tokens, as spaCy's tokenizers do, and
whitespace tokens get the space tag.
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IS_SPACE, TAG
from spacy.strings import StringStore
from spacy.tokens import Doc
from spacy.util import get_words_and_spaces
from thinc.types import Ints1d

from ..char_index import token_bounds
from ..types import CharSpan
from .char_labels import SPACE_TAG
from .decoding import Decoded
from .entity_tokens import realign_transformer_data, trim_spans

_SPACE = re.compile(r"\s")


@dataclass
class TagHashes:
    """The StringStore hashes of the tags joint mode writes, computed once
    per batch: the POS decoder's tags, the entity labels' tags, the space tag."""

    tags: numpy.ndarray
    entity: Dict[str, int]
    space: int

    @classmethod
    def add(cls, strings: StringStore, tag_names: Sequence[str], entity_tags: Dict[str, str]) -> "TagHashes":
        return cls(
            numpy.array([strings.add(name) for name in tag_names], dtype="uint64"),
            {label: strings.add(tag) for label, tag in entity_tags.items() if tag},
            strings.add(SPACE_TAG),
        )


def joint_docs(
    docs: Sequence[Doc],
    texts: Sequence[str],
    decoded: Decoded,
    spans: Sequence[Sequence[CharSpan]],
    tag_names: Sequence[str],
    entity_tags: Dict[str, str],
) -> List[Doc]:
    """`joint_doc` for each (non-empty) Doc of a decoded batch, in row order."""
    hashes = TagHashes.add(docs[0].vocab.strings, tag_names, entity_tags) if decoded.pos is not None else None
    return [
        joint_doc(
            doc,
            text,
            decoded.word_starts[row, : len(text)],
            spans[row],
            None if hashes is None else (decoded.pos[row, : len(text)], hashes),
        )
        for row, (doc, text) in enumerate(zip(docs, texts))
    ]


def joint_doc(
    doc: Doc,
    text: str,
    word_starts: numpy.ndarray,
    spans: Sequence[CharSpan],
    char_tags: Optional[Tuple[Ints1d, TagHashes]] = None,
) -> Doc:
    """A Doc of `text` (= `doc.text`) whose tokens are the predicted words
    (`word_starts`: bool per character; every entity boundary starts a word
    too), with `spans` as its entities and, given `char_tags` (tag id per
    character and the tags' hashes), each word tagged with its first
    character's tag (a word inside an entity: the tag its label maps to, if any)."""
    spans = trim_spans(text, spans)
    starts = word_starts.copy()
    for start, end, _ in spans:
        starts[start] = True
        if end < len(starts):
            starts[end] = True
    has_space = _SPACE.search(text) is not None
    if has_space:  # whitespace is never part of a word
        space = numpy.array([c.isspace() for c in text], dtype=bool)
        starts[1:] |= space[1:] | space[:-1]
    bounds = numpy.append(numpy.flatnonzero(starts), len(text)).tolist()
    words = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    if has_space:
        words, spaces = get_words_and_spaces([w for w in words if not w.isspace()], text)
    else:
        spaces = [False] * len(words)
    new = Doc(doc.vocab, words=words, spaces=spaces)
    if char_tags is not None:
        _set_tags(new, *char_tags, spans)
    new.set_ents(
        [new.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans],
        default="outside",
    )
    new.user_data.update(doc.user_data)
    new.cats.update(doc.cats)
    _realign_transformer_data(doc, new)
    return new


def _set_tags(doc: Doc, char_tags: Ints1d, hashes: TagHashes, spans: Sequence[CharSpan]) -> None:
    first_chars = token_bounds(doc)[:, 0]
    tags = hashes.tags[char_tags[first_chars]]
    for start, end, label in spans:
        if label in hashes.entity:
            tags[(first_chars >= start) & (first_chars < end)] = hashes.entity[label]
    tags[doc.to_array(IS_SPACE).astype(bool)] = hashes.space
    doc.from_array([TAG], tags.reshape(-1, 1))


def _realign_transformer_data(old: Doc, new: Doc) -> None:
    """Align each new token to the wordpieces of every old token it overlaps."""
    if not len(new) or not new.has_extension("trf_data") or new._.trf_data is None:
        return  # no transformer output: nothing to align
    old_bounds, new_bounds = token_bounds(old), token_bounds(new)
    first = numpy.searchsorted(old_bounds[:, 1], new_bounds[:, 0], side="right")
    end = numpy.searchsorted(old_bounds[:, 0], new_bounds[:, 1], side="left")
    realign_transformer_data(new, first, end)
