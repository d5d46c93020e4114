"""Vectorised maps between the characters of a Doc and its tokens."""
import numpy
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc
from thinc.types import Ints1d


def ragged_positions(starts: Ints1d, lengths: Ints1d) -> Ints1d:
    """Concatenate the ranges starts[i] : starts[i] + lengths[i], vectorised."""
    offsets = numpy.arange(lengths.sum()) - numpy.repeat(numpy.cumsum(lengths) - lengths, lengths)
    return numpy.repeat(starts, lengths) + offsets


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
