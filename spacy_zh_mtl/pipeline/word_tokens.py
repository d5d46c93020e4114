"""Joint mode: write predicted words, their tags and the entities onto a Doc.

The Doc usually comes from a character tokenizer, so its tokens are merged
into the predicted words with one bulk retokenization; tokens of any other
tokenizer are first split where a predicted word starts inside them. Tokens
never join across whitespace, and whitespace tokens keep the space tag.
"""
from typing import Dict, List, Optional, Sequence

import numpy
from spacy.attrs import IS_SPACE, TAG
from spacy.tokens import Doc
from thinc.types import Ints1d

from ..char_index import token_bounds
from .char_labels import SPACE_TAG, CharSpan
from .entity_tokens import realign_transformer_data, split_tokens, trim_spans


def set_words(
    doc: Doc,
    word_starts: numpy.ndarray,
    char_tags: Optional[Ints1d],
    tag_names: Sequence[str],
    spans: Sequence[CharSpan],
    entity_tags: Dict[str, str],
) -> None:
    """Make `doc`'s tokens the predicted words (`word_starts`: bool per
    character), tag each with its first character's tag if `char_tags` are
    given (a word inside an entity: the tag `entity_tags` maps the label to,
    if any) and set the entities."""
    spans = trim_spans(doc.text, spans)
    starts = word_starts.copy()
    for start, end, _ in spans:
        starts[start] = True
        if end < len(starts):
            starts[end] = True
    bounds = token_bounds(doc)
    if len(bounds) and (bounds[:, 1] - bounds[:, 0]).max() > 1:
        pieces = split_tokens(doc, numpy.flatnonzero(starts), {}, spans)
        first = numpy.repeat(numpy.arange(len(pieces)), pieces)
        realign_transformer_data(doc, first, first + 1)
        bounds = token_bounds(doc)
    _merge_words(doc, bounds, starts)
    if char_tags is not None:
        _set_tags(doc, char_tags, tag_names, spans, entity_tags)
    doc.set_ents(
        [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans],
        default="outside",
    )


def _merge_words(doc: Doc, bounds: numpy.ndarray, starts: numpy.ndarray) -> None:
    """Merge runs of tokens that continue a word, and keep `doc._.trf_data`
    aligned (a merged token has every wordpiece of its parts)."""
    if len(doc) < 2:
        return
    is_space = doc.to_array(IS_SPACE).astype(bool)
    joins = (
        ~starts[bounds[1:, 0]]
        & (bounds[:-1, 1] == bounds[1:, 0])  # no whitespace in between
        & ~is_space[1:]
        & ~is_space[:-1]
    )
    if not joins.any():
        return
    word_first = numpy.flatnonzero(numpy.concatenate([[True], ~joins]))
    word_end = numpy.append(word_first[1:], len(doc))
    with doc.retokenize() as retokenizer:
        for a, b in zip(word_first.tolist(), word_end.tolist()):
            if b - a > 1:
                retokenizer.merge(doc[a:b])
    realign_transformer_data(doc, word_first, word_end)


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
    if spans and entity_tags:
        label_of_char = numpy.full(len(char_tags), -1, dtype="int64")
        labels: List[str] = []
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

