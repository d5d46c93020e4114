"""Checks before `spacy train` initializes a pipeline: the things a config
needs from the data and the paths, named with the command that provides them,
before a component fails deep inside with an error about something else.

    [initialize.before_init]
    @callbacks = "spacy_zh_mtl.check_training_setup.v1"
"""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training.corpus import walk_corpus
from spacy.util import registry

# examples looked at for POS tags (a pre-annotated corpus has them on every Doc)
PEEK = 200


@registry.callbacks("spacy_zh_mtl.check_training_setup.v1")
def make_check_training_setup() -> Callable[[Language], Language]:
    """A [initialize.before_init] callback: a pkuseg tokenizer needs
    `paths.pkuseg_model`, and a `tagger` needs training data with POS tags."""

    def check_training_setup(nlp: Language) -> Language:
        config = nlp.config.interpolate()
        tokenizer = config["nlp"]["tokenizer"]
        if tokenizer.get("segmenter") == "pkuseg" and not config["initialize"]["tokenizer"].get("pkuseg_model"):
            raise ValueError(
                "This config segments words with pkuseg, and no pkuseg model is given: pass "
                "--paths.pkuseg_model DIR (the project's train-segmenter step writes segmenter/gsd; "
                "python -m spacy_zh_mtl train-segmenter makes one), or train a joint config "
                "(configs/cpu_joint.cfg), which needs no pkuseg."
            )
        train = _reader_path(config, config["training"]["train_corpus"])
        if "tagger" in nlp.pipe_names and train is not None:
            docs = list(islice(_reference_docs(nlp, train), PEEK))
            if docs and not any(doc.has_annotation("TAG") for doc in docs):
                raise ValueError(
                    f"The pipeline has a 'tagger', and the first {len(docs)} training documents "
                    "have no POS tags: the corpus is not pre-annotated. Pre-annotate it with "
                    "python -m spacy_zh_mtl preannotate IN.spacy OUT.spacy --segmenter DIR --tagger DIR "
                    "(the project's preannotate step; --vars.ner_corpus custom runs it for your files), "
                    "or train entities alone on the characters: configs/cpu_joint.cfg with "
                    "--components.ner.tasks '[\"ner\"]' --components.ner.consistency false "
                    "--components.ner.annotate '[\"ents\"]'."
                )
        return nlp

    return check_training_setup


def _reader_path(config: Dict[str, Any], dot_name: str) -> Optional[Path]:
    """The `path` of a corpus reader block such as "corpora.train" (None if
    the reader has none, e.g. a custom one)."""
    block: Any = config
    for part in dot_name.split("."):
        block = block.get(part, {}) if isinstance(block, dict) else {}
    path = block.get("path") if isinstance(block, dict) else None
    return Path(path) if path else None


def _reference_docs(nlp: Language, path: Path) -> Iterator[Doc]:
    """The Docs of a .spacy file or a folder of them, read without the tokenizer."""
    for file in walk_corpus(path, ".spacy"):
        yield from DocBin().from_disk(file).get_docs(nlp.vocab)
