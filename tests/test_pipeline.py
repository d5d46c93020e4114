"""The trained pipelines: the shared-transformer one (configs/cpu_trf.cfg,
wordpieces only) and the pretrained-character one (configs/cpu.cfg), each in
standard mode and loaded in joint mode: learning, token splitting and
joint-mode words, bad input, batching, multi-process use.

Both are trained (seed 0) on the TRAIN_SENTENCES; what they learnt is
checked on the HELD_OUT_SENTENCES. Trained with seeds 0 to 3, every pipeline
and mode got all held-out entities, words and joint-mode tags right.
"""
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from conftest import HELD_OUT_SENTENCES, TRAIN_TEXTS, make_reference_docs, run_isolated
from spacy_zh_mtl import load_joint

pytestmark = pytest.mark.slow

BAD_INPUTS = [
    "",
    "   ",
    "\u3000",
    "王",
    "北京上海广州深圳" * 2500,  # 20,000 characters, no punctuation
    "2019年Apple发布iPhone 11，售价5999元😀",
    "王小明在臺灣大學讀書，住在臺北。",
    "北京,上海，广州.深圳。（注）(note)！!？?",
    "王小明\x00去\x07北京\x1b",
    "王\u200b小\u200d明\ufeff去北京",
    "Apple and Google are in California",
    "王小明\n去\t北京\r\n\n李华",
]


PIPELINES = {
    "transformer": ("trained_pipeline_dir", ["transformer", "tagger", "ner"]),
    "pretrained": ("trained_pretrained_pipeline_dir", ["tok2vec", "tagger", "ner"]),
}


MODES = [(pipeline, mode) for pipeline in PIPELINES for mode in ("standard", "joint")]


@pytest.fixture(scope="module", params=MODES, ids=[f"{p}-{m}" for p, m in MODES])
def nlp(request):
    pipeline, mode = request.param
    path = request.getfixturevalue(PIPELINES[pipeline][0])
    return spacy.load(path) if mode == "standard" else load_joint(path)


def is_joint(nlp) -> bool:
    return "tokens" in nlp.get_pipe("ner").settings.annotate


def held_out_docs(nlp) -> list:
    """The HELD_OUT_SENTENCES as reference Docs (words, tags, entities)."""
    docs = make_reference_docs(nlp.vocab, HELD_OUT_SENTENCES)
    assert not {doc.text for doc in docs} & set(TRAIN_TEXTS)
    return docs


def test_pipeline_order_and_learning(nlp):
    names = [names for _, names in PIPELINES.values()]
    if is_joint(nlp):
        names = [[n for n in ns if n not in ("tok2vec", "tagger")] for ns in names]
        assert nlp.tokenizer.segmenter == "char"
    assert nlp.pipe_names in names
    assert nlp.get_pipe("ner").__class__.__name__ == "ZhMtlNer"
    examples = [Example(nlp.make_doc(ref.text), ref) for ref in held_out_docs(nlp)]
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] >= 0.9
    assert set(scores["ents_per_type"]) == {"PER", "LOC", "ORG"}
    assert scores["tag_acc"] >= 0.9
    if is_joint(nlp):  # the words of the segmentation decoder
        assert scores["token_f"] >= 0.9


def test_joint_mode_writes_words_tags_and_entities(nlp, tmp_path):
    if not is_joint(nlp):
        pytest.skip("joint mode only")
    tagset = set(nlp.get_pipe("ner").cfg["pos_tags"])
    same_tags = total = 0
    for ref in held_out_docs(nlp):
        doc = nlp(ref.text)
        assert [t.text for t in doc] == [t.text for t in ref]
        same_tags += sum(a.tag_ == b.tag_ for a, b in zip(doc, ref))
        total += len(ref)
        assert [(e.start_char, e.end_char) for e in doc.ents] == [(e.start_char, e.end_char) for e in ref.ents]
    assert same_tags / total >= 0.85
    for text in BAD_INPUTS:
        doc = nlp(text)
        assert "".join(t.text_with_ws for t in doc) == text
        assert all(t.tag_ in tagset for t in doc)  # every token, whitespace included
        assert not any(t.text.strip() != t.text and not t.is_space for t in doc)  # no word holds whitespace
        if "transformer" in nlp.pipe_names and len(doc):  # the wordpiece alignment follows the words
            assert len(doc._.trf_data.align.lengths) == len(doc)
    nlp.to_disk(tmp_path / "joint")
    reloaded = spacy.load(tmp_path / "joint")
    assert reloaded.get_pipe("ner").settings.annotate == ["ents", "tokens", "tags"]
    assert reloaded.tokenizer.segmenter == "char"
    text = TRAIN_TEXTS[3]
    assert [(t.text, t.tag_) for t in reloaded(text)] == [(t.text, t.tag_) for t in nlp(text)]


def test_entity_inside_segmenter_token_is_split(nlp):
    # The segmenter gave 王小明去 as one token; the entity is 王小明.
    if is_joint(nlp):
        pytest.skip("standard mode only")
    doc = Doc(nlp.vocab, words=["王小明去", "北京"], spaces=[False, False])
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("王小明", "PER"), ("北京", "LOC")]
    assert [t.text for t in doc] == ["王小明", "去", "北京"]
    assert doc[0].tag_ == "NR"  # the entity piece takes the entity's POS
    assert doc[1].tag_ != ""  # the rest keeps a tag
    if "transformer" not in nlp.pipe_names:
        return
    # doc._.trf_data follows the split: both pieces keep the wordpieces of 王小明去.
    align = doc._.trf_data.align
    assert list(align.lengths) == [4, 4, 2]
    assert list(align[0].dataXd.ravel()) == list(align[1].dataXd.ravel())
    nlp.get_pipe("tagger").predict([doc])  # a listener can still read it


def test_ents_match_reference_character_offsets(nlp):
    for ref in held_out_docs(nlp):
        doc = nlp(ref.text)
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (e.start_char, e.end_char, e.label_) for e in ref.ents
        ]


@pytest.mark.parametrize("text", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_input_gives_valid_doc(nlp, text):
    doc = nlp(text)
    assert doc.text == text
    for ent in doc.ents:
        assert 0 <= ent.start_char < ent.end_char <= len(text)
        assert ent.text == text[ent.start_char : ent.end_char]
        assert ent.text.strip() == ent.text
    assert all(token.ent_iob_ in ("B", "I", "O") for token in doc)


def test_pipe_matches_call_and_handles_batches(nlp):
    texts = TRAIN_TEXTS[:6] + BAD_INPUTS

    def annotations(doc):
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents], [(t.idx, t.tag_) for t in doc]

    piped = [annotations(d) for d in nlp.pipe(texts, batch_size=4)]
    single = [annotations(nlp(t)) for t in texts]
    assert piped == single
    assert any(ents for ents, _ in piped)


MULTIPROCESS_SCRIPT = """
import sys, spacy
nlp = spacy.load(sys.argv[1])
texts = {texts!r}
one = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
two = [[(e.start_char, e.end_char, e.label_) for e in d.ents]
       for d in nlp.pipe(texts, n_process=2, batch_size=1)]
assert one == two, (one, two)
assert any(one)
print("OK", len(texts))
"""


def test_multiprocess_pipe_gives_same_entities(trained_pipeline_dir: Path):
    texts = TRAIN_TEXTS[:6] + ["", "王小明去北京"]
    script = MULTIPROCESS_SCRIPT.format(texts=texts)
    output = run_isolated([sys.executable, "-c", script, str(trained_pipeline_dir)], timeout=300)
    assert "OK 8" in output


def test_speed_and_word_benchmarks_run_on_a_trained_pipeline(trained_pretrained_pipeline_dir: Path, tmp_path: Path):
    """The commands of benchmarks/ that take a trained pipeline (no training)."""
    import json
    import subprocess

    from spacy.tokens import DocBin

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TRAIN_TEXTS + ["", "OpenAI的CEO在北京"]) + "\n", encoding="utf8")
    model = str(trained_pretrained_pipeline_dir)
    out = tmp_path / "speed.json"
    cmd = [sys.executable, "-m", "benchmarks.pipeline_speed", model, str(texts), "--joint", "--output", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300, cwd=Path(__file__).parent.parent)
    result = json.loads(out.read_text())
    assert result["pipeline"] == ["ner"] and result["texts"] == len(TRAIN_TEXTS) + 2
    assert result["chars_per_second"] > 0 and set(result["component_seconds"]) == {"tokenizer", "ner"}
    assert result["ents"] > 0
    compare = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", str(texts), "--run", f"joint={model}:joint",
         "--run", f"standard={model}", "--run", "lac=lac", "--baseline", "standard", "--rounds", "1"],
        check=True, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent,
    ).stdout
    assert "| standard | tok2vec + tagger + ner |" in compare and "| 1.00 (1.00–1.00) |" in compare
    assert "| joint | ner |" in compare and "| lac | lac |" in compare
    gold = tmp_path / "gold.spacy"
    DocBin(docs=held_out_docs(spacy.blank("zh"))).to_disk(gold)
    table = subprocess.run(
        [sys.executable, "-m", "benchmarks.words_tags", str(gold), "--run", f"joint={model}:joint"],
        check=True, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent,
    ).stdout
    word_f = float(table.strip().splitlines()[-1].split("|")[5])
    assert word_f >= 90.0  # the held-out sentences' words


def test_user_words_change_the_lexicon_features_and_are_saved(trained_pretrained_pipeline_dir: Path, tmp_path: Path):
    from spacy_zh_mtl import add_user_words

    nlp = spacy.load(trained_pretrained_pipeline_dir)
    ner = nlp.get_pipe("ner")
    lexicon = ner.model.get_ref("char_features").get_ref("lexicon")
    text = "蔚来汽车在合肥"

    def features():
        rows, _ = lexicon([nlp.make_doc(text)], is_train=False)
        return rows.dataXd.copy()

    before = features()
    words = tmp_path / "words.txt"
    words.write_text("蔚来汽车 5 nt\n合肥市长\n", encoding="utf8")
    assert add_user_words(nlp, words) == 2
    after = features()
    assert not (before[:4] == after[:4]).all()  # 蔚来汽车 now matches, as a word and as an ORG
    assert (before[4:] == after[4:]).all()
    nlp.to_disk(tmp_path / "custom")
    reloaded = spacy.load(tmp_path / "custom")
    rows, _ = reloaded.get_pipe("ner").model.get_ref("char_features").get_ref("lexicon")(
        [reloaded.make_doc(text)], is_train=False
    )
    assert (rows.dataXd == after).all()
    assert add_user_words(nlp, [("蔚来汽车", "ORG")]) == 0  # known now
    with pytest.raises(ValueError, match="unknown word type"):
        add_user_words(nlp, [("蔚来", "BRAND")])
    with pytest.raises(ValueError, match="whitespace"):
        add_user_words(nlp, ["蔚来 汽车"])
    bad = tmp_path / "bad.txt"
    bad.write_text("一 二 三 四\n", encoding="utf8")
    with pytest.raises(ValueError, match="bad.txt:1"):
        add_user_words(nlp, bad)
