"""What a user dictionary does: a trained pipeline scored on a test set with
and without domain words added to its lexicon (no retraining).

  python -m benchmarks.user_dictionary MODEL TEST.spacy --words-from TRAIN.spacy

The dictionary is every gold entity of --words-from (typed by its label:
labels the lexicon has no type for are added untyped), the situation of a
user with a list of domain names. Prints P/R/F (exact character offsets) of
both runs and the dictionary's size.
"""
import argparse
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_zh_mtl import add_user_words


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("test", type=Path)
    parser.add_argument("--words-from", type=Path, required=True, help=".spacy file whose gold entities are the words")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    nlp = spacy.load(args.model)
    gold = list(DocBin().from_disk(args.test).get_docs(nlp.vocab))
    source = DocBin().from_disk(args.words_from).get_docs(nlp.vocab)
    lexicon = next(node for node in nlp.get_pipe("ner").model.walk() if node.name == "lexicon_features")
    types = set(lexicon.attrs["lexicon"]["types"])
    words = {(e.text, e.label_ if e.label_ in types else None) for doc in source for e in doc.ents if " " not in e.text}
    test_words = {e.text for doc in gold for e in doc.ents}
    print(f"dictionary: {len(words):,} words ({sum(t is not None for _, t in words):,} typed); "
          f"{len(test_words & {w for w, _ in words}):,} of the test set's {len(test_words):,} entity strings are in it")
    for name in ("without", "with"):
        if name == "with":
            add_user_words(nlp, sorted(words, key=lambda e: (e[0], e[1] or "")))
        examples = [Example(pred, ref) for pred, ref in zip(nlp.pipe([d.text for d in gold]), gold)]
        scores = nlp.get_pipe("ner").score(examples)
        print(f"{name:<8} the dictionary: P {100 * scores['ents_p']:.2f} R {100 * scores['ents_r']:.2f} "
              f"F {100 * scores['ents_f']:.2f}")


if __name__ == "__main__":
    main()
