"""A user dictionary at prediction time, as jieba and LAC users know it: add
domain words (optionally typed PER/LOC/ORG...) to a trained pipeline's
lexicon features without retraining.

    import spacy, spacy_zh_mtl
    nlp = spacy.load("zh_mtl_ner")
    spacy_zh_mtl.add_user_words(nlp, [("蔚来汽车", "ORG"), "碳中和"])
    spacy_zh_mtl.add_user_words(nlp, "my_words.txt")   # jieba format: word [freq] [tag]
    nlp.to_disk("zh_mtl_ner_custom")                    # the words are saved with it

The words change the lexicon features (B/M/E/S match weights, per type) of
every `zh_mtl_ner` component with a `LexiconFeatures` source. The model was
trained to read those features, so a typed entry is a strong hint, not a
rule: it cannot force an entity the rest of the evidence argues against.
"""
from pathlib import Path
from typing import Iterable, Optional, Tuple, Union

from spacy.language import Language

from ..models.lexicon_features import add_words, read_user_words

UserWord = Union[str, Tuple[str, Optional[str]]]


def add_user_words(
    nlp: Language, words: Union[str, Path, Iterable[UserWord]], weight: float = 1.0
) -> int:
    """Add `words` (a file in jieba's user-dictionary format, or words and
    (word, type) pairs) to the lexicon of every zh_mtl_ner component;
    returns how many words were new (per component, summed)."""
    if isinstance(words, (str, Path)):
        entries = read_user_words(Path(words))
    else:
        entries = [(w, None) if isinstance(w, str) else (w[0], w[1]) for w in words]
    sources = [
        node
        for _, pipe in nlp.pipeline
        if pipe.__class__.__name__ == "ZhMtlNer"
        for node in pipe.model.walk()
        if node.name == "lexicon_features"
    ]
    if not sources:
        raise ValueError(
            "add_user_words: no zh_mtl_ner component with a lexicon feature source "
            "(spacy_zh_mtl.LexiconFeatures.v1) in this pipeline"
        )
    return sum(add_words(source, entries, weight) for source in sources)
