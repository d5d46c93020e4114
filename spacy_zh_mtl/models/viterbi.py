"""Batched Viterbi decoding with the parameters of a pytorch-crf CRF.

pytorch-crf's own `decode` backtracks one sequence and one step at a time with
`.item()` calls; this decoder keeps every step vectorised over the batch.
"""
import numpy
from thinc.types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d


def viterbi_decode(
    emissions: Floats3d,
    lengths: Ints1d,
    start: Floats1d,
    end: Floats1d,
    transitions: Floats2d,
) -> Ints2d:
    """Best tag sequence per row of `emissions` (batch, steps, tags).
    Positions at or past a row's length are filled with its last tag.
    """
    batch, steps, n_tags = emissions.shape
    tags = numpy.zeros((batch, steps), dtype="int64")
    if batch == 0 or steps == 0:
        return tags
    rows = numpy.arange(batch)
    identity = numpy.broadcast_to(numpy.arange(n_tags), (batch, n_tags))
    history = numpy.empty((steps, batch, n_tags), dtype="int64")
    score = start[None, :] + emissions[:, 0]
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions[None, :, :]
        best_prev = candidates.argmax(axis=1)
        best_score = numpy.take_along_axis(candidates, best_prev[:, None, :], axis=1)[:, 0]
        active = (t < lengths)[:, None]
        score = numpy.where(active, best_score + emissions[:, t], score)
        history[t] = numpy.where(active, best_prev, identity)
    best = (score + end[None, :]).argmax(axis=1)
    tags[:, steps - 1] = best
    for t in range(steps - 1, 0, -1):
        best = history[t, rows, best]
        tags[:, t - 1] = best
    return tags
