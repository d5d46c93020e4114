"""Shared pytest fixtures."""
from pathlib import Path
from typing import List

import pytest

from spacy_zh_mtl.prep.tiny_transformer import make_tiny_transformer

# Fixtures that train a pipeline with `spacy train`: a test that uses one must
# be marked slow (`pytest -m "not slow"` is the quick run).
TRAINING_FIXTURES = {"trained_pipeline_dir", "trained_pretrained_pipeline_dir", "tagger_dir"}


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Refuse to run a test that uses a TRAINING_FIXTURES fixture without the slow marker."""
    unmarked = [
        item.nodeid for item in items
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"these tests train a pipeline but are not marked slow: {unmarked}")


# Short texts to build the tiny transformer's vocabulary from: person, place and
# organisation names, digits, Latin words and an emoji.
TINY_TEXTS: List[str] = [
    "王小明在北京大学读书。",
    "南京市长江大桥于1968年建成通车。",
    "2019年Apple发布了iPhone 11，售价5999元😀",
    "李华和张伟去上海参加了会议。",
    "北京欢迎你！",
]


@pytest.fixture(scope="session")
def tiny_texts() -> List[str]:
    """The texts the tiny transformer's vocabulary is built from."""
    return list(TINY_TEXTS)


@pytest.fixture(scope="session")
def tiny_transformer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT (hidden 32, 1 layer, 2 heads) with a vocabulary from TINY_TEXTS."""
    return make_tiny_transformer(
        tmp_path_factory.mktemp("tiny_transformer"),
        TINY_TEXTS,
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
    )


# Annotated training sentences for the pipeline tests: (word, tag) pairs with
# CTB tags and character-offset entities. Written for the tests.
TRAIN_SENTENCES = [
    ([("王小明", "NR"), ("去", "VV"), ("北京", "NR")], [(0, 3, "PER"), (4, 6, "LOC")]),
    ([("李华", "NR"), ("在", "P"), ("上海", "NR"), ("工作", "VV")], [(0, 2, "PER"), (3, 5, "LOC")]),
    ([("张伟", "NR"), ("访问", "VV"), ("南京", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("北京大学", "NR"), ("欢迎", "VV"), ("王小明", "NR")], [(0, 4, "ORG"), (6, 9, "PER")]),
    ([("我们", "PN"), ("去", "VV"), ("上海", "NR"), ("玩", "VV")], [(3, 5, "LOC")]),
    ([("南京市", "NR"), ("长江大桥", "NR"), ("很", "AD"), ("长", "VA")], [(0, 3, "LOC"), (3, 7, "LOC")]),
    ([("李华", "NR"), ("和", "CC"), ("张伟", "NR"), ("是", "VC"), ("朋友", "NN")], [(0, 2, "PER"), (3, 5, "PER")]),
    ([("今天", "NT"), ("天气", "NN"), ("很", "AD"), ("好", "VA")], []),
    ([("刘洋", "NR"), ("加入", "VV"), ("清华大学", "NR")], [(0, 2, "PER"), (4, 8, "ORG")]),
    ([("陈静", "NR"), ("住", "VV"), ("在", "P"), ("广州", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("复旦大学", "NR"), ("位于", "VV"), ("上海", "NR")], [(0, 4, "ORG"), (6, 8, "LOC")]),
    ([("赵军", "NR"), ("喜欢", "VV"), ("杭州", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("华为", "NR"), ("公司", "NN"), ("在", "P"), ("深圳", "NR")], [(0, 2, "ORG"), (5, 7, "LOC")]),
    ([("我", "PN"), ("喜欢", "VV"), ("看", "VV"), ("书", "NN")], []),
    ([("孙丽", "NR"), ("去", "VV"), ("了", "AS"), ("成都", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("周强", "NR"), ("在", "P"), ("华为", "NR"), ("工作", "VV")], [(0, 2, "PER"), (3, 5, "ORG")]),
    ([("武汉", "NR"), ("的", "DEG"), ("天气", "NN"), ("很", "AD"), ("热", "VA")], [(0, 2, "LOC")]),
    ([("吴敏", "NR"), ("和", "CC"), ("李华", "NR"), ("去", "VV"), ("杭州", "NR")], [(0, 2, "PER"), (3, 5, "PER"), (6, 8, "LOC")]),
    ([("清华大学", "NR"), ("在", "P"), ("北京", "NR")], [(0, 4, "ORG"), (5, 7, "LOC")]),
    ([("他们", "PN"), ("明天", "NT"), ("去", "VV"), ("广州", "NR")], [(5, 7, "LOC")]),
]
TRAIN_TEXTS = ["".join(word for word, _ in words) for words, _ in TRAIN_SENTENCES]

# Sentences no pipeline is trained on, for the tests of what training taught:
# the training sentences' words and entities in new combinations (and one
# sentence without an entity), made of characters the tiny transformer's
# vocabulary has.
HELD_OUT_SENTENCES = [
    ([("张伟", "NR"), ("去", "VV"), ("上海", "NR")], [(0, 2, "PER"), (3, 5, "LOC")]),
    ([("陈静", "NR"), ("在", "P"), ("北京", "NR"), ("工作", "VV")], [(0, 2, "PER"), (3, 5, "LOC")]),
    ([("刘洋", "NR"), ("访问", "VV"), ("杭州", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("孙丽", "NR"), ("喜欢", "VV"), ("广州", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("周强", "NR"), ("加入", "VV"), ("复旦大学", "NR")], [(0, 2, "PER"), (4, 8, "ORG")]),
    ([("吴敏", "NR"), ("住", "VV"), ("在", "P"), ("深圳", "NR")], [(0, 2, "PER"), (4, 6, "LOC")]),
    ([("我们", "PN"), ("去", "VV"), ("南京", "NR"), ("玩", "VV")], [(3, 5, "LOC")]),
    ([("赵军", "NR"), ("在", "P"), ("华为", "NR"), ("工作", "VV")], [(0, 2, "PER"), (3, 5, "ORG")]),
    ([("我们", "PN"), ("明天", "NT"), ("去", "VV"), ("玩", "VV")], []),
]
HELD_OUT_TEXTS = ["".join(word for word, _ in words) for words, _ in HELD_OUT_SENTENCES]


def make_reference_docs(vocab, sentences: list = TRAIN_SENTENCES) -> list:
    """The sentences (default: TRAIN_SENTENCES) as reference Docs with words,
    tags and entities."""
    from spacy.tokens import Doc

    docs = []
    for words_tags, ents in sentences:
        words = [word for word, _ in words_tags]
        doc = Doc(vocab, words=words, spaces=[False] * len(words), tags=[t for _, t in words_tags])
        doc.set_ents([doc.char_span(s, e, label=label) for s, e, label in ents], default="outside")
        docs.append(doc)
    return docs


@pytest.fixture(scope="session")
def pkuseg_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pkuseg model trained (in well under a second) on the TRAIN_SENTENCES words."""
    import spacy_pkuseg

    tmp = tmp_path_factory.mktemp("pkuseg")
    train_file = tmp / "train.txt"
    train_file.write_text(
        "".join(" ".join(w for w, _ in words) + "\n" for words, _ in TRAIN_SENTENCES),
        encoding="utf8",
    )
    spacy_pkuseg.train(str(train_file), str(train_file), str(tmp / "model"), train_iter=5)
    return tmp / "model"


@pytest.fixture(scope="session")
def pipeline_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train.spacy (= dev.spacy) holding the TRAIN_SENTENCES."""
    import spacy
    from spacy.tokens import DocBin

    tmp = tmp_path_factory.mktemp("corpus")
    DocBin(docs=make_reference_docs(spacy.blank("zh").vocab)).to_disk(tmp / "train.spacy")
    return tmp / "train.spacy"


@pytest.fixture(scope="session")
def pipeline_transformer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny transformer whose vocabulary covers the pipeline tests' texts."""
    return make_tiny_transformer(
        tmp_path_factory.mktemp("pipeline_transformer"),
        TRAIN_TEXTS + TINY_TEXTS,
        hidden_size=64,
        num_layers=1,
        num_heads=2,
        intermediate_size=128,
    )


# configs/cpu_trf.cfg with the transformer's wordpieces as the only character
# features (the pretrained sources have tests of their own).
WORDPIECES_ONLY = {"components.ner.model.char_features": None}
TRAIN_OVERRIDES = {
    **WORDPIECES_ONLY,
    "system.seed": 0,
    "components.ner.model.hidden_size": 32,
    "training.max_steps": 300,
    "training.eval_frequency": 100,
    "training.optimizer.learn_rate.warmup_steps": 10,
    "training.optimizer.learn_rate.initial_rate": 0.001,
}


@pytest.fixture(scope="session")
def trained_pipeline_dir(
    tmp_path_factory: pytest.TempPathFactory,
    pipeline_corpus: Path,
    pipeline_transformer_dir: Path,
    pkuseg_model_dir: Path,
) -> Path:
    """configs/cpu_trf.cfg (wordpieces only) trained by `spacy train` on the
    TRAIN_SENTENCES; model-last."""
    from spacy.cli.train import train

    output = tmp_path_factory.mktemp("trained")
    overrides = {
        "paths.train": str(pipeline_corpus),
        "paths.dev": str(pipeline_corpus),
        "paths.pkuseg_model": str(pkuseg_model_dir),
        "paths.transformer": str(pipeline_transformer_dir),
        **TRAIN_OVERRIDES,
    }
    train(CONFIGS / "cpu_trf.cfg", output, overrides=overrides)
    return output / "model-last"


@pytest.fixture(scope="session")
def trained_pretrained_pipeline_dir(
    tmp_path_factory: pytest.TempPathFactory, pipeline_corpus: Path, pkuseg_model_dir: Path
) -> Path:
    """configs/cpu.cfg (no transformer: LAC's character encoder and jieba's
    lexicon, read from the installed packages) trained on the TRAIN_SENTENCES."""
    from spacy.cli.train import train

    output = tmp_path_factory.mktemp("trained_pretrained")
    overrides = {
        "paths.train": str(pipeline_corpus),
        "paths.dev": str(pipeline_corpus),
        "paths.pkuseg_model": str(pkuseg_model_dir),
        "system.seed": 0,
        "components.ner.model.hidden_size": 32,
        "training.max_steps": 200,
        "training.eval_frequency": 100,
        "training.optimizer.learn_rate.warmup_steps": 10,
    }
    train(CONFIGS / "cpu.cfg", output, overrides=overrides)
    return output / "model-last"


CONFIGS = Path(__file__).parent.parent / "configs"


def build_pipeline(transformer_dir: Path, pkuseg_dir: Path, overrides: dict = {}):
    """configs/cpu_trf.cfg (wordpieces only) with the given overrides, not yet initialized."""
    from spacy import util

    config = util.load_config(
        CONFIGS / "cpu_trf.cfg",
        overrides={
            **WORDPIECES_ONLY,
            "paths.transformer": str(transformer_dir),
            "paths.pkuseg_model": str(pkuseg_dir),
            "components.ner.model.hidden_size": 16,
            **overrides,
        },
        interpolate=True,
    )
    return util.load_model_from_config(config, auto_fill=True, validate=True)


@pytest.fixture(scope="session")
def initialized_nlp(pipeline_transformer_dir: Path, pkuseg_model_dir: Path):
    """The cpu_trf.cfg pipeline (wordpieces only) initialized on the TRAIN_SENTENCES, untrained."""
    from spacy.training import Example

    nlp = build_pipeline(pipeline_transformer_dir, pkuseg_model_dir)
    nlp.initialize(lambda: [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)])
    return nlp


# zh_mtl_ner without a transformer: its only character features are vectors
# read from a text file (`write_char_vectors`), fine-tuned like an embedding
# table. Initializes in a fraction of a second.
CHAR_VECTORS_NER = """
[model]
@architectures = "spacy_zh_mtl.MultitaskCharTagger.v2"
hidden_size = 16
tok2vec = null

[model.char_features]
@architectures = "spacy_zh_mtl.CharFeatures.v1"

[model.char_features.sources]

[model.char_features.sources.vectors]
@architectures = "spacy_zh_mtl.CharVectors.v1"

[model.char_features.sources.vectors.table]
@misc = "spacy_zh_mtl.text_char_vectors.v1"
path = "{vectors}"
"""


def write_char_vectors(path: Path, texts: List[str], width: int = 8, seed: int = 0) -> Path:
    """A word2vec-style text file with a random vector for every character of `texts`."""
    import numpy

    chars = sorted({char for text in texts for char in text if not char.isspace()})
    rows = numpy.random.default_rng(seed).normal(size=(len(chars), width))
    lines = [f"{len(chars)} {width}"] + [
        char + " " + " ".join(f"{value:.4f}" for value in row) for char, row in zip(chars, rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def char_vectors_nlp(vectors: Path, **settings):
    """A blank zh pipeline with a `ner` (zh_mtl_ner, CHAR_VECTORS_NER) with
    these settings, not yet initialized."""
    import spacy
    from thinc.api import Config

    nlp = spacy.blank("zh")
    model = Config().from_str(CHAR_VECTORS_NER.format(vectors=vectors))["model"]
    nlp.add_pipe("zh_mtl_ner", name="ner", config={"model": model, **settings})
    return nlp


def reference_examples(nlp, docs: list) -> list:
    """Examples of the reference Docs, each with a fresh predicted Doc of its text."""
    from spacy.training import Example

    return [Example(nlp.make_doc(doc.text), doc) for doc in docs]


def flat(text: str) -> str:
    """Command output with the line wrapping of wasabi and of typer's error box undone."""
    return " ".join(text.replace("│", " ").split())


def assert_clear_failure(result, message: str, code: int = 1) -> None:
    """A CliRunner result of bad input: exit code `code`, `message` shown, no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught exception
    assert "Traceback" not in result.output
    assert message in flat(result.output), result.output


def run_isolated(cmd: list, timeout: float) -> str:
    """Run `cmd` in a new session and return its output; on a timeout kill the
    whole process group (hung worker processes included) and fail the test.
    """
    import os
    import signal
    import subprocess

    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"{cmd[:3]} hung for {timeout} s:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]
    return output
