"""From a batch's emission scores to character decisions, one vectorised pass per task.

Every task is decoded with its CRF over the whole padded batch
(`models.viterbi`), under two constraints:

- Runs of Latin letters and digits (half- or full-width: "OpenAI", "ＰＡＴＡ",
  "5999") are atomic: no entity or word boundary falls inside one.
- In joint mode every character of a predicted word takes one POS tag: the
  POS decoder runs with "same tag" transitions forced inside words.

Word starts are the segmentation decoder's B/S characters plus every entity
boundary (entity boundaries win).
"""
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Tuple

import numpy
from thinc.types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d

from ..char_index import code_points
from ..models.viterbi import viterbi_decode
from .char_labels import BEGIN, CWS_TAGS, END, INSIDE, OUTSIDE, EntityTagScheme, cws_continuation

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

    ner: Ints2d
    word_starts: Optional[numpy.ndarray] = None
    pos: Optional[Ints2d] = None


def pad_flat(flat: numpy.ndarray, lengths: Ints1d, steps: int, fill=0) -> numpy.ndarray:
    """(batch, steps) from the concatenation of per-text rows."""
    out = numpy.full((len(lengths), steps), fill, dtype=flat.dtype)
    rows = numpy.repeat(numpy.arange(len(lengths)), lengths)
    cols = numpy.arange(len(flat)) - numpy.repeat(numpy.cumsum(lengths) - lengths, lengths)
    out[rows, cols] = flat
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
    prefix = scheme.prefix[tags]
    label = scheme.label_of_tag[tags]
    continues = numpy.zeros(tags.shape, dtype=bool)
    continues[:, 1:] = (
        numpy.isin(prefix[:, 1:], (INSIDE, END))
        & numpy.isin(prefix[:, :-1], (BEGIN, INSIDE))
        & (label[:, 1:] == label[:, :-1])
    )
    inside = prefix != OUTSIDE
    starts = inside & ~continues
    ended = numpy.zeros(tags.shape, dtype=bool)
    ended[:, 1:] = inside[:, :-1] & ~continues[:, 1:]
    return starts | ended


def decode_batch(
    emissions: Mapping[str, Floats3d],
    lengths: Ints1d,
    texts: Sequence[str],
    crfs: Mapping[str, CrfParameters],
    scheme: EntityTagScheme,
    annotate: Sequence[str],
) -> Decoded:
    """Decode the tasks `annotate` needs for a batch of non-empty texts.
    `emissions`: task -> (batch, steps, tags) numpy scores."""
    steps = emissions["ner"].shape[1]
    runs = run_continues(texts, steps)
    ner = viterbi_decode(emissions["ner"], lengths, *crfs["ner"], joined=runs, allowed=scheme.continuation())
    decoded = Decoded(ner)
    if "tokens" in annotate:
        cws = viterbi_decode(emissions["cws"], lengths, *crfs["cws"], joined=runs, allowed=cws_continuation())
        starts = numpy.isin(cws, (CWS_TAGS.index("B"), CWS_TAGS.index("S")))
        starts |= entity_boundaries(ner, scheme)
        starts[:, 0] = True
        decoded.word_starts = starts
    if "tags" in annotate:
        n_tags = emissions["pos"].shape[2]
        same_tag = numpy.eye(n_tags, dtype=bool)
        decoded.pos = viterbi_decode(
            emissions["pos"], lengths, *crfs["pos"], joined=~decoded.word_starts, allowed=same_tag
        )
    return decoded
