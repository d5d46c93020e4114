"""Entity scores on exact character offsets."""
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable

from spacy.scorer import PRFScore, Scorer
from spacy.training import Example
from spacy.util import registry


def score_char_ents(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """P/R/F of predicted entities against the reference, matching
    (start_char, end_char, label) exactly, so the reference and the prediction
    may be tokenised differently. Examples whose reference has no entity
    annotation are skipped. Returns ents_p/r/f and ents_per_type.
    """
    totals = PRFScore()
    per_type: Dict[str, PRFScore] = defaultdict(PRFScore)
    n_annotated = 0
    for example in examples:
        reference = example.reference
        if len(reference) and not reference.has_annotation("ENT_IOB"):
            continue
        n_annotated += 1
        gold = {(e.start_char, e.end_char, e.label_) for e in reference.ents}
        pred = {(e.start_char, e.end_char, e.label_) for e in example.predicted.ents}
        for label in {span[2] for span in gold | pred}:
            per_type[label].score_set(
                {s for s in pred if s[2] == label}, {s for s in gold if s[2] == label}
            )
        totals.score_set(pred, gold)
    if not n_annotated:
        return {"ents_p": None, "ents_r": None, "ents_f": None, "ents_per_type": None}
    return {
        "ents_p": totals.precision,
        "ents_r": totals.recall,
        "ents_f": totals.fscore,
        "ents_per_type": {label: prf.to_dict() for label, prf in sorted(per_type.items())},
    }


def score_words_and_tags(examples: Iterable[Example], tags: bool) -> Dict[str, Any]:
    """Word P/R/F (`token_p/r/f`) and, with `tags`, tag accuracy (`tag_acc`)
    of the predicted tokens, against the references that are word-segmented
    (a reference of single characters, like a character-level NER corpus, has
    no words to compare with)."""
    segmented = [eg for eg in examples if any(len(token) > 1 for token in eg.reference)]
    if not segmented:
        return {"token_p": None, "token_r": None, "token_f": None, **({"tag_acc": None} if tags else {})}
    scores = Scorer.score_tokenization(segmented)
    scores.pop("token_acc", None)
    if tags:
        scores.update(Scorer.score_token_attr(segmented, "tag"))
    return scores


@registry.scorers("spacy_zh_mtl.char_ents_scorer.v1")
def make_char_ents_scorer() -> Callable[..., Dict[str, Any]]:
    return score_char_ents
