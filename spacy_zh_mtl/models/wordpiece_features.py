"""Character vectors from the wordpiece output of a shared transformer.

Every character of `doc.text` gets one row: the mean of the wordpiece rows it
is aligned to (`wordpiece_alignment`), so a digit run or a Latin word that
forms one wordpiece gives that piece's vector to each of its characters, and a
character seen by several overlapping strided spans averages them. Characters
the transformer never sees (whitespace, control characters, text cut off by
truncation) get a zero row. No character is dropped.
"""
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Set, Tuple, cast

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain as chain_layers
from thinc.types import Floats2d, Ragged

from ..char_index import n_chars
from .wordpiece_alignment import batch_char_alignment

if TYPE_CHECKING:  # spacy-transformers imports transformers: seconds a CPU pipeline need not wait
    from spacy_transformers.data_classes import TransformerData


@registry.architectures("spacy_zh_mtl.WordpieceListener.v1")
def build_wordpiece_listener(upstream: str = "*") -> Model[List[Doc], List[Any]]:
    """Listen to a spacy-transformers `Transformer` component and pass on its
    raw per-Doc output (`TransformerData`: wordpieces, alignment, hidden
    states), unpooled, so characters can get their own vectors.

    upstream (str): the name of the transformer component, or "*" for any.
    """
    from spacy_transformers.layers import TransformerListener

    return TransformerListener(upstream_name=upstream)


@registry.architectures("spacy_zh_mtl.WordpieceFeatures.v1")
def build_wordpiece_features(
    tok2vec: Model, grad_factor: float = 1.0
) -> Model[List[Doc], Ragged]:
    """A character feature source: one row per character, pooled from the
    wordpiece vectors of a transformer.

    tok2vec (Model): the transformer listener or, after `replace_listeners`,
        a transformer of the component's own (spacy-transformers'
        TransformerModel, whose batch output is split per Doc here just as
        `replace_listeners` does in memory).
    grad_factor (float): scales the gradient passed back to the transformer.
    """
    from spacy_transformers.layers import TransformerModel, split_trf_batch

    if isinstance(tok2vec, TransformerModel):
        tok2vec = chain_layers(tok2vec, split_trf_batch())
    pool = wordpieces_to_chars(grad_factor=grad_factor)
    return Model(
        "wordpiece_features",
        _features_forward,
        init=_features_init,
        layers=[tok2vec, pool],
        refs={"tok2vec": tok2vec},
        dims={"nO": None},
    )


def _features_init(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    for node in model.get_ref("tok2vec").walk():
        if node.has_dim("nO") and node.get_dim("nO"):
            model.set_dim("nO", node.get_dim("nO"))
            return
    raise ValueError(
        "zh_mtl_ner: could not find the transformer's output width. Add a "
        "'transformer' component before this one (and initialize it first)."
    )


def _features_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    tok2vec, pool = model.layers
    trf_output, backprop_tok2vec = tok2vec(docs, is_train)
    features, backprop_pool = pool((docs, trf_output), is_train)
    width = model.get_dim("nO")
    if features.dataXd.shape[1] != width:  # no Doc had transformer output (empty texts)
        features = Ragged(model.ops.alloc2f(len(features.dataXd), width), features.lengths)

    def backprop(d_features: Ragged) -> List[Doc]:
        return backprop_tok2vec(backprop_pool(d_features))

    return features, backprop


def wordpieces_to_chars(
    grad_factor: float = 1.0,
) -> Model[Tuple[List[Doc], List["TransformerData"]], Ragged]:
    """Pool wordpiece vectors into one vector per character of each Doc,
    given the Docs and their transformer output.
    """
    return Model("wordpieces_to_chars", forward, attrs={"grad_factor": grad_factor})


def forward(
    model: Model, inputs: Tuple[List[Doc], List["TransformerData"]], is_train: bool
) -> Tuple[Ragged, Callable]:
    """One gather and one mean over the whole batch: every Doc's wordpiece
    rows are stacked, and the character alignments (built on the host) are
    offset into the stack, so there is one device call per batch, not per Doc.
    """
    docs, trf_datas = inputs
    grad_factor = model.attrs["grad_factor"]
    ops = model.ops
    lengths = numpy.array([n_chars(doc) for doc in docs], dtype="int32")
    hiddens = [trf_data.model_output.get("last_hidden_state") for trf_data in trf_datas]
    shapes = [None if hidden is None else hidden.shape for hidden in hiddens]
    sources: List[Floats2d] = []
    row_offsets: List[Optional[int]] = []  # where each Doc's rows start in the stack
    offset = 0
    for hidden in hiddens:
        if hidden is None or not hidden.size:
            row_offsets.append(None)  # no transformer output: no wordpiece for its characters
            continue
        row_offsets.append(offset)
        sources.append(ops.reshape2f(hidden, -1, hidden.shape[-1]))
        offset += len(sources[-1])
    rows, char_lengths = batch_char_alignment(docs, trf_datas, row_offsets)
    width = sources[0].shape[1] if sources else 0
    stacked = ops.xp.concatenate(sources) if sources else ops.alloc2f(0, width)
    align = Ragged(ops.asarray1i(rows), ops.asarray1i(char_lengths))
    from spacy_transformers.align import apply_alignment
    from spacy_transformers.data_classes import TransformerData
    from transformers.file_utils import ModelOutput

    gathered, backprop_gather = apply_alignment(ops, align, stacked)
    # characters without a wordpiece (length 0) get a zero row from the mean
    pooled = ops.reduce_mean(cast(Floats2d, gathered.dataXd), align.lengths)

    def backprop(d_pooled: Ragged) -> List["TransformerData"]:
        d_gathered = ops.backprop_reduce_mean(cast(Floats2d, d_pooled.dataXd), align.lengths)
        d_stacked = backprop_gather(Ragged(d_gathered, align.lengths)) * grad_factor
        d_trf_datas, start = [], 0
        for trf_data, shape in zip(trf_datas, shapes):
            if shape is None or not numpy.prod(shape):
                d_hidden = ops.alloc(shape if shape is not None else (0,), dtype="f")
            else:
                n = int(numpy.prod(shape[:-1]))
                d_hidden = d_stacked[start : start + n].reshape(shape)
                start += n
            d_trf_datas.append(
                TransformerData(
                    model_output=ModelOutput(last_hidden_state=d_hidden),
                    wordpieces=trf_data.wordpieces,
                    align=trf_data.align,
                )
            )
        return d_trf_datas

    return Ragged(pooled, ops.asarray1i(lengths)), backprop


def transformer_node_ids(model: Model) -> Set[int]:
    """The ids of the nodes of every transformer (or transformer listener)
    that feeds a wordpiece source inside `model`."""
    return {
        node.id
        for source in model.walk()
        if source.name == "wordpiece_features"
        for node in source.get_ref("tok2vec").walk()
    }
