"""What keeping runs of Latin letters and digits atomic does to a trained pipeline's entities.

  python -m benchmarks.atomic_runs MODEL GOLD.spacy

Decodes the NER emissions of MODEL's zh_mtl_ner on the gold texts twice,
with and without the run constraint of `pipeline.decoding`, and prints for
each: entities with a boundary inside a run (e.g. ORG "OpenA" + PER "I"),
entities that differ, and P/R/F against the gold entities (exact character
offsets).
"""
import argparse
from pathlib import Path
from typing import List, Set, Tuple

import numpy
import spacy
from spacy.tokens import DocBin
from spacy.util import minibatch

from spacy_zh_mtl.losses.targets import split_by_task
from spacy_zh_mtl.models.multitask_tagger import crf_parameters, task_sizes
from spacy_zh_mtl.models.viterbi import viterbi_decode
from spacy_zh_mtl.pipeline.decoding import run_continues

Entity = Tuple[int, int, int, str]  # doc, start, end, label


def prf(pred: Set[Entity], gold: Set[Entity]) -> str:
    tp = len(pred & gold)
    p, r = tp / max(len(pred), 1), tp / max(len(gold), 1)
    return f"P {100 * p:.2f} R {100 * r:.2f} F {100 * (2 * p * r / max(p + r, 1e-9)):.2f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("gold", type=Path)
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    ner = next(proc for _, proc in nlp.pipeline if proc.__class__.__name__ == "ZhMtlNer")
    gold_docs = list(DocBin().from_disk(args.gold).get_docs(nlp.vocab))
    gold = {(i, e.start_char, e.end_char, e.label_) for i, d in enumerate(gold_docs) for e in d.ents}
    found = {"constrained": set(), "unconstrained": set()}
    inside = {"constrained": 0, "unconstrained": 0}
    start, end, transitions = crf_parameters(ner.model)["ner"]
    allowed = ner.scheme.continuation()
    for batch in minibatch(list(enumerate(gold_docs)), 64):
        ids = [i for i, doc in batch if doc.text]
        texts = [gold_docs[i].text for i in ids]
        docs = list(nlp.pipe(texts, disable=[ner.name]))
        emissions = split_by_task(ner.model.ops.to_numpy(ner.model.predict(docs)), task_sizes(ner.model))["ner"]
        lengths = numpy.array([len(t) for t in texts])
        runs = run_continues(texts, emissions.shape[1])
        for name, joined in (("constrained", runs), ("unconstrained", None)):
            tags = viterbi_decode(emissions, lengths, start, end, transitions, joined=joined, allowed=allowed)
            for row, i in enumerate(ids):
                for s, e, label in ner.scheme.decode(tags[row, : lengths[row]]):
                    found[name].add((i, s, e, label))
                    inside[name] += bool(runs[row, s] or (e < lengths[row] and runs[row, e]))
    gold_texts = [d.text for d in gold_docs]
    gold_runs = run_continues(gold_texts, max(map(len, gold_texts), default=0) + 1)
    cut = sum(bool(gold_runs[i, s] or gold_runs[i, e]) for i, s, e, _ in gold)
    print(f"gold entities {len(gold):,}, with a boundary inside a run {cut} (the constraint cannot predict these)")
    for name in found:
        print(f"{name:<14} entities {len(found[name]):,}, with a boundary inside a run {inside[name]}, "
              f"{prf(found[name], gold)}")
    changed: List[Entity] = sorted(found["unconstrained"] ^ found["constrained"])
    print(f"entities that differ: {len(changed)}")
    for i, s, e, label in changed[:20]:
        print(f"  {'+' if (i, s, e, label) in found['constrained'] else '-'} {label} "
              f"{gold_docs[i].text[s:e]!r} in {gold_docs[i].text[max(0, s - 8):e + 8]!r}")


if __name__ == "__main__":
    main()
