"""Character features: the per-character rows of several feature sources, side by side.

A feature source is any `Model[List[Doc], List[Floats2d]]` that gives one row
per character of `doc.text` and sets its output width `nO` when initialized:
the transformer's wordpieces (`wordpiece_features`), a pretrained character
table (`char_vectors`), lexicon matches (`lexicon_features`), LAC's contextual
states (`lac_encoder`). Adding a source is one module and one config block:

    [components.ner.model.char_features.sources.vectors]
    @architectures = "spacy_zh_mtl.CharVectors.v1"
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from ..char_index import n_chars


@registry.architectures("spacy_zh_mtl.CharFeatures.v1")
def build_char_features(sources: Dict[str, Any]) -> Model[List[Doc], List[Floats2d]]:
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
        attrs={"sources": list(named)},
    )


def init(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    for layer in model.layers:
        layer.initialize(X=X)
    model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    ops = model.ops
    outputs, backprops = zip(*(layer(docs, is_train) for layer in model.layers))
    widths = [layer.get_dim("nO") for layer in model.layers]
    for name, width, rows in zip(model.attrs["sources"], widths, outputs):
        for doc, doc_rows in zip(docs, rows):
            if doc_rows.shape != (n_chars(doc), width):
                raise ValueError(
                    f"char_features: source {name!r} gave {doc_rows.shape} for a Doc "
                    f"of {n_chars(doc)} characters (expected one row of {width} per character)"
                )
    features = [
        ops.xp.concatenate([rows[i] for rows in outputs], axis=1) for i in range(len(docs))
    ]
    offsets = [0]
    for width in widths:
        offsets.append(offsets[-1] + width)

    def backprop(d_features: List[Floats2d]) -> List[Doc]:
        for j, source_backprop in enumerate(backprops):
            source_backprop([d[:, offsets[j] : offsets[j + 1]] for d in d_features])
        return docs

    return features, backprop
