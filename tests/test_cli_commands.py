"""The commands not run by the corpus, annotate and pre-annotation tests:
make-transformer, train-segmenter, evaluate-segmenter, check-pipeline, and
bad input to corpus-stats and place-assets. Each runs through typer's
CliRunner on files written here; bad input ends in a message and a non-zero
exit code, without a traceback.
"""
import json
from pathlib import Path
from typing import List

import pytest
import spacy
import srsly
from spacy.tokens import Doc
from spacy.vocab import Vocab
from typer.testing import CliRunner

from conftest import TRAIN_SENTENCES, assert_clear_failure, flat
from spacy_zh_mtl.cli import app
from spacy_zh_mtl.corpora.docs import write_docs

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def test_make_transformer_writes_a_loadable_bert_of_the_given_size(tmp_path: Path):
    from transformers import AutoConfig, AutoTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("王小明在北京大学读书。\n\nApple发布了iPhone 11\n", encoding="utf8")
    out = tmp_path / "bert"
    result = invoke("make-transformer", out, corpus, "--hidden-size", 8, "--layers", 1, "--heads", 2,
                    "--intermediate-size", 16, "--max-positions", 64)
    assert result.exit_code == 0, result.output
    assert "Saved a 1-layer BERT" in flat(result.output)
    config = AutoConfig.from_pretrained(out)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (8, 1, 2)
    assert config.max_position_embeddings == 64
    vocab = set((out / "vocab.txt").read_text(encoding="utf8").split())
    assert set("王小明在北京大学读书。AppleiPhone11") <= vocab
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.tokenize("北京大学") == ["北", "京", "大", "学"]
    assert "[UNK]" not in tokenizer.tokenize("王小明 iPhone")


@pytest.mark.parametrize(
    "corpus_text, options, message",
    [
        ("北京\n", ["--hidden-size", "10", "--heads", "3"], "hidden_size (10) must be divisible by num_heads (3)"),
        ("北京\n", ["--layers", "0"], "num_layers must be a positive integer, got 0"),
        ("\n \n", [], "Can't build a vocabulary: no non-empty texts given"),
    ],
    ids=["heads", "layers", "empty corpus"],
)
def test_make_transformer_bad_input(tmp_path: Path, corpus_text: str, options: List[str], message: str):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text, encoding="utf8")
    assert_clear_failure(invoke("make-transformer", tmp_path / "bert", corpus, *options), message, code=2)
    assert not (tmp_path / "bert").exists()


def segmented_docs() -> List[Doc]:
    vocab = Vocab()
    return [Doc(vocab, words=[w for w, _ in words], spaces=[False] * len(words)) for words, _ in TRAIN_SENTENCES]


def test_train_and_evaluate_segmenter(tmp_path: Path):
    docs = segmented_docs()
    write_docs(docs[:16], tmp_path / "train.spacy")
    write_docs(docs[16:], tmp_path / "dev.spacy")
    result = invoke("train-segmenter", tmp_path / "train.spacy", tmp_path / "dev.spacy", tmp_path / "seg",
                    "--n-iter", 3, "--quiet", "--user-dict", "none", "--metrics", tmp_path / "train.json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "seg" / "features.msgpack").is_file() and (tmp_path / "seg" / "weights.npz").is_file()
    trained = srsly.read_json(tmp_path / "train.json")
    assert trained["train_sentences"] == 16 and trained["n_iter"] == 3
    dev = trained["spacy"]
    assert dev["sentences"] == 4 and 0 < dev["f"] <= 1
    assert f"dev word P {dev['p'] * 100:.2f} R {dev['r'] * 100:.2f} F {dev['f'] * 100:.2f}" in flat(result.output)
    # the same dev sentences as space-separated words: the same scores
    text = tmp_path / "dev.txt"
    text.write_text("".join(" ".join(t.text for t in doc) + "\n" for doc in docs[16:]), encoding="utf8")
    result = invoke("evaluate-segmenter", tmp_path / "seg", tmp_path / "dev.spacy", text,
                    "--metrics", tmp_path / "eval.json")
    assert result.exit_code == 0, result.output
    evaluated = srsly.read_json(tmp_path / "eval.json")
    assert evaluated[str(tmp_path / "dev.spacy")] == evaluated[str(text)]
    assert {k: evaluated[str(text)][k] for k in ("p", "r", "f")} == {k: dev[k] for k in ("p", "r", "f")}


def test_evaluate_segmenter_bad_model(tmp_path: Path):
    (tmp_path / "not_a_model").mkdir()
    text = tmp_path / "words.txt"
    text.write_text("王小明 去 北京\n", encoding="utf8")
    assert_clear_failure(invoke("evaluate-segmenter", tmp_path / "not_a_model", text), "No such file or directory")
    assert_clear_failure(invoke("evaluate-segmenter", tmp_path / "missing", text), "does not exist", code=2)


def ruler_pipeline(pkuseg_dir: Path, with_tagger: bool = True) -> spacy.Language:
    """pkuseg tokenizer, an untrained tagger (its tags are some of its labels)
    and an entity_ruler named ner."""
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}},
                                    "initialize": {"tokenizer": {"pkuseg_model": str(pkuseg_dir)}}})
    if with_tagger:
        tagger = nlp.add_pipe("tagger")
        for tag in ("NR", "VV"):
            tagger.add_label(tag)
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    nlp.initialize()
    ruler.add_patterns([{"label": "PER", "pattern": "王小明"}, {"label": "LOC", "pattern": "北京"}])
    return nlp


def test_check_pipeline_shows_tokens_tags_and_entities(tmp_path: Path, pkuseg_model_dir: Path):
    ruler_pipeline(pkuseg_model_dir).to_disk(tmp_path / "nlp")
    result = invoke("check-pipeline", tmp_path / "nlp", "王小明去北京")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    tokens = next(line for line in lines if line.startswith("王小明/"))
    assert [t.split("/")[0] for t in tokens.split()] == ["王小明", "去", "北京"]
    assert all(t.split("/")[1] in ("NR", "VV") for t in tokens.split())
    assert "ents: 王小明 PER, 北京 LOC" in result.output
    assert "spacy.load works" in result.output


def test_check_pipeline_names_what_is_missing(tmp_path: Path, pkuseg_model_dir: Path):
    ruler_pipeline(pkuseg_model_dir, with_tagger=False).to_disk(tmp_path / "no_tagger")
    result = invoke("check-pipeline", tmp_path / "no_tagger", "王小明去北京")
    assert_clear_failure(result, "no tagger in the pipeline")
    assert "untagged tokens in '王小明去北京'" in flat(result.output)


def test_corpus_stats_without_corpus_files(tmp_path: Path):
    (tmp_path / "train.txt").write_text("王 B-PER\n", encoding="utf8")
    assert_clear_failure(invoke("corpus-stats", tmp_path), f"No train/dev/test .spacy file in {tmp_path}")
    assert_clear_failure(invoke("corpus-stats", tmp_path / "train.txt"), "is a file", code=2)


def test_place_assets_bad_input(tmp_path: Path):
    mirror, project = tmp_path / "mirror", tmp_path / "project"
    mirror.mkdir()
    project.mkdir()
    assert_clear_failure(invoke("place-assets", mirror, "--project-dir", project), f"Can't read file: {project / 'project.yml'}")
    (project / "project.yml").write_text(json.dumps({"assets": []}), encoding="utf8")
    assert_clear_failure(invoke("place-assets", tmp_path / "missing", "--project-dir", project), "does not exist", code=2)
