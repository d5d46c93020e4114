"""Character features: the per-character rows of several feature sources, side by side.

A feature source is any `Model[List[Doc], Ragged]` that gives one row per
character of every Doc's text (the batch's rows concatenated, one length per
Doc) and sets its output width `nO` when initialized:
the transformer's wordpieces (`wordpiece_features`), a pretrained character
table (`char_vectors`), lexicon matches (`lexicon_features`), LAC's contextual
states (`lac_encoder`). Adding a source is one module and one config block:

    [components.ner.model.char_features.sources.vectors]
    @architectures = "spacy_zh_mtl.CharVectors.v1"

A source may end its rows with columns that only a word tower reads (its
`word_width` attr, e.g. `LacStates.v1` with `word_layer`); those come last in
the concatenation, after every source's shared columns.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Ragged

from ..char_index import n_chars


@registry.architectures("spacy_zh_mtl.CharFeatures.v1")
def build_char_features(sources: Dict[str, Any]) -> Model[List[Doc], Ragged]:
    """Concatenate the rows of the named feature sources, per character.

    sources (Dict[str, Model]): name -> feature source. A source set to null
        is left out, so `--components.ner.model.char_features.sources.NAME null`
        removes one.
    """
    named = {name: source for name, source in sources.items() if source is not None}
    bad = [name for name, source in named.items() if not isinstance(source, Model)]
    if bad:
        raise ValueError(f"char_features: sources {bad} are not models (null or a model block)")
    if not named:
        raise ValueError("char_features: no feature source given (all are null)")
    layers = list(named.values())
    return Model(
        "char_features",
        forward,
        init=init,
        layers=layers,
        refs=dict(named),
        dims={"nO": None},
        attrs={
            "sources": list(named),
            "word_width": sum(source.attrs.get("word_width", 0) for source in layers),
        },
    )


def init(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    for layer in model.layers:
        layer.initialize(X=X)
    model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    outputs, backprops = zip(*(layer(docs, is_train) for layer in model.layers))
    widths = [layer.get_dim("nO") for layer in model.layers]
    n_rows = sum(n_chars(doc) for doc in docs)
    for name, width, rows in zip(model.attrs["sources"], widths, outputs):
        if rows.dataXd.shape != (n_rows, width) or len(rows.lengths) != len(docs):
            raise ValueError(
                f"char_features: source {name!r} gave {rows.dataXd.shape} rows for {len(docs)} "
                f"Docs of {n_rows} characters (expected one row of {width} per character)"
            )
    xp = model.ops.xp
    features = xp.concatenate([rows.dataXd for rows in outputs], axis=1)
    offsets = [0]
    for width in widths:
        offsets.append(offsets[-1] + width)
    lengths = outputs[0].lengths
    columns = _shared_then_word_columns(model)
    if columns is not None:
        features = features[:, xp.asarray(columns)]

    def backprop(d_features: Ragged) -> List[Doc]:
        d = d_features.dataXd
        if columns is not None:
            d = d[:, xp.asarray(numpy.argsort(columns))]
        for j, source_backprop in enumerate(backprops):
            source_backprop(Ragged(d[:, offsets[j] : offsets[j + 1]], lengths))
        return docs

    return Ragged(features, lengths), backprop


def _shared_then_word_columns(model: Model) -> Optional[numpy.ndarray]:
    """The order of the sources' concatenated columns that puts every
    source's word-tower columns last; None where no source has any."""
    if not model.attrs["word_width"]:
        return None
    shared, words, start = [], [], 0
    for layer in model.layers:
        width, word_width = layer.get_dim("nO"), layer.attrs.get("word_width", 0)
        shared.append(numpy.arange(start, start + width - word_width))
        words.append(numpy.arange(start + width - word_width, start + width))
        start += width
    return numpy.concatenate(shared + words)
