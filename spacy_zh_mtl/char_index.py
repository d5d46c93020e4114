"""Vectorised maps between the characters of a Doc and its tokens."""
from typing import List, Sequence, Tuple

import numpy
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc
from thinc.types import Ints1d


def positions_in_rows(lengths: Ints1d) -> Ints1d:
    """Concatenate the ranges 0 : lengths[i]: each element's position in its
    row of a ragged array, vectorised."""
    return numpy.arange(lengths.sum()) - numpy.repeat(numpy.cumsum(lengths) - lengths, lengths)


def ragged_positions(starts: Ints1d, lengths: Ints1d) -> Ints1d:
    """Concatenate the ranges starts[i] : starts[i] + lengths[i], vectorised."""
    return numpy.repeat(starts, lengths) + positions_in_rows(lengths)


class _LastBatch:
    """The texts of the last batch asked for. Every feature source and the
    decoder need the batch's texts, and `Doc.text` rebuilds the string from
    the tokens on every call (costly for one token per character). A Doc's
    text never changes (retokenizing keeps it), and the cache holds the Docs
    themselves, so an object id cannot be reused while it is cached."""

    docs: Tuple[Doc, ...] = ()
    texts: List[str] = []


def doc_texts(docs: Sequence[Doc]) -> List[str]:
    """`[doc.text for doc in docs]`, computed once per batch."""
    last = _LastBatch
    if len(docs) != len(last.docs) or any(a is not b for a, b in zip(docs, last.docs)):
        last.docs, last.texts = tuple(docs), [doc.text for doc in docs]
    return last.texts


def code_points(text: str) -> numpy.ndarray:
    """The code point of every character of `text` (uint32), without a Python loop."""
    return numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32)


def n_chars(doc: Doc) -> int:
    """len(doc.text) without building the text (O(1) instead of O(tokens))."""
    if len(doc) == 0:
        return 0
    last = doc[-1]
    return last.idx + len(last.text_with_ws)


def char_token_index(doc: Doc) -> Ints1d:
    """Return, for every character of `doc.text`, the index of the token that
    contains it, or -1 for characters outside every token (trailing spaces).
    """
    token_of_char = numpy.full((n_chars(doc),), -1, dtype="int64")
    if len(doc) == 0:
        return token_of_char
    starts_lengths = doc.to_array([IDX, LENGTH]).astype("int64")
    starts, lengths = starts_lengths[:, 0], starts_lengths[:, 1]
    covered = ragged_positions(starts, lengths)
    token_of_char[covered] = numpy.repeat(numpy.arange(len(doc)), lengths)
    return token_of_char


def token_bounds(doc: Doc) -> numpy.ndarray:
    """Return an (n_tokens, 2) array of token start and end character offsets."""
    starts_lengths = doc.to_array([IDX, LENGTH]).astype("int64").reshape((-1, 2))
    return numpy.stack(
        [starts_lengths[:, 0], starts_lengths[:, 0] + starts_lengths[:, 1]], axis=1
    )
