"""Registered model architectures."""
from typing import Any, Dict, List, Optional, Tuple

import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.layers import TransformerListener, TransformerModel, split_trf_batch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, chain, torch2xp, xp2torch
from thinc.types import Floats2d, Floats3d

from ..char_index import n_chars
from .char_features import wordpieces_to_chars
from .multitask_head import MultitaskCrfHead


@registry.architectures("spacy_zh_mtl.WordpieceListener.v1")
def build_wordpiece_listener(upstream: str = "*") -> Model[List[Doc], List[Any]]:
    """Listen to a spacy-transformers `Transformer` component and pass on its
    raw per-Doc output (`TransformerData`: wordpieces, alignment, hidden
    states), unpooled, so characters can get their own vectors.

    upstream (str): the name of the transformer component, or "*" for any.
    """
    return TransformerListener(upstream_name=upstream)


@registry.architectures("spacy_zh_mtl.MultitaskCharTagger.v1")
def build_multitask_char_tagger(
    tok2vec: Model,
    hidden_size: int = 100,
    dropout: float = 0.1,
    grad_factor: float = 1.0,
) -> Model[List[Doc], Floats3d]:
    """Characters -> wordpiece vectors -> shared BiGRU -> per-task emissions.

    tok2vec (Model): the transformer listener or, after `replace_listeners`,
        a transformer of the component's own (spacy-transformers'
        TransformerModel, whose batch output is split per Doc here just as
        `replace_listeners` does in memory).
    hidden_size (int): BiGRU hidden size per direction (paper: 100).
    dropout (float): dropout on the BiGRU output.
    grad_factor (float): scales the gradient passed back to the transformer.

    The output is (n_nonempty_docs, max_chars, n_tags_all_tasks) emission
    scores for the Docs with text, in order. The torch head is built by
    `build_head` once the input width and the task label counts are known.
    """
    if hidden_size <= 0:
        raise ValueError(f"hidden_size must be > 0, got {hidden_size}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if isinstance(tok2vec, TransformerModel):
        tok2vec = chain(tok2vec, split_trf_batch())
    char_features = wordpieces_to_chars(grad_factor=grad_factor)
    return Model(
        "zh_mtl_char_tagger",
        forward,
        layers=[tok2vec, char_features],
        refs={"tok2vec": tok2vec, "char_features": char_features},
        attrs={"hidden_size": hidden_size, "dropout": dropout},
    )


def build_head(model: Model, n_in: int, task_sizes: Dict[str, int]) -> None:
    """Create the torch head and add it to `model` (once)."""
    if model.has_ref("head"):
        return
    module = MultitaskCrfHead(
        n_in, model.attrs["hidden_size"], task_sizes, model.attrs["dropout"]
    )
    head = PyTorchWrapper_v2(
        module, convert_inputs=_pad_features, convert_outputs=_emissions_to_xp
    )
    model.layers.append(head)
    model.set_ref("head", head)


def head_module(model: Model) -> MultitaskCrfHead:
    """The torch module of a built head."""
    return model.get_ref("head").shims[0]._model


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Floats3d, Any]:
    tok2vec = model.get_ref("tok2vec")
    char_features = model.get_ref("char_features")
    head = model.get_ref("head")
    trf_output, backprop_tok2vec = tok2vec(docs, is_train)
    features, backprop_chars = char_features((docs, trf_output), is_train)
    nonempty = [i for i, doc in enumerate(docs) if n_chars(doc)]
    if not nonempty:
        n_tags = sum(head_module(model).task_sizes.values())
        emissions = model.ops.alloc3f(0, 0, n_tags)

        def backprop_empty(d_emissions: Floats3d) -> List[Doc]:
            return []

        return emissions, backprop_empty
    emissions, backprop_head = head([features[i] for i in nonempty], is_train)

    def backprop(d_emissions: Floats3d) -> List[Doc]:
        d_nonempty = backprop_head(d_emissions)
        d_features = [model.ops.alloc2f(*f.shape) for f in features]
        for i, d in zip(nonempty, d_nonempty):
            d_features[i] = d
        return backprop_tok2vec(backprop_chars(d_features))

    return emissions, backprop


def _pad_features(model: Model, features: List[Floats2d], is_train: bool):
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


def _emissions_to_xp(model: Model, inputs_outputs, is_train: bool):
    _, emissions = inputs_outputs

    def backprop(d_emissions: Floats3d) -> ArgsKwargs:
        return ArgsKwargs(args=(emissions,), kwargs={"grad_tensors": [xp2torch(d_emissions)]})

    return torch2xp(emissions), backprop
