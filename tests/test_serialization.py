"""Round trips: bytes, disk, replace_listeners and sourcing into another pipeline."""
from pathlib import Path

import pytest
import spacy

from conftest import TRAIN_TEXTS

pytestmark = pytest.mark.slow  # trained_pipeline_dir: `spacy train`

WORDPIECE_LISTENER = "model.tok2vec"

TEXTS = TRAIN_TEXTS[:8] + ["王小明去北京", "2019年Apple发布iPhone 11"]


def predictions(nlp):
    return [
        ([(e.start_char, e.end_char, e.label_) for e in doc.ents], [t.tag_ for t in doc])
        for doc in nlp.pipe(TEXTS)
    ]


def test_bytes_and_disk_round_trips(trained_pipeline_dir: Path, tmp_path: Path):
    nlp = spacy.load(trained_pipeline_dir)
    expected = predictions(nlp)
    assert any(ents for ents, _ in expected)
    nlp2 = spacy.load(trained_pipeline_dir)
    nlp2.get_pipe("ner").from_bytes(nlp.get_pipe("ner").to_bytes())
    assert predictions(nlp2) == expected
    nlp.to_disk(tmp_path / "copy")
    assert predictions(spacy.load(tmp_path / "copy")) == expected


def test_replace_listeners_and_source(trained_pipeline_dir: Path, tmp_path: Path):
    nlp = spacy.load(trained_pipeline_dir)
    expected = [ents for ents, _ in predictions(nlp)]
    assert any(expected)
    nlp.replace_listeners("transformer", "ner", [WORDPIECE_LISTENER])
    assert [ents for ents, _ in predictions(nlp)] == expected
    # A standalone ner (own transformer copy) sourced into a blank pipeline.
    target = spacy.blank("zh", config={"nlp": {"tokenizer": nlp.config["nlp"]["tokenizer"]}})
    target.tokenizer = nlp.tokenizer
    target.add_pipe("ner", source=nlp)
    got = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in target.pipe(TEXTS)]
    assert got == expected
    target.to_disk(tmp_path / "sourced")
    reloaded = spacy.load(tmp_path / "sourced")
    assert reloaded.pipe_names == ["ner"]
    got = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in reloaded.pipe(TEXTS)]
    assert got == expected
