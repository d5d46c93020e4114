"""Converters between a batch's character rows (a Ragged: every Doc's rows
concatenated, one length per Doc) and torch's packed sequences, for torch
modules wrapped with thinc's `PyTorchWrapper_v2` that take
`(data, batch_sizes)`: the rows of a `PackedSequence` of the Docs sorted by
decreasing length (time-major) and the number of Docs still running at
each step.

Each conversion is one gather per batch on the active backend (numpy or
cupy), with the permutation built once per batch on the host: no padded copy
of the batch is made on the way in, and torch neither pads nor sorts. Docs
without characters have no row (packed sequences need lengths of at least 1).
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Tuple

import numpy
import torch
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats3d, Ints1d, Ragged

from ..char_index import positions_in_rows


@dataclass(frozen=True)
class PackedLayout:
    """Where each character row of a batch goes in the packed sequence.

    order: packed position -> character row (`packed = rows[order]`).
    inverse: character row -> packed position (`rows = packed[inverse]`).
    batch_sizes: Docs still running at each step (torch's `batch_sizes`).
    doc: character row -> its Doc among the non-empty ones, in input order.
    col: character row -> its position in the Doc.
    n_docs: the non-empty Docs.
    """

    order: Ints1d
    inverse: Ints1d
    batch_sizes: Ints1d
    doc: Ints1d
    col: Ints1d
    n_docs: int

    @property
    def steps(self) -> int:
        return len(self.batch_sizes)


def packed_layout(lengths: Ints1d) -> PackedLayout:
    """The packed layout of a Ragged with these lengths (computed once per
    batch: the input and the output converters both ask)."""
    lengths = numpy.asarray(lengths, dtype="int64")
    return _layout(lengths.tobytes())


@lru_cache(maxsize=8)
def _layout(lengths_bytes: bytes) -> PackedLayout:
    lengths = numpy.frombuffer(lengths_bytes, dtype="int64")
    nonempty = lengths[lengths > 0]
    n_rows = int(nonempty.sum())
    starts = numpy.cumsum(nonempty) - nonempty
    by_length = numpy.argsort(-nonempty, kind="stable")  # sorted rank -> Doc
    sorted_lengths = nonempty[by_length]
    steps = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    # the sorted lengths decrease, so the Docs running at step t are a prefix
    batch_sizes = numpy.searchsorted(-sorted_lengths, -numpy.arange(steps), side="left")
    step = numpy.repeat(numpy.arange(steps), batch_sizes)
    order = starts[by_length][positions_in_rows(batch_sizes)] + step
    inverse = numpy.empty_like(order)
    inverse[order] = numpy.arange(n_rows)
    doc = numpy.repeat(numpy.arange(len(nonempty)), nonempty)
    return PackedLayout(order, inverse, batch_sizes.astype("int64"), doc, positions_in_rows(nonempty), len(nonempty))


def pack_ragged(model: Model, features: Ragged, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """The module's arguments from a batch's character rows."""
    xp = model.ops.xp
    layout = packed_layout(model.ops.to_numpy(features.lengths))
    order, inverse = xp.asarray(layout.order), xp.asarray(layout.inverse)
    data = features.dataXd[order]
    batch_sizes = torch.from_numpy(layout.batch_sizes)  # torch wants them on the host
    args = ArgsKwargs(args=(xp2torch(data, requires_grad=is_train), batch_sizes), kwargs={})

    def backprop(d_args: ArgsKwargs) -> Ragged:
        return Ragged(torch2xp(d_args.args[0])[inverse], features.lengths)

    return args, backprop


def ragged_output(
    model: Model, inputs_outputs: Tuple[Ragged, torch.Tensor], is_train: bool
) -> Tuple[Ragged, Callable[[Ragged], ArgsKwargs]]:
    """The module's packed output rows back as character rows, in the input's layout."""
    inputs, output = inputs_outputs
    xp = model.ops.xp
    layout = packed_layout(model.ops.to_numpy(inputs.lengths))
    order, inverse = xp.asarray(layout.order), xp.asarray(layout.inverse)

    def backprop(d_ragged: Ragged) -> ArgsKwargs:
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_ragged.dataXd[order])]})

    return Ragged(torch2xp(output)[inverse], inputs.lengths), backprop


def padded_output(
    model: Model, inputs_outputs: Tuple[Ragged, torch.Tensor], is_train: bool
) -> Tuple[Floats3d, Callable[[Floats3d], ArgsKwargs]]:
    """The module's packed output rows as a (non-empty Docs, max chars, width)
    batch, one row per non-empty Doc in the input's order, zeros past its end."""
    inputs, output = inputs_outputs
    xp = model.ops.xp
    layout = packed_layout(model.ops.to_numpy(inputs.lengths))
    docs, cols = xp.asarray(layout.doc[layout.order]), xp.asarray(layout.col[layout.order])
    packed = torch2xp(output)
    padded = model.ops.alloc3f(layout.n_docs, layout.steps, packed.shape[1])
    padded[docs, cols] = packed

    def backprop(d_padded: Floats3d) -> ArgsKwargs:
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_padded[docs, cols])]})

    return padded, backprop
