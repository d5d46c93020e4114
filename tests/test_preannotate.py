"""Pre-annotation: entity boundaries win over the segmenter; real pkuseg + tagger path."""
from pathlib import Path
from typing import Dict, Iterable, List

import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_zh_mtl.cli import app
from spacy_zh_mtl.corpora.bio import char_doc
from spacy_zh_mtl.corpora.docs import read_docs, write_docs
from spacy_zh_mtl.prep.preannotate import PreannotationStats, preannotate_docs, recut
from spacy_zh_mtl.prep.pkuseg_training import (
    evaluate_segmenter,
    load_pkuseg,
    segmentation_prf,
    train_pkuseg,
)

CONFIGS = Path(__file__).parent.parent / "configs"


def texts(text: str, spans) -> List[str]:
    return [text[s:e] for s, e in spans]


def test_recut_merges_wang_xiaoming():
    # paper 000, section 3.1: <王\小\明> inside PER <王小明> becomes one word (B I E)
    text = "王小明去北京"
    stats = PreannotationStats()
    spans = recut(text, ["王", "小", "明", "去", "北京"], [(0, 3)], stats=stats)
    assert texts(text, spans) == ["王小明", "去", "北京"]
    assert (stats.entities_merged, stats.words_merged, stats.words_split) == (1, 3, 0)
    spans = recut(text, ["王", "小", "明", "去", "北京"], [(0, 3)], merge_entities=False)
    assert texts(text, spans) == ["王", "小", "明", "去", "北京"]


def test_recut_splits_crossing_word():
    text = "王小明去北京"
    stats = PreannotationStats()
    spans = recut(text, ["王小明去", "北京"], [(0, 3), (4, 6)], stats=stats)
    assert texts(text, spans) == ["王小明", "去", "北京"]
    assert (stats.words_split, stats.split_pieces, stats.entities_merged) == (1, 1, 0)
    # 南京/市长/江大桥 with LOC 南京市 + LOC 长江大桥: 市长 crosses both
    text = "南京市长江大桥"
    stats = PreannotationStats()
    spans = recut(text, ["南京", "市长", "江大桥"], [(0, 3), (3, 7)], stats=stats)
    assert texts(text, spans) == ["南京市", "长江大桥"]
    assert (stats.words_split, stats.entities_merged) == (1, 2)
    spans = recut(text, ["南京", "市长", "江大桥"], [(0, 3), (3, 7)], merge_entities=False)
    assert texts(text, spans) == ["南京", "市", "长", "江大桥"]


def test_recut_whitespace():
    text = "用 Google Maps搜"
    spans = recut(text, ["用", "Google", "Maps搜"], [(2, 13)])
    assert texts(text, spans) == ["用", "Google Maps", "搜"]


def fake_tagger(tags: Dict[str, str]):
    def tag(docs: Iterable[Doc]) -> Iterable[Doc]:
        for doc in docs:
            for token in doc:
                token.tag_ = tags.get(token.text, "NN")
            yield doc

    return tag


def test_preannotate_docs_fake_segmenter_and_tagger():
    vocab = Vocab()
    docs = [
        char_doc(vocab, list("王小明去北京"), spans=[(0, 3, "PER"), (4, 6, "LOC")]),
        char_doc(vocab, list("今天很好"), spans=[]),
    ]
    words = {"王小明去北京": ["王", "小明去", "北京"], "今天很好": ["今天", "很", "好"]}
    stats = PreannotationStats()
    out = list(preannotate_docs(
        docs, lambda text: words[text], fake_tagger({"去": "VV", "北京": "NR", "很": "AD"}), vocab,
        entity_tags={"LOC": "NR"}, default_entity_tag="NNP", stats=stats, batch_size=1,
    ))
    assert [t.text for t in out[0]] == ["王小明", "去", "北京"]
    assert [t.tag_ for t in out[0]] == ["NNP", "VV", "NR"]
    assert [(e.text, e.label_) for e in out[0].ents] == [("王小明", "PER"), ("北京", "LOC")]
    assert [t.tag_ for t in out[1]] == ["NN", "AD", "NN"]
    assert all(t.ent_iob_ == "O" for t in out[1])
    assert out[0].text == "王小明去北京" and not any(t.whitespace_ for t in out[0])
    assert stats.entities == stats.entities_kept == 2
    assert (stats.words_split, stats.entities_merged, stats.entity_tags_changed) == (1, 1, 1)
    assert stats.tags == {"NNP": 1, "VV": 1, "NR": 1, "NN": 2, "AD": 1}


def test_segmentation_prf():
    scores = segmentation_prf([["王小明", "去", "北京"]], [["王", "小明", "去", "北京"]])
    assert scores["p"] == pytest.approx(2 / 4) and scores["r"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        segmentation_prf([["王"]], [["李"]])


SEG_SENTENCES = [
    "王小明 去 北京 。", "李华 在 上海 工作 。", "我们 去 北京 玩 。", "他 在 北京 工作 。",
    "李华 去 上海 。", "王小明 在 南京 工作 。", "我们 在 上海 玩 。", "他们 去 南京 。",
    "他们 在 北京 玩 。", "李华 在 南京 。", "王小明 去 上海 工作 。", "我们 去 南京 工作 。",
]


def seg_docs(vocab: Vocab) -> List[Doc]:
    return [Doc(vocab, words=s.split(), spaces=[False] * len(s.split())) for s in SEG_SENTENCES]


@pytest.fixture(scope="module")
def pkuseg_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seg") / "pkuseg"
    docs = seg_docs(Vocab())
    train_pkuseg(docs, docs, out, n_iter=5, quiet=True)
    return out


@pytest.fixture(scope="module")
def tagger_dir(tmp_path_factory) -> Path:
    """configs/preannotation_tagger.cfg trained for a few steps on hand-written tagged words."""
    from spacy.cli.train import train

    tmp = tmp_path_factory.mktemp("tagger")
    vocab = Vocab()
    tags = {"王小明": "NR", "李华": "NR", "北京": "NR", "上海": "NR", "南京": "NR", "去": "VV",
            "在": "P", "工作": "VV", "玩": "VV", "我们": "PN", "他": "PN", "他们": "PN", "。": "PU"}
    docs = seg_docs(vocab)
    for doc in docs:
        for token in doc:
            token.tag_ = tags[token.text]
    write_docs(docs, tmp / "train.spacy")
    overrides = {"paths.train": str(tmp / "train.spacy"), "paths.dev": str(tmp / "train.spacy"),
                 "training.max_steps": 30, "training.eval_frequency": 10}
    train(CONFIGS / "preannotation_tagger.cfg", tmp / "out", overrides=overrides)
    return tmp / "out" / "model-best"


def test_pkuseg_needs_ten_sentences(tmp_path):
    docs = seg_docs(Vocab())[:9]
    with pytest.raises(ValueError, match="at least 10"):
        train_pkuseg(docs, docs, tmp_path / "seg", n_iter=1, quiet=True)


def test_real_pkuseg_segmenter(pkuseg_dir):
    seg = load_pkuseg(pkuseg_dir, user_dict=None)
    scores = evaluate_segmenter(seg.cut, seg_docs(Vocab()))
    assert scores["f"] > 0.8
    assert "".join(seg.cut("王小明去北京。")) == "王小明去北京。"


@pytest.mark.slow  # tagger_dir: `spacy train`
def test_preannotate_cli_real_path(tmp_path, pkuseg_dir, tagger_dir):
    vocab = Vocab()
    docs = [
        char_doc(vocab, list("王小明去上海。"), spans=[(0, 3, "PER"), (4, 6, "LOC")]),
        char_doc(vocab, list("李华在南京市长江大桥工作。"), spans=[(0, 2, "PER"), (3, 6, "LOC"), (6, 10, "LOC")]),
        char_doc(vocab, list("我们去玩。"), spans=[]),
    ]
    write_docs(docs, tmp_path / "ner.spacy")
    result = CliRunner().invoke(app, [
        "preannotate", str(tmp_path / "ner.spacy"), str(tmp_path / "out.spacy"),
        "--segmenter", str(pkuseg_dir), "--tagger", str(tagger_dir), "--stats", str(tmp_path / "stats.json"),
    ])
    assert result.exit_code == 0, result.output
    assert "entities kept: 5 of 5" in result.output
    out = read_docs(tmp_path / "out.spacy")
    assert [d.text for d in out] == [d.text for d in docs]
    for doc, gold in zip(out, docs):
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == \
            [(e.start_char, e.end_char, e.label_) for e in gold.ents]
        assert all(t.tag_ for t in doc) and all(t.ent_iob != 0 for t in doc)
        for ent in doc.ents:
            assert len(ent) == 1 and ent[0].tag_ == "NR"
    assert "南京市" in [t.text for t in out[1]] and "长江大桥" in [t.text for t in out[1]]
