"""Converters between a batch's character rows (a Ragged: every Doc's rows
concatenated, one length per Doc) and padded torch batches, for torch modules
wrapped with thinc's `PyTorchWrapper_v2` that take
`(features: (batch, max_chars, width), lengths: (batch,))`.

Padding and unpadding are one scatter or gather per batch on the active
backend (numpy or cupy), with the index arrays built once on the host. The
padded rows are sorted by decreasing length, so the modules pack them with
`enforce_sorted=True` (torch would otherwise copy the batch twice to sort
and unsort it). Docs without characters have no row in the padded batch
(packed sequences need lengths of at least 1).
"""
from typing import Callable, Tuple

import numpy
import torch
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d, Floats3d, Ints1d, Ragged


def padded_positions(lengths: Ints1d) -> Tuple[Ints1d, Ints1d, Ints1d]:
    """For the rows of a Ragged with these lengths: the padded batch row and
    column of each (empty sequences left out; the longest sequence in row 0),
    and the padded batch's lengths, decreasing."""
    lengths = numpy.asarray(lengths, dtype="int64")
    nonempty = lengths[lengths > 0]
    order = numpy.argsort(-nonempty, kind="stable")  # padded row -> sequence
    rank = numpy.empty_like(order)
    rank[order] = numpy.arange(len(order))  # sequence -> padded row
    rows = numpy.repeat(rank, nonempty)
    cols = numpy.arange(int(nonempty.sum())) - numpy.repeat(numpy.cumsum(nonempty) - nonempty, nonempty)
    return rows, cols, nonempty[order]


def pad_ragged(model: Model, features: Ragged, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """The module's arguments from a batch's character rows."""
    xp = model.ops.xp
    rows, cols, lengths = padded_positions(model.ops.to_numpy(features.lengths))
    data = features.dataXd
    padded = model.ops.alloc3f(len(lengths), int(lengths.max()) if len(lengths) else 0, data.shape[1])
    rows_xp, cols_xp = xp.asarray(rows), xp.asarray(cols)
    padded[rows_xp, cols_xp] = data
    args = ArgsKwargs(args=(xp2torch(padded, requires_grad=is_train), torch.from_numpy(lengths)), kwargs={})

    def backprop(d_args: ArgsKwargs) -> Ragged:
        d_padded = torch2xp(d_args.args[0])
        return Ragged(d_padded[rows_xp, cols_xp], features.lengths)

    return args, backprop


def padded_output(
    model: Model, inputs_outputs: Tuple[Ragged, torch.Tensor], is_train: bool
) -> Tuple[Floats3d, Callable[[Floats3d], ArgsKwargs]]:
    """The module's (batch, max_chars, width) output, kept padded, one row per
    non-empty sequence in the input's order."""
    inputs, output = inputs_outputs
    lengths = model.ops.to_numpy(inputs.lengths)
    rank = model.ops.xp.asarray(numpy.argsort(numpy.argsort(-lengths[lengths > 0], kind="stable")))
    padded = torch2xp(output)

    def backprop(d_output: Floats3d) -> ArgsKwargs:
        d_sorted = model.ops.alloc3f(*padded.shape)
        d_sorted[rank] = d_output
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_sorted)]})

    return padded[rank], backprop


def ragged_output(
    model: Model, inputs_outputs: Tuple[Ragged, torch.Tensor], is_train: bool
) -> Tuple[Ragged, Callable[[Ragged], ArgsKwargs]]:
    """The module's output back as character rows, in the input's layout."""
    inputs, output = inputs_outputs
    xp = model.ops.xp
    rows, cols, _ = padded_positions(model.ops.to_numpy(inputs.lengths))
    rows_xp, cols_xp = xp.asarray(rows), xp.asarray(cols)
    padded = torch2xp(output)

    def backprop(d_ragged: Ragged) -> ArgsKwargs:
        d_padded = model.ops.alloc3f(*padded.shape)
        d_padded[rows_xp, cols_xp] = d_ragged.dataXd
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_padded)]})

    data: Floats2d = padded[rows_xp, cols_xp] if len(rows) else model.ops.alloc2f(0, padded.shape[-1])
    return Ragged(data, inputs.lengths), backprop
