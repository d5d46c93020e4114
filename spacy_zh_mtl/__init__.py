"""Chinese NER for spaCy: a multitask BERT-BiGRU-CRF component (`zh_mtl_ner`)."""
from . import fork_safety  # noqa: F401  (nlp.pipe(n_process>1) with CPU torch)
from .models import (  # noqa: F401  (registrations)
    char_features,
    char_vectors,
    lac_encoder,
    lexicon_features,
    multitask_tagger,
    optimizers,
    wordpiece_features,
)
from .corpora import training  # noqa: F401  (registrations)
from .pipeline import preflight, scoring  # noqa: F401  (registrations)
from .pipeline.joint_mode import load_joint  # noqa: F401
from .pipeline.user_dictionary import add_user_words  # noqa: F401
from .pipeline.zh_mtl_ner import ZhMtlNer, make_zh_mtl_ner  # noqa: F401

__version__ = "0.2.0"
