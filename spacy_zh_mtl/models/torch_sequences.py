"""Converters between per-Doc character rows and padded torch batches, for
torch modules wrapped with thinc's `PyTorchWrapper_v2` that take
`(features: (batch, max_chars, width), lengths: (batch,))`.
"""
from typing import Callable, List, Tuple

import torch
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d, Floats3d


def pad_sequences(
    model: Model, features: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    """Pad a list of (n_chars, width) arrays into the module's arguments."""
    lengths = [len(f) for f in features]
    padded = model.ops.pad(features)
    torch_lengths = torch.tensor(lengths, dtype=torch.int64)
    args = ArgsKwargs(
        args=(xp2torch(padded, requires_grad=is_train), torch_lengths), kwargs={}
    )

    def backprop(d_args: ArgsKwargs) -> List[Floats2d]:
        d_padded = torch2xp(d_args.args[0])
        return [d_padded[i, :n] for i, n in enumerate(lengths)]

    return args, backprop


def padded_output(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[Floats3d, Callable[[Floats3d], ArgsKwargs]]:
    """The module's (batch, max_chars, width) output, kept padded."""
    _, output = inputs_outputs

    def backprop(d_output: Floats3d) -> ArgsKwargs:
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_output)]})

    return torch2xp(output), backprop


def unpadded_output(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """The module's output cut back to one (n_chars, width) array per Doc."""
    inputs, output = inputs_outputs
    lengths = [len(x) for x in inputs]
    padded = torch2xp(output)

    def backprop(d_outputs: List[Floats2d]) -> ArgsKwargs:
        d_padded = model.ops.pad(d_outputs, round_to=1)
        if d_padded.shape[1] < output.shape[1]:
            d_padded = model.ops.xp.pad(
                d_padded, ((0, 0), (0, output.shape[1] - d_padded.shape[1]), (0, 0))
            )
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": [xp2torch(d_padded)]})

    return [padded[i, :n] for i, n in enumerate(lengths)], backprop
