"""The `zh_mtl_ner` component: character-level multitask NER that can also
write the words and tags of its segmentation and POS decoders (joint mode)."""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import srsly
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats3d

from ..char_index import doc_texts, n_chars
from ..losses.multitask import LossResult
from ..losses.targets import WORD_TERMS, CharTargets, split_by_task
from ..models.int8 import set_int8
from ..models.multitask_tagger import (
    build_head, crf_parameters, feature_widths, has_word_tower, set_predict_words, task_crfs, task_sizes,
)
from ..models.optimizers import finish_update_two_rates
from ..models.wordpiece_features import transformer_node_ids
from .char_labels import (
    CWS_TAGS, EntityTagScheme, batch_targets, choose_labels, report_annotation,
)
from .decoding import Decoded, decode_batch, decoder_inputs
from .entity_tokens import check_pipeline_order, set_char_entities
from .scoring import score_words_and_tags
from .settings import MultitaskSettings, default_settings
from .word_tokens import joint_docs

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_zh_mtl.MultitaskCharTagger.v2"
hidden_size = 100
dropout = 0.1
grad_factor = 1.0

[model.tok2vec]
@architectures = "spacy_zh_mtl.WordpieceListener.v1"
upstream = "*"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "zh_mtl_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "token.tag"],
    default_config={
        "model": DEFAULT_MODEL,
        **default_settings(),
        "scorer": {"@scorers": "spacy_zh_mtl.char_ents_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_zh_mtl_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], Floats3d],
    tasks: List[str],
    consistency: bool,
    ner_scheme: str,
    weighting: str,
    task_weights: Dict[str, float],
    dwa_temperature: float,
    normalize_losses: bool,
    entity_pos: Dict[str, str],
    default_entity_pos: Optional[str],
    entity_cost: float,
    outside_cost: float,
    annotate: List[str],
    int8: bool,
    word_tower_on_entity_docs: bool,
    scorer: Optional[Callable],
) -> "ZhMtlNer":
    """Create a `zh_mtl_ner` component: entities predicted per character by a
    BiGRU-CRF over character features, trained jointly with word segmentation
    and POS (multitask NER with label consistency). The settings are
    documented and validated in `MultitaskSettings`; `scorer` scores entities
    on exact character offsets."""
    values = locals()
    try:
        settings = MultitaskSettings(**{key: values[key] for key in default_settings()})
    except ValueError as err:
        raise ValueError(f"[{name}] {err}") from None
    return ZhMtlNer(nlp.vocab, model, name, settings=settings, scorer=scorer)


class ZhMtlNer(TrainablePipe):
    """Character-level multitask NER: `doc.ents` has exact character
    boundaries whatever the tokenizer did. Standard mode splits tokens where an
    entity boundary falls inside them; joint mode (`annotate` with "tokens",
    "tags") makes the tokens the predicted words and tags them. Retokenizing
    changes the Doc under `doc._.trf_data`, so this component comes after
    every component that listens to the transformer."""

    def __init__(
        self, vocab: Vocab, model: Model[List[Doc], Floats3d], name: str = "ner", *,
        settings: Optional[MultitaskSettings] = None, scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.settings = settings or MultitaskSettings()
        try:
            self.loss = self.settings.new_loss(word_tower=self.word_tower)
        except ValueError as err:
            raise ValueError(f"[{name}] {err}") from None
        self.cfg: Dict[str, Any] = {"labels": [], "pos_tags": [], "n_in": None, "n_word_in": 0}
        self._set_mode()

    @property
    def labels(self) -> Tuple[str, ...]:  # the entity labels
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> Dict[str, List[str]]:
        return {"labels": list(self.cfg["labels"]), "pos_tags": list(self.cfg["pos_tags"])}

    def add_label(self, label: str) -> int:
        if self.model.has_ref("head"):
            raise ValueError(f"[{self.name}] cannot add label {label!r} after initialization")
        if label in self.cfg["labels"]:
            return 0
        self.cfg["labels"].append(label)
        return 1

    @property
    def scheme(self) -> EntityTagScheme:
        return EntityTagScheme(self.cfg["labels"], self.settings.ner_scheme)

    @property
    def word_tower(self) -> bool:
        """Whether the model writes words and tags from a second encoder."""
        return has_word_tower(self.model)

    @property
    def task_sizes(self) -> Dict[str, int]:
        sizes = {"ner": len(self.scheme.tags), "cws": len(CWS_TAGS), "pos": len(self.cfg["pos_tags"])}
        tasks = list(self.settings.tasks) + (list(WORD_TERMS) if self.word_tower else [])
        return {task: sizes[WORD_TERMS.get(task, task)] for task in tasks}

    @property
    def entity_tags(self) -> Dict[str, str]:
        """Entity label -> POS tag, as used by the loss and by token splitting."""
        return self.settings.entity_tags(self.cfg["labels"], self.cfg["pos_tags"])

    def _check_labels(self) -> None:
        try:
            self.settings.check_labels(self.cfg["labels"], self.cfg["pos_tags"])
        except ValueError as err:
            raise ValueError(f"[{self.name}] {err}") from None

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Union[List[str], Dict[str, List[str]]]] = None,
    ) -> None:
        """Take the entity labels and POS tags from `labels` (`choose_labels`)
        or the examples, and initialize the model (tables and head)."""
        validate_get_examples(get_examples, "ZhMtlNer.initialize")
        if nlp is not None:
            check_pipeline_order(nlp, self.name)
        found = report_annotation(self.name, get_examples())
        chosen = choose_labels(self.name, found, labels, self.settings.tasks, added=self.cfg["labels"])
        self.cfg["labels"], self.cfg["pos_tags"] = chosen
        self._check_labels()
        if self.word_tower and not self.settings.word_tower_on_entity_docs and not found.n_without_entities:
            raise ValueError(
                f"[{self.name}] word_tower_on_entity_docs = false: the word tower learns from Docs "
                f"without entity annotation, and the training data has none (add a word-segmented, "
                f"tagged corpus such as UD GSD: the project's paths.aux_train)"
            )
        self.model.attrs["task_sizes"] = self.task_sizes
        self.model.initialize(X=[eg.predicted for eg in islice(get_examples(), 10)])
        self.cfg["n_in"], self.cfg["n_word_in"] = feature_widths(self.model)
        self.loss = self.settings.new_loss(word_tower=self.word_tower)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch; `losses` gets the weighted total under the
        component's name and each term's (unweighted) loss under
        "NAME_ner", "NAME_cws", "NAME_pos", "NAME_consistency".
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "ZhMtlNer.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        emissions, backprop = self.model.begin_update([eg.predicted for eg in examples])
        result = self._loss(examples, emissions)
        backprop(result.d_emissions)
        if sgd not in (None, False):
            self.finish_update(sgd)
        self.loss.record(result.terms, result.term_chars)
        losses[self.name] += result.total
        for term, value in result.terms.items():
            losses[f"{self.name}_{term}"] = losses.get(f"{self.name}_{term}", 0.0) + value
        return losses

    def get_loss(self, examples: Iterable[Example], emissions: Floats3d) -> Tuple[float, Floats3d]:
        """The multitask loss (`losses.multitask`) of a batch and its gradient,
        summed over characters like spaCy's tagger (so a shared transformer gets
        gradients of one scale from both); tasks a Doc lacks are masked."""
        validate_examples(examples, "ZhMtlNer.get_loss")
        result = self._loss(list(examples), emissions)
        return result.total, result.d_emissions

    def _loss(self, examples: List[Example], emissions: Floats3d) -> LossResult:
        refs = [eg.reference for eg in examples if n_chars(eg.predicted)]
        targets = self._targets(refs, emissions.shape[1])
        result = self.loss(emissions, task_sizes(self.model), task_crfs(self.model), targets)
        result.d_emissions = self.model.ops.asarray3f(result.d_emissions)
        return result

    def _targets(self, refs: List[Doc], steps: int) -> CharTargets:
        s, tag_ids = self.settings, {tag: i for i, tag in enumerate(self.cfg["pos_tags"])}
        entity_ids = {label: tag_ids[tag] for label, tag in self.entity_tags.items() if tag in tag_ids}
        return batch_targets(
            refs, steps, scheme=self.scheme, tasks=list(self.task_sizes), pos_tag_ids=tag_ids, entity_pos_ids=entity_ids,
            entity_cost=s.entity_cost, outside_cost=s.outside_cost,
            tower_on_entity_docs=s.word_tower_on_entity_docs,
        )

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the weights: the component's layers at the optimizer's head
        learning rate, a transformer copy (`replace_listeners`) at its base rate."""
        finish_update_two_rates(self.model, sgd, transformer_node_ids(self.model))

    def predict(self, docs: Iterable[Doc]) -> Tuple[List[int], Optional[Decoded]]:
        """The non-empty Docs' positions and the decisions of every task that
        `annotate` needs, decoded in one vectorised pass per task."""
        docs = list(docs)
        nonempty = [i for i, doc in enumerate(docs) if n_chars(doc)]
        if not nonempty:
            return nonempty, None
        emissions = split_by_task(self.model.ops.to_numpy(self.model.predict(docs)), task_sizes(self.model))
        texts = [doc_texts(docs)[i] for i in nonempty]
        crfs = decoder_inputs(crf_parameters(self.model))
        decoded = decode_batch(decoder_inputs(emissions), texts, crfs, self.scheme, self.settings.annotate)
        return nonempty, decoded

    def set_annotations(
        self, docs: Iterable[Doc], predictions: Tuple[List[int], Optional[Decoded]]
    ) -> List[Doc]:
        """Set `doc.ents` (standard mode: in place) or, in joint mode, return
        new Docs of the predicted words with their tags and entities."""
        docs = list(docs)
        nonempty, decoded = predictions
        for doc in docs:
            if not n_chars(doc):
                doc.set_ents([], default="outside")
        if decoded is None:
            return docs
        texts = [doc_texts(docs)[i] for i in nonempty]
        spans = self.scheme.decode_batch(decoded.ner)
        if "tokens" in self.settings.annotate:
            new = joint_docs([docs[i] for i in nonempty], texts, decoded, spans, self.cfg["pos_tags"], self.entity_tags)
            for i, doc in zip(nonempty, new):
                docs[i] = doc
        else:
            for i, text, doc_spans in zip(nonempty, texts, spans):
                set_char_entities(docs[i], doc_spans, self.entity_tags, text)
        return docs

    def __call__(self, doc: Doc) -> Doc:
        try:
            return self.set_annotations([doc], self.predict([doc]))[0]
        except Exception as err:
            return self.get_error_handler()(self.name, self, [doc], err)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate the Docs in batches (joint mode yields new Docs: `set_annotations`)."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                yield from self.set_annotations(docs, self.predict(docs))
            except Exception as err:
                error_handler(self.name, self, docs, err)

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        """Entity scores; in joint mode also word P/R/F and tag accuracy
        against the references that are word-segmented."""
        examples = list(examples)
        scores = super().score(examples, **kwargs)
        if "tokens" in self.settings.annotate:
            scores.update(score_words_and_tags(examples, tags="tags" in self.settings.annotate))
        return scores

    # TrainablePipe writes and reads "cfg", "vocab" and "model"; loading first
    # restores the labels from "cfg" and builds the head, so the weights fit.

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ZhMtlNer":
        if "cfg" not in exclude:
            self._load_cfg(srsly.json_loads(srsly.msgpack_loads(bytes_data)["cfg"]))
        super().from_bytes(bytes_data, exclude=exclude)
        return self._set_mode()

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "ZhMtlNer":
        if "cfg" not in exclude:
            self._load_cfg(srsly.read_json(Path(path) / "cfg"))
        super().from_disk(path, exclude=exclude)
        return self._set_mode()

    def _set_mode(self) -> "ZhMtlNer":
        """Apply the settings that the model's saved attrs would override."""
        set_int8(self.model, self.settings.int8)
        set_predict_words(self.model, "tokens" in self.settings.annotate)
        return self

    def _load_cfg(self, cfg: Dict[str, Any]) -> None:
        """Restore labels and build the head so the model weights can load."""
        self.cfg.update(cfg)
        self._check_labels()
        if self.cfg["n_in"] is not None:
            build_head(self.model, self.cfg["n_in"], self.task_sizes, self.cfg["n_word_in"])
