"""The training corpus of joint mode: the NER corpus and, optionally, a
word-segmented and tagged corpus (UD Chinese GSD) whose gold words and tags
train the segmentation and POS decoders. Its Docs have no entity
annotation, so the NER and consistency losses skip them.

    [corpora.train]
    @readers = "spacy_zh_mtl.TrainingCorpus.v1"
    path = ${paths.train}
    aux_path = ${paths.aux_train}
"""
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from spacy.language import Language
from spacy.training import Corpus, Example
from spacy.util import registry


@registry.readers("spacy_zh_mtl.TrainingCorpus.v1")
def create_training_corpus(
    path: Union[str, Path],
    aux_path: Optional[Union[str, Path]] = None,
    max_length: int = 0,
    gold_preproc: bool = False,
    limit: int = 0,
    augmenter: Optional[Callable] = None,
) -> Callable[[Language], Iterator[Example]]:
    """The examples of `path`, then those of `aux_path` (if not null); spaCy's
    training loop shuffles them together. The other settings are those of
    `spacy.Corpus.v1`, applied to both."""
    corpora = [Corpus(path, max_length=max_length, gold_preproc=gold_preproc, limit=limit, augmenter=augmenter)]
    if aux_path is not None:
        corpora.append(Corpus(aux_path, max_length=max_length, gold_preproc=gold_preproc, limit=limit))

    def read(nlp: Language) -> Iterator[Example]:
        for corpus in corpora:
            yield from corpus(nlp)

    return read
