"""Int8 BiGRUs for prediction on CPU.

On one CPU thread the BiGRUs (LAC's encoder and the shared one) are most of
the prediction time. torch's dynamic quantization keeps a GRU's weights as
int8 and quantizes its inputs on the fly, so the matrix products run on int8
kernels, about twice as fast; the states differ from the float ones by
rounding (docs/results.md measures what that does to F1 and speed).

The float GRU stays the model's weights: training, serialization and GPU
prediction use it. A module that runs a GRU through `run_gru` uses an int8
copy only when its `int8` flag is set, it is in eval mode (thinc's `predict`)
and the input is on the CPU; the copy is made from the float weights when a
prediction first needs it, and again after a training step or a change of
the weights that torch records (loading).
"""
import warnings
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from thinc.api import Model
from torch import nn
from torch.nn.utils.rnn import PackedSequence

_CACHE = "_int8_gru_cache"  # kept out of the module's state_dict


def set_int8(model: Model, enabled: bool) -> None:
    """Switch int8 prediction on or off for every torch module of `model`
    that supports it (an `int8` attribute), now and for heads built later
    (`model.attrs["int8"]`)."""
    model.attrs["int8"] = enabled
    for module in _int8_modules(model):
        module.int8 = enabled


@contextmanager
def float32_only(model: Model) -> Iterator[None]:
    """int8 off for `model`'s modules inside the block: a frozen encoder
    that feeds a training step runs as it will have been trained with."""
    switched = [module for module in _int8_modules(model) if module.int8]
    for module in switched:
        module.int8 = False
    try:
        yield
    finally:
        for module in switched:
            module.int8 = True


def _int8_modules(model: Model) -> List[nn.Module]:
    modules = []
    for node in model.walk():
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if isinstance(module, nn.Module):
                modules.extend(child for child in module.modules() if hasattr(child, "int8"))
    return modules


def run_gru(owner: nn.Module, gru: nn.GRU, packed: PackedSequence) -> PackedSequence:
    """`gru(packed)`'s output sequence; from an int8 copy of `gru` when `owner`
    predicts with `int8` on and the input is on the CPU."""
    if owner.training:
        # the weights are about to change, possibly in place where torch does
        # not see it (thinc's optimizers update the arrays torch shares)
        owner.__dict__.pop(_CACHE, None)
    elif getattr(owner, "int8", False) and packed.data.device.type == "cpu":
        quantized = _int8_copy(owner, gru)
        if quantized is not None:
            return _run_quantized(quantized, packed)
    gru.flatten_parameters()  # one contiguous weight block for cuDNN (a no-op on CPU)
    return gru(packed)[0]


def _run_quantized(quantized: nn.Module, packed: PackedSequence) -> PackedSequence:
    """The output sequence of an int8 GRU. torch's module calls
    `torch.quantized_gru`, whose overload resolution tries the padded
    signature first and formats the hidden state into an error message on
    every packed call; the packed overload is called directly instead, with
    the module as the fallback where this torch build differs."""
    directions = 2 if quantized.bidirectional else 1
    hx = torch.zeros(
        quantized.num_layers * directions, int(packed.batch_sizes[0]), quantized.hidden_size, dtype=packed.data.dtype
    )
    try:
        params = [weights.param for weights in quantized._all_weight_values]
        output, _ = torch.ops.aten.quantized_gru.data(
            packed.data, packed.batch_sizes, hx, params, quantized.bias, quantized.num_layers,
            float(quantized.dropout), False, quantized.bidirectional,
        )
    except (AttributeError, RuntimeError, TypeError):
        return quantized(packed)[0]
    return PackedSequence(output, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


def _int8_copy(owner: nn.Module, gru: nn.GRU) -> Optional[nn.Module]:
    """The int8 copy of `gru`, remade when its weights changed; None where
    this torch build has no dynamic quantization."""
    key = tuple((p.data_ptr(), p._version) for p in gru.parameters())
    cache: Dict[int, Tuple[tuple, Optional[nn.Module]]] = owner.__dict__.setdefault(_CACHE, {})
    cached = cache.get(id(gru))
    if cached is None or cached[0] != key:
        cache[id(gru)] = (key, _quantize(gru))
    return cache[id(gru)][1]


def _quantize(gru: nn.GRU) -> Optional[nn.Module]:
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        warnings.warn("int8: this torch build has no dynamic quantization; predicting in float32")
        return None
    with warnings.catch_warnings():
        # torch announces a move of this API to torchao; the kernels are the same
        warnings.simplefilter("ignore")
        with torch.no_grad():
            return quantize_dynamic(nn.Sequential(gru), {nn.GRU}, dtype=torch.qint8)[0]
