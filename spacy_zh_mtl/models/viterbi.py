"""Batched Viterbi decoding with the parameters of a pytorch-crf CRF.

pytorch-crf's own `decode` backtracks one sequence and one step at a time with
`.item()` calls; this decoder keeps every step vectorised over the batch. Rows
are sorted by length so that each step works on a prefix of the batch, which
keeps the per-step cost to a handful of numpy calls.
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
    """Best tag sequence per row of `emissions` (batch, steps, tags); every
    length must be at least 1. Positions at or past a row's length are 0.
    """
    batch, steps, n_tags = emissions.shape
    tags = numpy.zeros((batch, steps), dtype="int64")
    if batch == 0 or steps == 0:
        return tags
    order = numpy.argsort(-numpy.asarray(lengths), kind="stable")
    sorted_lengths = numpy.asarray(lengths)[order]
    by_step = numpy.ascontiguousarray(emissions[order].transpose(1, 0, 2))
    # active[t]: how many (sorted) rows are longer than t
    active = numpy.searchsorted(-sorted_lengths, -numpy.arange(steps), side="left")
    history = numpy.zeros((steps, batch, n_tags), dtype="int64")
    score = start[None, :] + by_step[0]
    for t in range(1, int(sorted_lengths[0])):
        k = active[t]
        candidates = score[:k, :, None] + transitions[None, :, :]
        history[t, :k] = candidates.argmax(axis=1)
        score[:k] = candidates.max(axis=1) + by_step[t, :k]
    best = (score + end[None, :]).argmax(axis=1)
    sorted_tags = numpy.zeros((batch, steps), dtype="int64")
    sorted_tags[numpy.arange(batch), sorted_lengths - 1] = best
    for t in range(int(sorted_lengths[0]) - 1, 0, -1):
        k = active[t]
        best[:k] = history[t, numpy.arange(k), best[:k]]
        sorted_tags[:k, t - 1] = best[:k]
    tags[order] = sorted_tags
    return tags
