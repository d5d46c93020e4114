"""The `zh_mtl_ner` component: character-level multitask NER on a shared transformer."""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
import srsly
import torch
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, torch2xp, xp2torch
from thinc.types import Floats3d, Ints1d
from wasabi import msg

from ..char_index import n_chars
from ..losses.consistency import IGNORE, consistency_loss
from ..losses.crf import crf_loss
from ..losses.dwa import DynamicWeightAverage
from ..models.architectures import build_head, head_module
from ..models.optimizers import HeadOptimizer
from ..models.viterbi import viterbi_decode
from .char_labels import (
    CWS_TAGS,
    SPACE_TAG,
    EntityTagScheme,
    consistency_targets,
    cws_tags,
    entity_spans,
    pos_tags,
    token_tags,
)
from .entity_tokens import realign_transformer_data, set_char_entities

TASKS = ("ner", "cws", "pos")
LOSS_TERMS = TASKS + ("consistency",)
PROPER_NOUN_TAGS = ("NR", "NNP", "PROPN")

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_zh_mtl.MultitaskCharTagger.v1"
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
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": DEFAULT_MODEL,
        "tasks": list(TASKS),
        "consistency": True,
        "ner_scheme": "BIO",
        "weighting": "dwa",
        "task_weights": {term: 1.0 for term in LOSS_TERMS},
        "dwa_temperature": 2.0,
        "entity_pos": {},
        "default_entity_pos": None,
        "entity_cost": 0.0,
        "outside_cost": 0.0,
        "scorer": {"@scorers": "spacy_zh_mtl.char_ents_scorer.v1"},
    },
    default_score_weights={
        "ents_f": 1.0,
        "ents_p": 0.0,
        "ents_r": 0.0,
        "ents_per_type": None,
    },
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
    entity_pos: Dict[str, str],
    default_entity_pos: Optional[str],
    entity_cost: float,
    outside_cost: float,
    scorer: Optional[Callable],
) -> "ZhMtlNer":
    """Create a `zh_mtl_ner` component: named entities predicted per character
    by a BiGRU-CRF on the shared transformer, trained jointly with word
    segmentation and POS heads (paper: multitask NER with label consistency).

    tasks (List[str]): "ner" plus any of the auxiliary tasks "cws", "pos".
    consistency (bool): add the label-consistency loss (eq. 11); needs an
        auxiliary task.
    ner_scheme (str): "BIO" or "BIOES" character tags.
    weighting (str): "fixed" (task_weights) or "dwa" (dynamic weight averaging,
        eq. 12; task_weights then scale the dynamic weights).
    task_weights (Dict[str, float]): weights for "ner", "cws", "pos",
        "consistency" (missing keys: 1.0).
    dwa_temperature (float): DWA temperature T > 0; large T gives equal weights.
    entity_pos (Dict[str, str]): entity label -> POS tag for the consistency
        loss and for tokens split at entity boundaries. Empty: every label maps
        to `default_entity_pos`. Labels not in a non-empty map get no POS term.
    default_entity_pos (Optional[str]): the tag every label maps to when
        `entity_pos` is empty; None picks the tagset's proper-noun tag
        (NR, NNP or PROPN).
    entity_cost (float): softmax-margin cost for mislabelling a gold-entity
        character (raises recall); 0 is off.
    outside_cost (float): the same for characters outside entities (raises
        precision); 0 is off.
    scorer (Optional[Callable]): scores entities on exact character offsets.
    """
    return ZhMtlNer(
        nlp.vocab,
        model,
        name,
        tasks=tasks,
        consistency=consistency,
        ner_scheme=ner_scheme,
        weighting=weighting,
        task_weights=task_weights,
        dwa_temperature=dwa_temperature,
        entity_pos=entity_pos,
        default_entity_pos=default_entity_pos,
        entity_cost=entity_cost,
        outside_cost=outside_cost,
        scorer=scorer,
    )


class ZhMtlNer(TrainablePipe):
    """Character-level multitask NER. Entities are decoded per character and
    tokens are split where an entity boundary falls inside them, so `doc.ents`
    has exact character boundaries whatever the segmenter did.

    Because splitting tokens changes the Doc under `doc._.trf_data`, this
    component must come after every component that listens to the transformer.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], Floats3d],
        name: str = "ner",
        *,
        tasks: Sequence[str] = TASKS,
        consistency: bool = True,
        ner_scheme: str = "BIO",
        weighting: str = "dwa",
        task_weights: Optional[Dict[str, float]] = None,
        dwa_temperature: float = 2.0,
        entity_pos: Optional[Dict[str, str]] = None,
        default_entity_pos: Optional[str] = None,
        entity_cost: float = 0.0,
        outside_cost: float = 0.0,
        scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.tasks = _check_tasks(tasks)
        if consistency and len(self.tasks) == 1:
            raise ValueError(
                f"[{name}] consistency = true needs an auxiliary task in `tasks` "
                f"('cws' or 'pos'), got tasks = {list(tasks)}"
            )
        self.consistency = consistency
        EntityTagScheme([], ner_scheme)  # validates the scheme name
        self.ner_scheme = ner_scheme
        if weighting not in ("fixed", "dwa"):
            raise ValueError(f"[{name}] weighting must be 'fixed' or 'dwa', got {weighting!r}")
        self.weighting = weighting
        self.task_weights = _check_weights(task_weights or {})
        if dwa_temperature <= 0:
            raise ValueError(f"[{name}] dwa_temperature must be > 0, got {dwa_temperature}")
        self.entity_pos = dict(entity_pos or {})
        self.default_entity_pos = default_entity_pos
        for setting, value in (("entity_cost", entity_cost), ("outside_cost", outside_cost)):
            if value < 0:
                raise ValueError(f"[{name}] {setting} must be >= 0, got {value}")
        self.entity_cost = entity_cost
        self.outside_cost = outside_cost
        self.loss_terms = list(self.tasks) + (["consistency"] if consistency else [])
        self.dwa = DynamicWeightAverage(self.loss_terms, dwa_temperature)
        self.last_losses: Dict[str, float] = {}
        self.cfg: Dict[str, Any] = {"labels": [], "pos_tags": [], "n_in": None}

    # Labels -------------------------------------------------------------

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels."""
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
        return EntityTagScheme(self.cfg["labels"], self.ner_scheme)

    @property
    def task_sizes(self) -> Dict[str, int]:
        sizes = {"ner": len(self.scheme.tags), "cws": len(CWS_TAGS), "pos": len(self.cfg["pos_tags"])}
        return {task: sizes[task] for task in self.tasks}

    @property
    def entity_tags(self) -> Dict[str, str]:
        """Entity label -> POS tag, as used by the loss and by token splitting."""
        if self.entity_pos:
            return dict(self.entity_pos)
        tag = self.default_entity_pos
        if tag is None:
            tag = next((t for t in PROPER_NOUN_TAGS if t in self.cfg["pos_tags"]), None)
        return {label: tag for label in self.cfg["labels"]} if tag else {}

    def _check_entity_pos(self) -> None:
        unknown = [label for label in self.entity_pos if label not in self.cfg["labels"]]
        if unknown:
            raise ValueError(
                f"[{self.name}] entity_pos names unknown entity label(s) {unknown}; "
                f"the labels are {list(self.cfg['labels'])}"
            )
        if "pos" in self.tasks:
            tags = set(self.cfg["pos_tags"])
            bad = {lab: tag for lab, tag in self.entity_tags.items() if tag not in tags}
            if bad:
                raise ValueError(
                    f"[{self.name}] entity_pos / default_entity_pos map to tag(s) not in "
                    f"the POS tagset: {bad}"
                )

    # Training -----------------------------------------------------------

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Union[List[str], Dict[str, List[str]]]] = None,
    ) -> None:
        """Collect entity labels and POS tags from the examples (or `labels`,
        a list of entity labels or {"labels": [...], "pos_tags": [...]}), build
        the model and report what annotation the training data carries.
        """
        validate_get_examples(get_examples, "ZhMtlNer.initialize")
        if nlp is not None:
            _check_pipeline_order(nlp, self.name)
        if isinstance(labels, dict):
            entity_labels, tagset = labels.get("labels"), labels.get("pos_tags")
        else:
            entity_labels, tagset = labels, None
        counts = {"docs": 0, "ner": 0, "cws": 0, "pos": 0, "partial_ner": 0, "entities": 0}
        found_labels, found_tags = set(), set()
        for example in get_examples():
            ref = example.reference
            counts["docs"] += 1
            spans = entity_spans(ref)
            if spans is None:
                counts["partial_ner"] += any(t.ent_iob != 0 for t in ref)
            else:
                counts["ner"] += 1
                counts["entities"] += len(spans)
                found_labels.update(label for _, _, label in spans)
            counts["cws"] += cws_tags(ref) is not None
            tags = token_tags(ref)
            if tags is not None:
                counts["pos"] += 1
                found_tags.update(tags)
        self.cfg["labels"] = sorted(entity_labels if entity_labels is not None else found_labels)
        self.cfg["pos_tags"] = sorted(
            set(tagset if tagset is not None else found_tags) | {SPACE_TAG}
        )
        if not self.cfg["labels"]:
            raise ValueError(f"[{self.name}] no entity labels: the training data has no entities")
        if "pos" in self.tasks and len(self.cfg["pos_tags"]) == 1:
            raise ValueError(
                f"[{self.name}] tasks includes 'pos' but no training example has POS tags "
                f"(token.tag_); remove 'pos' from tasks or pre-annotate the corpus"
            )
        self._check_entity_pos()
        msg.info(
            f"[{self.name}] {counts['docs']} training docs: {counts['ner']} with entities "
            f"({counts['entities']} entities, labels {self.cfg['labels']}), "
            f"{counts['cws']} word-segmented, {counts['pos']} POS-tagged "
            f"({len(self.cfg['pos_tags'])} tags)"
        )
        unknown = {label for label in found_labels if label not in self.cfg["labels"]}
        if unknown:
            msg.warn(
                f"[{self.name}] the training data has entities with labels {sorted(unknown)} "
                f"that are not in the given labels {self.cfg['labels']}; they are trained as 'O'"
            )
        if counts["partial_ner"]:
            msg.warn(
                f"[{self.name}] {counts['partial_ner']} docs have partial entity annotation "
                f"(some tokens without ENT_IOB); their NER and consistency losses are masked"
            )
        self.cfg["n_in"] = _input_width(self.model)
        build_head(self.model, self.cfg["n_in"], self.task_sizes)
        docs = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=docs)

    def get_loss(self, examples: Iterable[Example], emissions: Floats3d) -> Tuple[float, Floats3d]:
        """Weighted sum of the CRF losses of all tasks and the consistency
        loss, each summed over the batch's characters (not averaged: like
        spaCy's tagger, so the shared transformer gets gradients of the same
        scale from both components). Tasks without annotation in a Doc are
        masked. Also accumulates the CRF gradients, applied by `finish_update`.
        """
        validate_examples(examples, "ZhMtlNer.get_loss")
        refs = [eg.reference for eg in examples if n_chars(eg.predicted)]
        scores = xp2torch(emissions, requires_grad=True)
        device = scores.device
        batch, steps, _ = scores.shape
        lengths = torch.tensor([n_chars(doc) for doc in refs], dtype=torch.int64, device=device)
        mask = torch.arange(steps, device=device)[None, :] < lengths[:, None]
        module = head_module(self.model)
        task_scores = dict(zip(self.tasks, scores.split(list(self.task_sizes.values()), dim=-1)))
        targets = self._targets(refs, steps, device)
        terms: Dict[str, torch.Tensor] = {}
        for task in self.tasks:
            gold, available, cost = targets[task]
            if not available.any():
                continue
            terms[task] = crf_loss(
                module.crfs[task],
                task_scores[task][available],
                gold[available],
                mask[available],
                cost[available] if cost is not None else None,
            )
        if self.consistency:
            cons_targets, available = targets["consistency"]
            if available.any():
                terms["consistency"] = sum(
                    consistency_loss(task_scores[task][available], cons_targets[task][available])
                    for task in ("cws", "pos")
                    if task in self.tasks
                )
        weights = self._loss_weights()
        self.last_losses = {term: float(value.detach()) for term, value in terms.items()}
        self.dwa.record(self.last_losses)
        if not terms:
            return 0.0, self.model.ops.alloc3f(*emissions.shape)
        total = sum(weights[term] * value for term, value in terms.items())
        total.backward()
        d_emissions = torch2xp(scores.grad)
        return float(total.detach()), self.model.ops.asarray3f(d_emissions)

    def _loss_weights(self) -> Dict[str, float]:
        if self.weighting == "fixed":
            return {term: self.task_weights[term] for term in self.loss_terms}
        dynamic = self.dwa.weights()
        return {term: self.task_weights[term] * dynamic[term] for term in self.loss_terms}

    def _targets(self, refs: List[Doc], steps: int, device: torch.device) -> Dict[str, Any]:
        """Padded (batch, steps) targets and per-Doc availability per task."""
        scheme = self.scheme
        tag_ids = {tag: i for i, tag in enumerate(self.cfg["pos_tags"])}
        entity_pos_ids = {
            label: tag_ids[tag] for label, tag in self.entity_tags.items() if tag in tag_ids
        }
        batch = len(refs)
        gold = {task: numpy.zeros((batch, steps), dtype="int64") for task in TASKS}
        available = {term: numpy.zeros((batch,), dtype=bool) for term in LOSS_TERMS}
        cost = numpy.zeros((batch, steps), dtype="float32")
        cons = {task: numpy.full((batch, steps), IGNORE, dtype="int64") for task in ("cws", "pos")}
        for i, doc in enumerate(refs):
            n = n_chars(doc)
            spans = entity_spans(doc)
            if spans is not None:
                ner = scheme.encode(spans, n)
                gold["ner"][i, :n] = ner
                available["ner"][i] = available["consistency"][i] = True
                cost[i, :n] = numpy.where(ner > 0, self.entity_cost, self.outside_cost)
                cons["cws"][i, :n], cons["pos"][i, :n] = consistency_targets(
                    spans, n, entity_pos_ids
                )
            if "cws" in self.tasks:
                cws = cws_tags(doc)
                if cws is not None:
                    gold["cws"][i, :n] = cws
                    available["cws"][i] = True
            if "pos" in self.tasks:
                pos = pos_tags(doc, tag_ids)
                if pos is not None:
                    gold["pos"][i, :n] = pos
                    available["pos"][i] = True

        def to_torch(array: numpy.ndarray) -> torch.Tensor:
            return torch.from_numpy(array).to(device)

        use_cost = self.entity_cost > 0 or self.outside_cost > 0
        targets: Dict[str, Any] = {
            task: (to_torch(gold[task]), to_torch(available[task]), None) for task in self.tasks
        }
        targets["ner"] = (
            to_torch(gold["ner"]),
            to_torch(available["ner"]),
            to_torch(cost) if use_cost else None,
        )
        targets["consistency"] = (
            {task: to_torch(values) for task, values in cons.items()},
            to_torch(available["consistency"]),
        )
        return targets

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the weights, the heads at the optimizer's head learning rate."""
        self.model.finish_update(HeadOptimizer(sgd))  # type: ignore[arg-type]

    # Prediction ---------------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> List[Ints1d]:
        """Viterbi-decoded NER tag ids, one per character of each Doc."""
        docs = list(docs)
        lengths = numpy.array([n_chars(doc) for doc in docs], dtype="int64")
        result = [numpy.zeros((n,), dtype="int64") for n in lengths]
        nonempty = numpy.flatnonzero(lengths)
        if not nonempty.size:
            return result
        emissions = self.model.ops.to_numpy(self.model.predict(docs))
        crf = head_module(self.model).crfs["ner"]
        n_ner = self.task_sizes["ner"]
        tags = viterbi_decode(
            emissions[:, :, :n_ner],
            lengths[nonempty],
            crf.start_transitions.detach().cpu().numpy(),
            crf.end_transitions.detach().cpu().numpy(),
            crf.transitions.detach().cpu().numpy(),
        )
        for row, i in enumerate(nonempty):
            result[i] = tags[row, : lengths[i]]
        return result

    def set_annotations(self, docs: Iterable[Doc], tag_ids: List[Ints1d]) -> None:
        """Set `doc.ents`, splitting tokens at entity boundaries (and keeping
        `doc._.trf_data`'s token alignment in step with the split tokens).
        """
        scheme = self.scheme
        entity_tags = self.entity_tags
        for doc, ids in zip(docs, tag_ids):
            pieces = set_char_entities(doc, scheme.decode(ids), entity_tags)
            realign_transformer_data(doc, pieces)

    # Serialization ------------------------------------------------------

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        serialize = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "vocab": lambda: self.vocab.to_bytes(exclude=exclude),
            "model": lambda: self.model.to_bytes(),
        }
        return util.to_bytes(serialize, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ZhMtlNer":
        deserialize = {
            "cfg": lambda b: self._load_cfg(srsly.json_loads(b)),
            "vocab": lambda b: self.vocab.from_bytes(b, exclude=exclude),
            "model": lambda b: self.model.from_bytes(b),
        }
        util.from_bytes(bytes_data, deserialize, exclude)
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        serialize = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "vocab": lambda p: self.vocab.to_disk(p, exclude=exclude),
            "model": lambda p: self.model.to_disk(p),
        }
        util.to_disk(path, serialize, exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "ZhMtlNer":
        deserialize = {
            "cfg": lambda p: self._load_cfg(srsly.read_json(p)),
            "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude),
            "model": lambda p: self.model.from_bytes(Path(p).read_bytes()),
        }
        util.from_disk(path, deserialize, exclude)
        return self

    def _load_cfg(self, cfg: Dict[str, Any]) -> None:
        """Restore labels and build the head so the model weights can load."""
        self.cfg.update(cfg)
        self._check_entity_pos()
        if self.cfg["n_in"] is not None:
            build_head(self.model, self.cfg["n_in"], self.task_sizes)


def _check_tasks(tasks: Sequence[str]) -> List[str]:
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"tasks: unknown task(s) {unknown}; choose from {list(TASKS)}")
    if "ner" not in tasks:
        raise ValueError(f"tasks must include 'ner', got {list(tasks)}")
    return [task for task in TASKS if task in tasks]


def _check_weights(weights: Dict[str, float]) -> Dict[str, float]:
    unknown = [term for term in weights if term not in LOSS_TERMS]
    if unknown:
        raise ValueError(f"task_weights: unknown term(s) {unknown}; choose from {list(LOSS_TERMS)}")
    negative = {term: w for term, w in weights.items() if w < 0}
    if negative:
        raise ValueError(f"task_weights must be >= 0, got {negative}")
    return {term: float(weights.get(term, 1.0)) for term in LOSS_TERMS}


def _input_width(model: Model) -> int:
    for node in model.get_ref("tok2vec").walk():
        if node.has_dim("nO") and node.get_dim("nO"):
            return node.get_dim("nO")
    raise ValueError(
        "zh_mtl_ner: could not find the transformer's output width. Add a "
        "'transformer' component before this one (and initialize it first)."
    )


def _check_pipeline_order(nlp: Language, name: str) -> None:
    """Raise if a component after `name` listens to a transformer: splitting
    tokens would leave its `doc._.trf_data` out of step with the Doc.
    """
    after = nlp.pipe_names[nlp.pipe_names.index(name) + 1 :]
    for trf_name, pipe in nlp.pipeline:
        late = [c for c in getattr(pipe, "listening_components", []) if c in after]
        if late:
            raise ValueError(
                f"[{name}] must come after every component that listens to "
                f"'{trf_name}', but {late} come later in the pipeline {nlp.pipe_names}"
            )
