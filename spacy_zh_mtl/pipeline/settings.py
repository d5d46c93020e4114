"""The settings of `zh_mtl_ner`, validated where the component is created or loaded."""
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence

from ..losses.multitask import MultitaskLoss
from ..losses.targets import LOSS_TERMS, WORD_TERMS
from .char_labels import SCHEMES

TASKS = ("ner", "cws", "pos")
# what the component writes: entities (always), words from its segmentation
# decoder, and their tags from its POS decoder
ANNOTATIONS = ("ents", "tokens", "tags")
PROPER_NOUN_TAGS = ("NR", "NNP", "PROPN")


@dataclass
class MultitaskSettings:
    """What `zh_mtl_ner` trains and how its losses are combined.

    tasks: "ner" plus any of the auxiliary tasks "cws", "pos".
    consistency: add the label-consistency loss (eq. 11); needs an auxiliary task.
    ner_scheme: "BIO" or "BIOES" character tags.
    weighting: "fixed" (task_weights) or "dwa" (dynamic weight averaging,
        eq. 12; task_weights then scale the dynamic weights).
    task_weights: weights for "ner", "cws", "pos", "consistency" and the
        word tower's "words" and "tags" (missing: 1.0).
    dwa_temperature: DWA temperature T > 0; large T gives equal weights.
    normalize_losses: scale each auxiliary term to the NER term's running loss
        per character, so task_weights are shares of NER's pull.
    entity_pos: entity label -> POS tag for the consistency loss and for tokens
        split at entity boundaries. Empty: every label maps to
        `default_entity_pos`. Labels not in a non-empty map get no POS term.
    default_entity_pos: the tag every label maps to when `entity_pos` is
        empty; None picks the tagset's proper-noun tag (NR, NNP or PROPN).
    entity_cost: softmax-margin cost for mislabelling a gold-entity character
        (raises recall); 0 is off.
    outside_cost: the same for characters outside entities (raises
        precision); 0 is off.
    annotate: what prediction writes. ["ents"]: entities, splitting the
        tokenizer's tokens at entity boundaries (standard mode, after pkuseg
        and a tagger). ["ents", "tokens", "tags"]: joint mode, one pass writes
        words (from the segmentation decoder; entity boundaries win), their
        tags (POS decoder) and the entities, so the pipeline needs no pkuseg
        and no tagger: a character tokenizer is enough.
    int8: predict with int8 copies of the BiGRUs on CPU (dynamic
        quantization; `models.int8`): faster, with states that differ by
        rounding. Training, saved weights and GPU prediction stay float32.
    word_tower_on_entity_docs: with a word tower, whether its words and tags
        also learn from Docs that have entity annotation (in the project the
        entity corpus, whose words and tags pre-annotation wrote). False:
        only from Docs without it (a gold corpus such as UD GSD).
    """

    tasks: Sequence[str] = TASKS
    consistency: bool = True
    ner_scheme: str = "BIO"
    weighting: str = "dwa"
    task_weights: Dict[str, float] = field(
        default_factory=lambda: {
            "ner": 1.0, "cws": 0.2, "pos": 0.2, "consistency": 0.2, "words": 1.0, "tags": 1.0,
        }
    )
    dwa_temperature: float = 2.0
    normalize_losses: bool = True
    entity_pos: Dict[str, str] = field(default_factory=dict)
    default_entity_pos: Optional[str] = None
    entity_cost: float = 0.0
    outside_cost: float = 0.0
    annotate: Sequence[str] = ("ents",)
    int8: bool = False
    word_tower_on_entity_docs: bool = True

    def __post_init__(self) -> None:
        unknown = [task for task in self.tasks if task not in TASKS]
        if unknown:
            raise ValueError(f"tasks: unknown task(s) {unknown}; choose from {list(TASKS)}")
        if "ner" not in self.tasks:
            raise ValueError(f"tasks must include 'ner', got {list(self.tasks)}")
        self.tasks = [task for task in TASKS if task in self.tasks]
        if self.consistency and len(self.tasks) == 1:
            raise ValueError(
                f"consistency = true needs an auxiliary task in `tasks` ('cws' or 'pos'), "
                f"got tasks = {self.tasks}"
            )
        if self.ner_scheme not in SCHEMES:
            raise ValueError(f"ner_scheme must be one of {list(SCHEMES)}, got {self.ner_scheme!r}")
        if self.weighting not in ("fixed", "dwa"):
            raise ValueError(f"weighting must be 'fixed' or 'dwa', got {self.weighting!r}")
        self.task_weights = check_task_weights(self.task_weights)
        if self.dwa_temperature <= 0:
            raise ValueError(f"dwa_temperature must be > 0, got {self.dwa_temperature}")
        for name in ("entity_cost", "outside_cost"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        self.entity_pos = dict(self.entity_pos)
        self.annotate = check_annotate(self.annotate, self.tasks)

    @property
    def loss_terms(self) -> List[str]:
        return list(self.tasks) + (["consistency"] if self.consistency else [])

    def new_loss(self, word_tower: bool = False) -> MultitaskLoss:
        """A multitask loss (with fresh running averages) for these settings,
        with the word tower's terms where the model has one."""
        if word_tower and not {"cws", "pos"} <= set(self.tasks):
            raise ValueError(
                f"the model's word tower learns from the segmentation and POS gold: "
                f"tasks must include 'cws' and 'pos', got {list(self.tasks)}"
            )
        return MultitaskLoss(
            self.loss_terms + (list(WORD_TERMS) if word_tower else []),
            weighting=self.weighting,
            task_weights=self.task_weights,
            dwa_temperature=self.dwa_temperature,
            normalize=self.normalize_losses,
        )

    def entity_tags(self, labels: Sequence[str], pos_tags: Sequence[str]) -> Dict[str, str]:
        """Entity label -> POS tag, as used by the loss and by token splitting."""
        if self.entity_pos:
            return dict(self.entity_pos)
        tag = self.default_entity_pos
        if tag is None:
            tag = next((t for t in PROPER_NOUN_TAGS if t in pos_tags), None)
        return {label: tag for label in labels} if tag else {}

    def check_labels(self, labels: Sequence[str], pos_tags: Sequence[str]) -> None:
        """Raise if `entity_pos` names an unknown label or maps to an unknown tag."""
        unknown = [label for label in self.entity_pos if label not in labels]
        if unknown:
            raise ValueError(
                f"entity_pos names unknown entity label(s) {unknown}; the labels are {list(labels)}"
            )
        if "pos" in self.tasks:
            tags = set(pos_tags)
            bad = {lab: tag for lab, tag in self.entity_tags(labels, pos_tags).items() if tag not in tags}
            if bad:
                raise ValueError(
                    f"entity_pos / default_entity_pos map to tag(s) not in the POS tagset: {bad}"
                )


def check_task_weights(weights: Dict[str, float]) -> Dict[str, float]:
    """All four term weights (missing ones 1.0), validated."""
    unknown = [term for term in weights if term not in LOSS_TERMS]
    if unknown:
        raise ValueError(f"task_weights: unknown term(s) {unknown}; choose from {list(LOSS_TERMS)}")
    negative = {term: w for term, w in weights.items() if w < 0}
    if negative:
        raise ValueError(f"task_weights must be >= 0, got {negative}")
    return {term: float(weights.get(term, 1.0)) for term in LOSS_TERMS}


def check_annotate(annotate: Sequence[str], tasks: Sequence[str]) -> List[str]:
    """The annotations in canonical order, validated against the tasks."""
    unknown = [a for a in annotate if a not in ANNOTATIONS]
    if unknown:
        raise ValueError(f"annotate: unknown value(s) {unknown}; choose from {list(ANNOTATIONS)}")
    if "ents" not in annotate:
        raise ValueError(f"annotate must include 'ents', got {list(annotate)}")
    needs = {"tokens": "cws", "tags": "pos"}
    for what, task in needs.items():
        if what in annotate and task not in tasks:
            raise ValueError(f"annotate = {list(annotate)} writes {what} from the '{task}' decoder, but tasks = {list(tasks)}")
    if "tags" in annotate and "tokens" not in annotate:
        raise ValueError("annotate: 'tags' needs 'tokens' (tags are written per predicted word)")
    return [a for a in ANNOTATIONS if a in annotate]


def default_settings() -> Dict[str, Any]:
    """The factory's default config entries, from the dataclass defaults (the
    one place they are defined)."""
    defaults: Dict[str, Any] = {}
    for f in fields(MultitaskSettings):
        value = f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]
        defaults[f.name] = list(value) if isinstance(value, tuple) else value
    return defaults


assert set(LOSS_TERMS) == set(TASKS) | {"consistency"} | set(WORD_TERMS)
