"""Know your corpus: what an NER corpus holds before training on it.

Per split: sentences, characters, entities per label, the entity length
histogram (characters), sentences longer than the transformer window, and
how many gold entities cross pkuseg word boundaries (a boundary inside a
word: spaCy's token-based `ner` cannot predict them, `zh_mtl_ner` can). Across
splits: sentences of dev/test that are also in train (exact text).
"""
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence

from spacy.tokens import Doc

from .preannotate import word_bounds

Cut = Callable[[str], Sequence[str]]
MAX_EXAMPLES = 5
LENGTH_BUCKETS = ("1", "2", "3", "4", "5", "6-10", "11-20", ">20")


def length_bucket(n: int) -> str:
    """The histogram bucket of an entity of n characters."""
    if n <= 5:
        return str(n)
    return "6-10" if n <= 10 else "11-20" if n <= 20 else ">20"


def split_stats(docs: Sequence[Doc], *, max_chars: int = 512, cut: Optional[Cut] = None) -> Dict[str, Any]:
    """Counts of one split (see the module docstring).

    max_chars: The transformer window in characters; longer sentences are counted.
    cut: A word segmenter (pkuseg's `cut`); None leaves the crossing count out.
    """
    labels: Counter = Counter()
    lengths: Counter = Counter()
    crossing: Counter = Counter()
    long_docs: List[int] = []
    crossing_examples: List[str] = []
    n_chars = 0
    for i, doc in enumerate(docs):
        n_chars += len(doc.text)
        if len(doc.text) > max_chars:
            long_docs.append(i)
        cuts = None
        if cut is not None and doc.ents:
            cuts = {0, len(doc.text)}
            for start, end in word_bounds(cut(doc.text), doc.text):
                cuts.update((start, end))
        for ent in doc.ents:
            labels[ent.label_] += 1
            lengths[length_bucket(len(ent.text))] += 1
            if cuts is not None and (ent.start_char not in cuts or ent.end_char not in cuts):
                crossing[ent.label_] += 1
                if len(crossing_examples) < MAX_EXAMPLES:
                    crossing_examples.append(f"{ent.text} ({ent.label_}) in {doc.text[:40]!r}")
    n_ents = sum(labels.values())
    out: Dict[str, Any] = {
        "sentences": len(docs),
        "characters": n_chars,
        "entities": n_ents,
        "labels": dict(sorted(labels.items())),
        "entity_lengths": {b: lengths[b] for b in LENGTH_BUCKETS},
        "longer_than_window": len(long_docs),
        "longer_than_window_docs": long_docs[:MAX_EXAMPLES],
        "max_chars": max(len(d.text) for d in docs) if docs else 0,
    }
    if cut is not None:
        out["crossing_pkuseg"] = sum(crossing.values())
        out["crossing_pkuseg_share"] = sum(crossing.values()) / n_ents if n_ents else 0.0
        out["crossing_pkuseg_labels"] = dict(sorted(crossing.items()))
        out["crossing_pkuseg_examples"] = crossing_examples
    return out


def shared_sentences(train: Sequence[Doc], other: Sequence[Doc]) -> Dict[str, Any]:
    """Sentences of `other` whose text is also a train sentence."""
    train_texts = {doc.text for doc in train}
    shared = [doc.text for doc in other if doc.text in train_texts]
    return {"sentences": len(shared), "share": len(shared) / len(other) if other else 0.0,
            "examples": shared[:MAX_EXAMPLES]}


def corpus_stats(
    splits: Dict[str, Sequence[Doc]], *, max_chars: int = 512, cut: Optional[Cut] = None
) -> Dict[str, Any]:
    """Stats of every split, and the dev/test sentences also in train."""
    out: Dict[str, Any] = {
        "window": max_chars,
        "splits": {name: split_stats(docs, max_chars=max_chars, cut=cut) for name, docs in splits.items()},
    }
    if "train" in splits:
        out["shared_with_train"] = {
            name: shared_sentences(splits["train"], docs) for name, docs in splits.items() if name != "train"
        }
    return out
