"""Batched Viterbi decoding with the parameters of a pytorch-crf CRF.

pytorch-crf's own `decode` backtracks one sequence and one step at a time with
`.item()` calls; this decoder keeps every step vectorised over the batch. Rows
are sorted by length so that each step works on a prefix of the batch. The
forward pass keeps only the best score per (step, row, tag): a broadcast add
and a max over the leading (previous-tag) axis, which numpy does with
contiguous SIMD loops. Back-pointers are recomputed on the best path only,
during backtracking, from the stored scores; a per-step argmax over the short
trailing axis of the whole (rows, tags, tags) block, the expensive part, is
never needed. Same results as the argmax-per-step formulation (same float
sums, same first-index tie-breaking).

Constraints: where `joined[row, t]` is true, only the transitions that
`allowed[previous, next]` permits are open into step t (e.g. no entity or word
boundary inside a run of Latin letters, one POS tag per word).
"""
from typing import Optional

import numpy
from thinc.types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d

# added to a closed transition: finite, so sums never become NaN
CLOSED = -1e9


def viterbi_decode(
    emissions: Floats3d,
    lengths: Ints1d,
    start: Floats1d,
    end: Floats1d,
    transitions: Floats2d,
    joined: Optional[numpy.ndarray] = None,
    allowed: Optional[numpy.ndarray] = None,
) -> Ints2d:
    """Best tag sequence per row of `emissions` (batch, steps, tags); every
    length must be at least 1. Positions at or past a row's length are 0.
    `joined` (batch, steps) bool and `allowed` (tags, tags) bool constrain the
    path as described in the module docstring.
    """
    batch, steps, n_tags = emissions.shape
    tags = numpy.zeros((batch, steps), dtype="int64")
    if batch == 0 or steps == 0:
        return tags
    order = numpy.argsort(-numpy.asarray(lengths), kind="stable")
    sorted_lengths = numpy.asarray(lengths)[order]
    n_steps = int(sorted_lengths[0])
    by_step = numpy.ascontiguousarray(emissions[order].transpose(1, 0, 2)[:n_steps])
    # active[t]: how many (sorted) rows are longer than t
    active = numpy.searchsorted(-sorted_lengths, -numpy.arange(n_steps), side="left")
    prev_first = transitions[:, None, :]  # (previous tag, 1, next tag)
    into = numpy.ascontiguousarray(transitions.T)  # (next tag, previous tag)
    constrained = joined is not None and allowed is not None and bool(numpy.any(joined))
    if constrained:
        penalty = numpy.where(allowed, 0.0, CLOSED).astype(transitions.dtype)
        closed_first = transitions + penalty  # (previous tag, next tag)
        closed_into = numpy.ascontiguousarray(closed_first.T)
        sorted_joined = numpy.asarray(joined)[order].T  # (steps, rows)
    # score[t, row, tag]: best score of a path ending in `tag` at step t
    score = numpy.empty((n_steps, batch, n_tags), dtype=numpy.result_type(by_step, transitions, start))
    score[0] = start[None, :] + by_step[0]
    candidates = numpy.empty((n_tags, batch, n_tags), dtype=score.dtype)
    for t in range(1, n_steps):
        k = active[t]
        numpy.add(score[t - 1, :k].T[:, :, None], prev_first, out=candidates[:, :k])
        if constrained:
            rows_joined = numpy.flatnonzero(sorted_joined[t, :k])
            if rows_joined.size:
                candidates[:, rows_joined] = score[t - 1, rows_joined].T[:, :, None] + closed_first[:, None, :]
        numpy.add(candidates[:, :k].max(axis=0), by_step[t, :k], out=score[t, :k])
    rows = numpy.arange(batch)
    best = (score[sorted_lengths - 1, rows] + end[None, :]).argmax(axis=1)
    sorted_tags = numpy.zeros((batch, steps), dtype="int64")
    sorted_tags[rows, sorted_lengths - 1] = best
    for t in range(n_steps - 1, 0, -1):
        k = active[t]
        into_t = into[best[:k]]
        if constrained:
            into_t = numpy.where(sorted_joined[t, :k, None], closed_into[best[:k]], into_t)
        best[:k] = (score[t - 1, :k] + into_t).argmax(axis=1)
        sorted_tags[:k, t - 1] = best[:k]
    tags[order] = sorted_tags
    return tags
