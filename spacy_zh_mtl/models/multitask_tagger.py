"""The `zh_mtl_ner` model: character features -> shared BiGRU -> per-task emissions.

The model's output is one (n_nonempty_docs, max_chars, n_tags) array: the
emission scores of every task side by side, in the order of the task sizes
the component gives it (`ner` first). `task_sizes` gives that layout,
`task_crfs` the CRF layers the loss trains and `crf_parameters` their scores
as arrays for decoding; nothing else needs to know the torch module.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchWrapper_v2
from thinc.types import Floats1d, Floats2d, Floats3d, Ragged
from torchcrf import CRF

from .char_features import build_char_features
from .multitask_head import MultitaskCrfHead
from .torch_sequences import pack_ragged, padded_output
from .wordpiece_features import build_wordpiece_features


@registry.architectures("spacy_zh_mtl.MultitaskCharTagger.v2")
def build_multitask_char_tagger(
    tok2vec: Optional[Model] = None,
    char_features: Optional[Model[List[Doc], List[Floats2d]]] = None,
    hidden_size: int = 100,
    dropout: float = 0.1,
    grad_factor: float = 1.0,
    input_dropout: float = 0.0,
    word_features: Optional[Model[List[Doc], Ragged]] = None,
    word_hidden_size: int = 100,
) -> Model[List[Doc], Floats3d]:
    """Character features -> shared BiGRU -> one emission layer and CRF per task.

    tok2vec (Optional[Model]): a transformer listener (or, after
        `replace_listeners`, a transformer of the component's own) whose
        wordpieces are pooled per character. It sits at `model.tok2vec`, as in
        spaCy's own models, so `nlp.replace_listeners(..., ["model.tok2vec"])`
        works.
    char_features (Optional[Model]): more character features, usually
        `spacy_zh_mtl.CharFeatures.v1` over named sources (pretrained
        character vectors, lexicon matches, LAC states). At least one of
        `tok2vec` and `char_features` is needed.
    hidden_size (int): BiGRU hidden size per direction (paper: 100); 0 puts
        the emission layers directly on the character features.
    dropout (float): dropout on the BiGRU output.
    grad_factor (float): scales the gradient passed back to the transformer.
    input_dropout (float): dropout on the character features, before the BiGRU
        (training only).
    word_features (Optional[Model]): the word tower's own encoder, e.g.
        `spacy_zh_mtl.CharFeatures.v1` over a second `LacStates.v1`. With it,
        or with character features that end in word-tower columns
        (`LacStates.v1` with `word_layer`), the words and tags that joint mode
        writes come from a BiGRU over those features and the shared ones
        (tasks "words" and "tags"), and the shared encoder learns from NER and
        its auxiliary tasks alone.
    word_hidden_size (int): the word tower's BiGRU hidden size per direction;
        0 puts its emission layers directly on its input.

    The torch head is built when the model is initialized, from the width of
    the character features and the task sizes in `model.attrs["task_sizes"]`
    (set by the component).
    """
    for setting, size in (("hidden_size", hidden_size), ("word_hidden_size", word_hidden_size)):
        if size < 0:
            raise ValueError(f"{setting} must be >= 0, got {size}")
    for name, rate in (("dropout", dropout), ("input_dropout", input_dropout)):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {rate}")
    sources: Dict[str, Model] = {}
    if tok2vec is not None:
        sources["wordpieces"] = build_wordpiece_features(tok2vec, grad_factor=grad_factor)
    if char_features is not None:
        sources["char_features"] = char_features
    if not sources:
        raise ValueError("zh_mtl_ner model: give `tok2vec`, `char_features` or both")
    features = build_char_features(sources) if len(sources) > 1 else next(iter(sources.values()))
    refs = {"char_features": features}
    if tok2vec is not None:
        refs["tok2vec"] = sources["wordpieces"].get_ref("tok2vec")
    layers = [features]
    if word_features is not None:
        refs["word_features"] = word_features
        layers.append(word_features)
    return Model(
        "zh_mtl_char_tagger",
        forward,
        init=init,
        layers=layers,
        refs=refs,
        attrs={
            "hidden_size": hidden_size,
            "dropout": dropout,
            "input_dropout": input_dropout,
            "word_hidden_size": word_hidden_size,
            # whether prediction runs the word tower (`set_predict_words`)
            "predict_words": True,
            "task_sizes": {},
        },
    )


@registry.architectures("spacy_zh_mtl.MultitaskCharTagger.v1")
def build_multitask_char_tagger_v1(
    tok2vec: Model,
    hidden_size: int = 100,
    dropout: float = 0.1,
    grad_factor: float = 1.0,
) -> Model[List[Doc], Floats3d]:
    """v2 with the transformer's wordpieces as the only character features
    (the configs of spacy-zh-mtl 0.1)."""
    return build_multitask_char_tagger(
        tok2vec, hidden_size=hidden_size, dropout=dropout, grad_factor=grad_factor
    )


def init(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    for ref in ("char_features", "word_features"):
        if model.has_ref(ref):
            model.get_ref(ref).initialize(X=X)
    n_in, n_word_in = feature_widths(model)
    build_head(model, n_in, model.attrs["task_sizes"], n_word_in)


def has_word_tower(model: Model) -> bool:
    """Whether the model writes its words and tags from a word tower."""
    return model.has_ref("word_features") or _char_word_width(model) > 0


def _char_word_width(model: Model) -> int:
    """The number of word-tower columns at the end of the character features."""
    return model.get_ref("char_features").attrs.get("word_width", 0)


def feature_widths(model: Model) -> Tuple[int, int]:
    """The widths of an initialized model's shared and word-tower features (0: no tower)."""
    n_features = model.get_ref("char_features").get_dim("nO")
    n_char_words = _char_word_width(model)
    n_words = model.get_ref("word_features").get_dim("nO") if model.has_ref("word_features") else 0
    return n_features - n_char_words, n_char_words + n_words


def build_head(model: Model, n_in: int, task_sizes: Dict[str, int], n_word_in: int = 0) -> None:
    """Create the torch head for `n_in`-wide shared features, `n_word_in`-wide
    word-tower features and the task sizes (once; also called before loading
    a trained model's weights)."""
    if not task_sizes:
        raise ValueError("zh_mtl_ner model: no task sizes set before initialization")
    if model.has_ref("head"):
        return
    module = MultitaskCrfHead(
        n_in,
        model.attrs["hidden_size"],
        task_sizes,
        model.attrs["dropout"],
        model.attrs["input_dropout"],
        n_word_in,
        model.attrs["word_hidden_size"],
    )
    module.int8 = bool(model.attrs.get("int8", False))  # set_int8 may come before the head
    head = PyTorchWrapper_v2(module, convert_inputs=pack_ragged, convert_outputs=padded_output)
    model.layers.append(head)
    model.set_ref("head", head)
    model.attrs["task_sizes"] = dict(task_sizes)


def set_predict_words(model: Model, enabled: bool) -> None:
    """Run the word tower at prediction or not (every node with a
    `predict_words` attr): its words and tags are only written in joint mode."""
    for node in model.walk():
        if "predict_words" in node.attrs:
            node.attrs["predict_words"] = enabled


def head_module(model: Model) -> MultitaskCrfHead:
    """The torch module of a built head."""
    return model.get_ref("head").shims[0]._model


def task_sizes(model: Model) -> Dict[str, int]:
    """Tag-set size per task, in the order of the emissions' last axis."""
    return dict(head_module(model).task_sizes)


def task_crfs(model: Model) -> Dict[str, CRF]:
    """Each task's CRF layer: the multitask loss trains its transitions."""
    return dict(head_module(model).crfs)


def crf_parameters(model: Model) -> Dict[str, Tuple[Floats1d, Floats1d, Floats2d]]:
    """Each task's CRF scores as numpy arrays (start, end, transitions), for
    decoding."""
    return {
        task: tuple(
            param.detach().cpu().numpy()
            for param in (crf.start_transitions, crf.end_transitions, crf.transitions)
        )
        for task, crf in head_module(model).crfs.items()
    }


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Floats3d, Callable]:
    char_features = model.get_ref("char_features")
    head = model.get_ref("head")
    features, backprop_features = char_features(docs, is_train)
    if not len(features.dataXd):
        n_tags = sum(head_module(model).task_sizes.values())
        return model.ops.alloc3f(0, 0, n_tags), lambda d_emissions: []
    backprop_words = None
    width, n_char_words = features.dataXd.shape[1], _char_word_width(model)
    tower = is_train or model.attrs["predict_words"]
    if tower and model.has_ref("word_features"):
        words, backprop_words = model.get_ref("word_features")(docs, is_train)
        features = Ragged(model.ops.xp.concatenate([features.dataXd, words.dataXd], axis=1), features.lengths)
    elif not tower and n_char_words:  # the tower is skipped: its columns (zeros) are left out
        features = Ragged(features.dataXd[:, : width - n_char_words], features.lengths)
    emissions, backprop_head = head(features, is_train)

    def backprop(d_emissions: Floats3d) -> List[Doc]:
        d_features = backprop_head(d_emissions)
        if backprop_words is not None:
            d = d_features.dataXd
            backprop_words(Ragged(d[:, width:], d_features.lengths))
            d_features = Ragged(d[:, :width], d_features.lengths)
        return backprop_features(d_features)

    return emissions, backprop
