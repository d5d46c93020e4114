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
from typing import Dict, List, Optional, Sequence

import numpy
from spacy.attrs import IS_SPACE, TAG
from spacy.tokens import Doc
from spacy.util import get_words_and_spaces
from thinc.types import Ints1d

from ..char_index import token_bounds
from ..types import CharSpan
from .char_labels import SPACE_TAG
from .entity_tokens import realign_transformer_data, trim_spans

_SPACE = re.compile(r"\s")


def joint_doc(
    doc: Doc,
    text: str,
    word_starts: numpy.ndarray,
    char_tags: Optional[Ints1d],
    tag_names: Sequence[str],
    spans: Sequence[CharSpan],
    entity_tags: Dict[str, str],
) -> Doc:
    """A Doc of `text` (= `doc.text`) whose tokens are the predicted words
    (`word_starts`: bool per character; every entity boundary starts a word
    too), tagged with their first character's tag if `char_tags` are given (a
    word inside an entity: the tag `entity_tags` maps the label to, if any),
    with `spans` as its entities."""
    spans = trim_spans(text, spans)
    starts = word_starts.copy()
    space = numpy.array([c.isspace() for c in text], dtype=bool) if _SPACE.search(text) else None
    for start, end, _ in spans:
        starts[start] = True
        if end < len(starts):
            starts[end] = True
    if space is not None:  # whitespace is never part of a word
        starts[1:] |= space[1:] | space[:-1]
    bounds = numpy.append(numpy.flatnonzero(starts), len(text))
    pieces = [text[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    words = [w for w in pieces if not w.isspace()] if space is not None else pieces
    words, spaces = get_words_and_spaces(words, text)
    new = Doc(doc.vocab, words=words, spaces=spaces)
    if char_tags is not None:
        _set_tags(new, char_tags, tag_names, spans, entity_tags)
    new.set_ents(
        [new.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans],
        default="outside",
    )
    new.user_data.update(doc.user_data)
    new.cats.update(doc.cats)
    _realign_transformer_data(doc, new)
    return new


def _set_tags(
    doc: Doc,
    char_tags: Ints1d,
    tag_names: Sequence[str],
    spans: Sequence[CharSpan],
    entity_tags: Dict[str, str],
) -> None:
    strings = doc.vocab.strings
    hashes = numpy.array([strings.add(name) for name in tag_names], dtype="uint64")
    bounds = token_bounds(doc)
    tags = hashes[char_tags[bounds[:, 0]]]
    labels: List[str] = []
    label_of_char = numpy.full(len(char_tags), -1, dtype="int64")
    for start, end, label in spans:
        if entity_tags.get(label):
            label_of_char[start:end] = len(labels)
            labels.append(entity_tags[label])
    inside = label_of_char[bounds[:, 0]]
    if (inside >= 0).any():
        label_hashes = numpy.array([strings.add(tag) for tag in labels], dtype="uint64")
        tags = numpy.where(inside >= 0, label_hashes[numpy.maximum(inside, 0)], tags)
    tags[doc.to_array(IS_SPACE).astype(bool)] = strings.add(SPACE_TAG)
    doc.from_array([TAG], tags.reshape(-1, 1))


def _realign_transformer_data(old: Doc, new: Doc) -> None:
    """Align each new token to the wordpieces of every old token it overlaps."""
    if not len(new) or not new.has_extension("trf_data") or new._.trf_data is None:
        return  # no transformer output: nothing to align
    old_bounds, new_bounds = token_bounds(old), token_bounds(new)
    first = numpy.searchsorted(old_bounds[:, 1], new_bounds[:, 0], side="right")
    end = numpy.searchsorted(old_bounds[:, 0], new_bounds[:, 1], side="left")
    realign_transformer_data(new, first, end)
