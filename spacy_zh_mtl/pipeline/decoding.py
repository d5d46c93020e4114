"""From a batch's emission scores to character decisions, one vectorised pass per task.

Every task is decoded with its CRF over the whole padded batch
(`models.viterbi`), under two constraints:

- Runs of Latin letters and digits (half- or full-width: "OpenAI", "ＰＡＴＡ",
  "5999") are atomic: no entity or word boundary falls inside one.
- In joint mode every character of a predicted word takes one POS tag. The
  POS decoder runs over words: a word's score for a tag is the sum of its
  characters' scores plus the tag's self-transition once per character
  after the first, which is the score of the character path that keeps the
  tag through the word, so the result is that of the constrained character
  decoding, with fewer steps and no constraint to check per step.

Word starts are the segmentation decoder's B/S characters plus every entity
boundary (entity boundaries win). Where the model has a word tower, its
"words" and "tags" emissions are the segmentation and POS decoded.
"""
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy
from thinc.types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d

from ..char_index import code_points, positions_in_rows
from ..losses.targets import WORD_TERMS
from ..models.viterbi import viterbi_decode
from .char_labels import CWS_TAGS, OUTSIDE, EntityTagScheme, cws_continuation

CrfParameters = Tuple[Floats1d, Floats1d, Floats2d]  # start, end, transitions

# code point ranges of Latin letters and digits, ASCII and full-width
_RUN_RANGES = numpy.array(
    [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)]
)


@dataclass
class Decoded:
    """A batch's decisions, padded (batch, steps): NER tag ids; with
    tokens, whether each character starts a word; with tags, each
    character's POS tag id (one per word)."""

    lengths: Ints1d
    ner: Ints2d
    word_starts: Optional[numpy.ndarray] = None
    pos: Optional[Ints2d] = None


def pad_flat(flat: numpy.ndarray, lengths: Ints1d, steps: int, fill=0) -> numpy.ndarray:
    """(batch, steps, ...) from the concatenation of per-text rows."""
    out = numpy.full((len(lengths), steps) + flat.shape[1:], fill, dtype=flat.dtype)
    rows = numpy.repeat(numpy.arange(len(lengths)), lengths)
    out[rows, positions_in_rows(lengths)] = flat
    return out


def run_continues(texts: Sequence[str], steps: int) -> numpy.ndarray:
    """(batch, steps) bool: the character continues a run of Latin letters
    and digits that the previous character is part of."""
    points = code_points("".join(texts))
    lengths = numpy.fromiter(map(len, texts), dtype="int64", count=len(texts))
    in_run = numpy.zeros(len(points), dtype=bool)
    for low, high in _RUN_RANGES:
        in_run |= (points >= low) & (points <= high)
    continues = numpy.zeros(len(points), dtype=bool)
    continues[1:] = in_run[1:] & in_run[:-1]
    starts = numpy.cumsum(lengths) - lengths
    continues[starts[lengths > 0]] = False  # a text's first character continues nothing
    return pad_flat(continues, lengths, steps, fill=False)


def entity_boundaries(tags: Ints2d, scheme: EntityTagScheme) -> numpy.ndarray:
    """(batch, steps) bool: an entity starts at the character, or one ended
    just before it (the same reading of I-/E- tags as `EntityTagScheme.decode`)."""
    inside = scheme.prefix[tags] != OUTSIDE
    continues = scheme.continues(tags)
    ended = numpy.zeros(tags.shape, dtype=bool)
    ended[:, 1:] = inside[:, :-1] & ~continues[:, 1:]
    return (inside & ~continues) | ended


def decoder_inputs(by_task: Mapping[str, Any]) -> Dict[str, Any]:
    """Per-task emissions or CRF scores for the decoder: where the model has a
    word tower, its "words" and "tags" are the segmentation and POS written."""
    return {**by_task, **{task: by_task[term] for term, task in WORD_TERMS.items() if term in by_task}}


def decode_batch(
    emissions: Mapping[str, Floats3d],
    texts: Sequence[str],
    crfs: Mapping[str, CrfParameters],
    scheme: EntityTagScheme,
    annotate: Sequence[str],
) -> Decoded:
    """Decode the tasks `annotate` needs for a batch of non-empty texts.
    `emissions`: task -> (batch, steps, tags) numpy scores."""
    steps = emissions["ner"].shape[1]
    lengths = numpy.fromiter(map(len, texts), dtype="int64", count=len(texts))
    runs = run_continues(texts, steps)
    ner = viterbi_decode(emissions["ner"], lengths, *crfs["ner"], joined=runs, allowed=scheme.continuation())
    decoded = Decoded(lengths, ner)
    if "tokens" in annotate:
        cws = viterbi_decode(emissions["cws"], lengths, *crfs["cws"], joined=runs, allowed=cws_continuation())
        starts = numpy.isin(cws, (CWS_TAGS.index("B"), CWS_TAGS.index("S")))
        starts |= entity_boundaries(ner, scheme)
        starts[:, 0] = True
        decoded.word_starts = starts
    if "tags" in annotate:
        decoded.pos = decode_word_tags(emissions["pos"], lengths, decoded.word_starts, crfs["pos"])
    return decoded


def decode_word_tags(
    emissions: Floats3d, lengths: Ints1d, word_starts: numpy.ndarray, crf: CrfParameters
) -> Ints2d:
    """(batch, steps) tag ids, one per word (see the module docstring).
    `word_starts` must be true at each row's first character."""
    batch, steps, _ = emissions.shape
    start, end, transitions = crf
    valid = numpy.arange(steps)[None, :] < numpy.asarray(lengths)[:, None]
    chars = emissions[valid]  # (characters, tags), row by row
    firsts = numpy.flatnonzero(word_starts[valid])
    word_lengths = numpy.diff(numpy.append(firsts, len(chars)))
    words = numpy.add.reduceat(chars, firsts, axis=0)
    words += (word_lengths - 1)[:, None] * numpy.diagonal(transitions)[None, :]
    n_words = (word_starts & valid).sum(axis=1)
    word_tags = viterbi_decode(pad_flat(words, n_words, int(n_words.max())), n_words, start, end, transitions)
    in_words = numpy.arange(word_tags.shape[1])[None, :] < n_words[:, None]
    tags = numpy.zeros((batch, steps), dtype=word_tags.dtype)
    tags[valid] = numpy.repeat(word_tags[in_words], word_lengths)
    return tags
