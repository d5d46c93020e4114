"""Tokenizer settings of the pipeline: pkuseg's dictionary post-processing.

Registered through the `spacy_callbacks` entry point, so a config that names
`spacy_zh_mtl.pkuseg_postprocess.v1` resolves without an import. Training
pkuseg itself is data preparation and lives in `spacy_zh_mtl.prep.pkuseg_training`.
"""
from typing import Callable

from spacy.language import Language
from spacy.util import registry


@registry.callbacks("spacy_zh_mtl.pkuseg_postprocess.v1")
def make_pkuseg_postprocess(enabled: bool = False) -> Callable[[Language], Language]:
    """An [initialize.after_init] callback that switches pkuseg's dictionary
    post-processing of the ChineseTokenizer on or off.

    spaCy always loads pkuseg with its default dictionary (`pkuseg_user_dict`
    "default" or a file both add it), which merges words after the model
    against its own idea of a word and so undoes what the project's segmenter
    learned from UD GSD (docs/results.md has the word F1 of both).
    The setting is saved with the tokenizer, so the packaged pipeline keeps it.

        [initialize.after_init]
        @callbacks = "spacy_zh_mtl.pkuseg_postprocess.v1"
        enabled = false
    """

    def set_pkuseg_postprocess(nlp: Language) -> Language:
        seg = getattr(nlp.tokenizer, "pkuseg_seg", None)
        if seg is not None:
            seg.postprocesser.do_process = enabled
        return nlp

    return set_pkuseg_postprocess
