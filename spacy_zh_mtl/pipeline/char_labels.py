"""Per-character labels for the three tasks, and entity spans from NER tags.

Labels are read from a reference Doc by character offset, so they never depend
on how the text was tokenised. `None` means the Doc has no annotation for the
task: its loss is masked, never read as "O".
"""
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy
from spacy.attrs import ENT_IOB
from spacy.tokens import Doc
from spacy.training import Example
from thinc.types import Ints1d, Ints2d
from wasabi import msg

from ..char_index import char_token_index, n_chars, token_bounds
from ..losses.targets import IGNORE, WORD_TERMS, CharTargets
from ..types import CharSpan

CWS_TAGS = ("B", "I", "E", "S")
SPACE_TAG = "_SP"
OUTSIDE, BEGIN, INSIDE, END, SINGLE = range(5)
SCHEMES = {"BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")}


class EntityTagScheme:
    """Character tags for entity labels: "O" plus B-/I- (BIO) or B-/I-/E-/S- (BIOES)."""

    def __init__(self, labels: Sequence[str], scheme: str = "BIO") -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"ner_scheme must be one of {list(SCHEMES)}, got {scheme!r}")
        self.labels = list(labels)
        self.scheme = scheme
        prefixes = SCHEMES[scheme]
        self.tags = ["O"] + [f"{p}-{label}" for label in self.labels for p in prefixes]
        codes = {"B": BEGIN, "I": INSIDE, "E": END, "S": SINGLE}
        self.prefix = numpy.array([OUTSIDE] + [codes[p] for _ in self.labels for p in prefixes])
        self.label_of_tag = numpy.array(
            [-1] + [i for i in range(len(self.labels)) for _ in prefixes]
        )
        self._first_tag = {label: 1 + i * len(prefixes) for i, label in enumerate(self.labels)}

    def continuation(self) -> numpy.ndarray:
        """(tags, tags) bool: the transitions previous -> next that put no
        entity boundary between two characters (O -> O, or B-/I-X -> I-/E-X)."""
        prev_open = numpy.isin(self.prefix, (BEGIN, INSIDE))[:, None]
        next_cont = numpy.isin(self.prefix, (INSIDE, END))[None, :]
        same = self.label_of_tag[:, None] == self.label_of_tag[None, :]
        outside = (self.prefix[:, None] == OUTSIDE) & (self.prefix[None, :] == OUTSIDE)
        return outside | (prev_open & next_cont & same)

    def encode(self, spans: Sequence[CharSpan], n_chars: int) -> Ints1d:
        """Tag ids for `n_chars` characters with the given entity spans."""
        tags = numpy.zeros((n_chars,), dtype="int64")
        for start, end, label in spans:
            first = self._first_tag.get(label)
            if first is None:
                continue
            tags[start:end] = first + 1
            tags[start] = first
            if self.scheme == "BIOES":
                if end - start == 1:
                    tags[start] = first + 3
                else:
                    tags[end - 1] = first + 2
        return tags

    def continues(self, tag_ids: Ints2d) -> numpy.ndarray:
        """(batch, steps) bool: the character continues the entity of the
        character before it (an I-/E- tag after a B-/I- tag of its label)."""
        prefix = self.prefix[tag_ids]
        label = self.label_of_tag[tag_ids]
        continues = numpy.zeros(tag_ids.shape, dtype=bool)
        continues[:, 1:] = (
            numpy.isin(prefix[:, 1:], (INSIDE, END))
            & numpy.isin(prefix[:, :-1], (BEGIN, INSIDE))
            & (label[:, 1:] == label[:, :-1])
        )
        return continues

    def decode(self, tag_ids: Ints1d) -> List[CharSpan]:
        """Entity spans from tag ids. An I-/E- tag that does not continue an
        entity of the same label starts a new one, so no predicted entity is lost.
        """
        return self.decode_batch(numpy.asarray(tag_ids)[None, :])[0]

    def decode_batch(self, tag_ids: Ints2d) -> List[List[CharSpan]]:
        """`decode` for each row of a padded batch (padding is tag 0, "O")."""
        inside = self.prefix[tag_ids] != OUTSIDE
        continues = self.continues(tag_ids)
        next_continues = numpy.zeros(tag_ids.shape, dtype=bool)
        next_continues[:, :-1] = continues[:, 1:]
        rows, starts = numpy.nonzero(inside & ~continues)
        ends = numpy.nonzero(inside & ~next_continues)[1] + 1  # same rows, same order
        labels = self.label_of_tag[tag_ids[rows, starts]]
        spans: List[List[CharSpan]] = [[] for _ in range(len(tag_ids))]
        for row, start, end, label in zip(rows.tolist(), starts.tolist(), ends.tolist(), labels.tolist()):
            spans[row].append((start, end, self.labels[label]))
        return spans


def cws_continuation() -> numpy.ndarray:
    """(4, 4) bool: the segmentation transitions that keep two characters in
    one word (B or I followed by I or E)."""
    opens = numpy.isin(CWS_TAGS, ("B", "I"))
    continues = numpy.isin(CWS_TAGS, ("I", "E"))
    return opens[:, None] & continues[None, :]


def entity_spans(doc: Doc) -> Optional[List[CharSpan]]:
    """Gold entity character spans, or None if the Doc has no complete entity
    annotation (a token with missing ENT_IOB).
    """
    if len(doc) == 0:
        return []
    if not doc.to_array(ENT_IOB).all():
        return None
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


def cws_tags(doc: Doc, token_of_char: Optional[Ints1d] = None) -> Optional[Ints1d]:
    """B/I/E/S ids from the token boundaries; characters outside tokens are S.
    None when the Doc is not word-segmented (every token one character long,
    as in character-per-line NER corpora). `token_of_char`: the Doc's
    `char_token_index`, if already computed.
    """
    bounds = token_bounds(doc)
    lengths = bounds[:, 1] - bounds[:, 0]
    if len(doc) == 0 or lengths.max() <= 1:
        return None
    tags = numpy.full((n_chars(doc),), CWS_TAGS.index("S"), dtype="int64")
    multi = bounds[lengths > 1]
    if token_of_char is None:
        token_of_char = char_token_index(doc)
    inside = numpy.isin(token_of_char, numpy.flatnonzero(lengths > 1))
    tags[inside] = CWS_TAGS.index("I")
    tags[multi[:, 0]] = CWS_TAGS.index("B")
    tags[multi[:, 1] - 1] = CWS_TAGS.index("E")
    return tags


def token_tags(doc: Doc) -> Optional[List[str]]:
    """The fine-grained tag of every token (space tokens without one get
    "_SP"), or None if any other token has no tag.
    """
    tags = [token.tag_ or (SPACE_TAG if token.is_space else "") for token in doc]
    if not tags or not all(tags):
        return None
    return tags


def pos_tags(
    doc: Doc, tag_ids: Dict[str, int], token_of_char: Optional[Ints1d] = None
) -> Optional[Ints1d]:
    """Per-character POS ids: each character takes its token's tag; characters
    outside tokens take "_SP". None if the Doc is not fully tagged or uses a
    tag outside `tag_ids`.
    """
    tags = token_tags(doc)
    if tags is None or any(tag not in tag_ids for tag in tags):
        return None
    token_ids = numpy.array([tag_ids[tag] for tag in tags] + [tag_ids[SPACE_TAG]])
    return token_ids[char_token_index(doc) if token_of_char is None else token_of_char]


def consistency_targets(
    spans: Sequence[CharSpan], n_chars: int, entity_pos_ids: Dict[str, int]
) -> Tuple[Ints1d, Ints1d]:
    """Segmentation and POS targets implied by gold entities (eq. 11):
    B at an entity's first character, E at its last, S for one character (other
    characters IGNORE), and the mapped POS id on every entity character (IGNORE
    elsewhere and for labels not in `entity_pos_ids`).
    """
    cws = numpy.full((n_chars,), IGNORE, dtype="int64")
    pos = numpy.full((n_chars,), IGNORE, dtype="int64")
    for start, end, label in spans:
        if end - start == 1:
            cws[start] = CWS_TAGS.index("S")
        else:
            cws[start] = CWS_TAGS.index("B")
            cws[end - 1] = CWS_TAGS.index("E")
        if label in entity_pos_ids:
            pos[start:end] = entity_pos_ids[label]
    return cws, pos


def batch_targets(
    refs: Sequence[Doc],
    steps: int,
    *,
    scheme: EntityTagScheme,
    tasks: Sequence[str],
    pos_tag_ids: Dict[str, int],
    entity_pos_ids: Dict[str, int],
    entity_cost: float = 0.0,
    outside_cost: float = 0.0,
    tower_on_entity_docs: bool = True,
) -> CharTargets:
    """Character-level gold of every task for `refs`, padded to `steps`. The
    word tower's terms in `tasks` share the gold of the task they learn, which
    then counts only where a Doc has entities; the tower's own only where it
    has none unless `tower_on_entity_docs`."""
    batch = len(refs)
    lengths = numpy.array([n_chars(doc) for doc in refs], dtype="int64")
    targets = CharTargets(lengths)
    for task in [task for task in tasks if task not in WORD_TERMS] + ["consistency"]:
        targets.gold[task] = numpy.zeros((batch, steps), dtype="int64")
        targets.available[task] = numpy.zeros((batch,), dtype=bool)
    cost = numpy.zeros((batch, steps), dtype="float32")
    cons = {task: numpy.full((batch, steps), IGNORE, dtype="int64") for task in ("cws", "pos")}
    for i, doc in enumerate(refs):
        n = lengths[i]
        spans = entity_spans(doc)
        if spans is not None:
            ner = scheme.encode(spans, n)
            targets.gold["ner"][i, :n] = ner
            targets.available["ner"][i] = targets.available["consistency"][i] = True
            cost[i, :n] = numpy.where(ner > 0, entity_cost, outside_cost)
            cons["cws"][i, :n], cons["pos"][i, :n] = consistency_targets(spans, n, entity_pos_ids)
        token_of_char = char_token_index(doc)
        aux = {
            "cws": lambda: cws_tags(doc, token_of_char),
            "pos": lambda: pos_tags(doc, pos_tag_ids, token_of_char),
        }
        for task, gold in aux.items():
            labels = gold() if task in tasks else None
            if labels is not None:
                targets.gold[task][i, :n] = labels
                targets.available[task][i] = True
    if entity_cost > 0 or outside_cost > 0:
        targets.ner_cost = cost
    targets.consistency = {task: cons[task] for task in ("cws", "pos") if task in tasks}
    for term, task in WORD_TERMS.items():
        if term in tasks:
            targets.gold[term], targets.available[term] = targets.gold[task], targets.available[task].copy()
            # the shared encoder's own segmentation and POS then serve the
            # entities: they learn from the entity corpus's words and tags alone
            targets.available[task] &= targets.available["ner"]
            if not tower_on_entity_docs:
                targets.available[term] &= ~targets.available["ner"]
    return targets

class FoundAnnotation(NamedTuple):
    """What `report_annotation` found in the training examples."""

    labels: Set[str]
    tags: Set[str]
    # Docs without complete entity annotation (e.g. a word-segmented, tagged corpus)
    n_without_entities: int


def report_annotation(name: str, examples: Iterable[Example]) -> FoundAnnotation:
    """Print what annotation the training examples carry; return the entity
    labels and POS tags found."""
    counts = {"docs": 0, "ner": 0, "cws": 0, "pos": 0, "partial_ner": 0, "entities": 0}
    labels: Set[str] = set()
    tags: Set[str] = set()
    for example in examples:
        ref = example.reference
        counts["docs"] += 1
        spans = entity_spans(ref)
        if spans is None:
            counts["partial_ner"] += any(t.ent_iob != 0 for t in ref)
        else:
            counts["ner"] += 1
            counts["entities"] += len(spans)
            labels.update(label for _, _, label in spans)
        counts["cws"] += cws_tags(ref) is not None
        doc_tags = token_tags(ref)
        if doc_tags is not None:
            counts["pos"] += 1
            tags.update(doc_tags)
    msg.info(
        f"[{name}] {counts['docs']} training docs: {counts['ner']} with entities "
        f"({counts['entities']} entities, labels {sorted(labels)}), "
        f"{counts['cws']} word-segmented, {counts['pos']} POS-tagged ({len(tags)} tags)"
    )
    if counts["partial_ner"]:
        msg.warn(
            f"[{name}] {counts['partial_ner']} docs have partial entity annotation "
            f"(some tokens without ENT_IOB); their NER and consistency losses are masked"
        )
    return FoundAnnotation(labels, tags, counts["docs"] - counts["ner"])


def choose_labels(
    name: str,
    found: FoundAnnotation,
    given: Optional[Union[List[str], Dict[str, List[str]]]],
    tasks: Sequence[str],
    added: Sequence[str] = (),
) -> Tuple[List[str], List[str]]:
    """The entity labels and POS tags to train: those `given` (a list of
    entity labels, or {"labels": [...], "pos_tags": [...]}), else those
    `found` in the training data (`report_annotation`), plus the labels
    `added` before (`add_label`). The space tag is always one of the POS tags."""
    found_labels, found_tags = found.labels, found.tags
    if isinstance(given, dict):
        given_labels, given_tags = given.get("labels"), given.get("pos_tags")
    else:
        given_labels, given_tags = given, None
    labels = sorted(set(given_labels if given_labels is not None else found_labels) | set(added))
    tags = sorted(set(given_tags if given_tags is not None else found_tags) | {SPACE_TAG})
    if not labels:
        raise ValueError(f"[{name}] no entity labels: the training data has no entities")
    if "pos" in tasks and len(tags) == 1:
        raise ValueError(
            f"[{name}] tasks includes 'pos' but no training example has POS tags "
            f"(token.tag_); remove 'pos' from tasks or pre-annotate the corpus"
        )
    unknown = sorted(label for label in found_labels if label not in labels)
    if unknown:
        msg.warn(
            f"[{name}] the training data has entities with labels {unknown} "
            f"that are not in the given labels {labels}; they are trained as 'O'"
        )
    return labels, tags
