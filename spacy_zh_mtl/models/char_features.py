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
    # every source's shared columns, then every source's word-tower columns
    splits = [width - layer.attrs.get("word_width", 0) for width, layer in zip(widths, model.layers)]
    shared = [rows.dataXd[:, :split] for rows, split in zip(outputs, splits)]
    words = [rows.dataXd[:, split:] for rows, split, width in zip(outputs, splits, widths) if split < width]
    features = xp.concatenate(shared + words, axis=1)
    lengths = outputs[0].lengths

    def backprop(d_features: Ragged) -> List[Doc]:
        d = d_features.dataXd
        shared_start, word_start = 0, sum(splits)
        for split, width, source_backprop in zip(splits, widths, backprops):
            d_source = d[:, shared_start : shared_start + split]
            if split < width:
                d_words = d[:, word_start : word_start + width - split]
                d_source = xp.concatenate([d_source, d_words], axis=1)
                word_start += width - split
            shared_start += split
            source_backprop(Ragged(d_source, lengths))
        return docs

    return Ragged(features, lengths), backprop
