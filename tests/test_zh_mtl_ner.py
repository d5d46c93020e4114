"""The zh_mtl_ner component: character features, masking of missing
annotation, settings validation, scoring on character offsets."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from conftest import (
    TRAIN_TEXTS,
    build_pipeline,
    char_vectors_nlp,
    make_reference_docs,
    reference_examples,
    write_char_vectors,
)

MIXED = "2019年Apple发布iPhone 11，售价5999元😀"


def char_features(nlp, docs):
    """Run the pipeline up to the ner and return its per-character features."""
    docs = [nlp.get_pipe("transformer")(doc) for doc in docs]
    model = nlp.get_pipe("ner").model
    features, _ = model.get_ref("char_features")(docs, is_train=False)
    return docs, [features[i].dataXd for i in range(len(docs))]


def test_factory_available_through_entry_points():
    nlp = spacy.blank("zh")
    ner = nlp.add_pipe("zh_mtl_ner")
    assert ner.settings.tasks == ["ner", "cws", "pos"]
    assert nlp.get_pipe_meta("zh_mtl_ner").default_score_weights["ents_f"] == 1.0


def test_every_character_gets_a_feature_row(initialized_nlp):
    texts = [MIXED, "王小明 去\t北京\n", "\x00\u200b王", "😀😀", "Ωmega ÅÄÖ ｆｕｌｌ"]
    docs, features = char_features(initialized_nlp, [initialized_nlp.make_doc(t) for t in texts])
    width = initialized_nlp.get_pipe("ner").cfg["n_in"]
    for doc, feats in zip(docs, features):
        assert feats.shape == (len(doc.text), width)
    mixed = features[0]
    visible = [i for i, ch in enumerate(MIXED) if not ch.isspace()]
    assert all(numpy.abs(mixed[i]).sum() > 0 for i in visible)  # emoji ([UNK]) included
    assert numpy.abs(mixed[MIXED.index(" ")]).sum() == 0  # the transformer never sees spaces
    # Characters inside one multi-character wordpiece share its vector.
    pieces = docs[0]._.trf_data.wordpieces.strings[0]
    assert "apple" in [p.lower() for p in pieces] or "Apple" in pieces
    apple = MIXED.index("Apple")
    assert numpy.allclose(mixed[apple], mixed[apple + 4])


def test_long_doc_characters_all_get_vectors(initialized_nlp):
    text = "北京上海广州深圳南京" * 300
    docs, features = char_features(initialized_nlp, [initialized_nlp.make_doc(text)])
    assert len(docs[0]._.trf_data.wordpieces.strings) > 1  # several strided spans
    assert features[0].shape[0] == len(text)
    assert (numpy.abs(features[0]).sum(axis=1) > 0).all()


def loss_terms(nlp, refs):
    ner = nlp.get_pipe("ner")
    examples = [Example(nlp.make_doc(ref.text), ref) for ref in refs]
    docs = [eg.predicted for eg in examples]
    for doc in docs:
        nlp.get_pipe("transformer")(doc)
    emissions = ner.model.predict(docs)
    terms = ner._loss(examples, emissions).terms
    for param in ner.model.get_ref("head").shims[0]._model.parameters():
        param.grad = None
    return terms


def without_entities(doc: Doc) -> Doc:
    """The Doc's words and tags, annotated as having no entity."""
    copy = Doc(doc.vocab, words=[t.text for t in doc], spaces=[False] * len(doc), tags=[t.tag_ for t in doc])
    copy.set_ents([], default="outside")
    return copy


def without_tags(doc: Doc) -> Doc:
    """The Doc's words and entities, without tags."""
    copy = Doc(doc.vocab, words=[t.text for t in doc], spaces=[False] * len(doc))
    copy.set_ents([copy.char_span(e.start_char, e.end_char, e.label_) for e in doc.ents], default="outside")
    return copy


def test_missing_annotation_is_masked(initialized_nlp):
    nlp = initialized_nlp
    full = make_reference_docs(nlp.vocab)[:3]
    assert set(loss_terms(nlp, full)) == {"ner", "cws", "pos", "consistency"}
    # Segmentation/POS corpus: words and tags, no entity annotation.
    no_ents = [Doc(nlp.vocab, words=[t.text for t in d], spaces=[False] * len(d), tags=[t.tag_ for t in d]) for d in full]
    assert set(loss_terms(nlp, no_ents)) == {"cws", "pos"}
    # Entities but no tags: no POS loss.
    assert set(loss_terms(nlp, [without_tags(d) for d in full])) == {"ner", "cws", "consistency"}
    # One character per token (char-per-line NER corpus): no segmentation loss.
    chars = []
    for d in full:
        doc = Doc(nlp.vocab, words=list(d.text), spaces=[False] * len(d.text))
        doc.set_ents([doc.char_span(e.start_char, e.end_char, e.label_) for e in d.ents], default="outside")
        chars.append(doc)
    assert set(loss_terms(nlp, chars)) == {"ner", "consistency"}
    assert set(loss_terms(nlp, [Doc(nlp.vocab, words=list("今天很好"))])) == set()


@pytest.mark.parametrize(
    "setting,value,message",
    [
        ("tasks", ["ner", "chunking"], "tasks"),
        ("tasks", ["cws"], "tasks"),
        ("task_weights", {"ner": -1.0}, "task_weights"),
        ("task_weights", {"nre": 1.0}, "task_weights"),
        ("dwa_temperature", 0.0, "dwa_temperature"),
        ("dwa_temperature", -2.0, "dwa_temperature"),
        ("ner_scheme", "IOB2", "ner_scheme"),
        ("weighting", "uncertainty", "weighting"),
        ("entity_cost", -0.5, "entity_cost"),
    ],
)
def test_bad_settings_fail_at_creation(setting, value, message):
    nlp = spacy.blank("zh")
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("zh_mtl_ner", config={setting: value})


def test_consistency_needs_an_auxiliary_task():
    with pytest.raises(ValueError, match="consistency"):
        spacy.blank("zh").add_pipe("zh_mtl_ner", config={"tasks": ["ner"], "consistency": True})
    ner = spacy.blank("zh").add_pipe("zh_mtl_ner", config={"tasks": ["ner"], "consistency": False})
    assert ner.settings.loss_terms == ["ner"]


def test_entity_pos_with_unknown_label_fails(pipeline_transformer_dir: Path, pkuseg_model_dir: Path, tmp_path: Path):
    nlp = build_pipeline(
        pipeline_transformer_dir, pkuseg_model_dir, {"components.ner.entity_pos": {"PERSON": "NR"}}
    )
    with pytest.raises(ValueError, match="entity_pos.*PERSON"):
        nlp.initialize(lambda: [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)])


def test_entity_pos_map_is_checked_when_loading(initialized_nlp, tmp_path: Path):
    initialized_nlp.to_disk(tmp_path / "nlp")
    with pytest.raises(ValueError, match="entity_pos.*GPE"):
        spacy.load(tmp_path / "nlp", config={"components": {"ner": {"entity_pos": {"GPE": "NR"}}}})


def test_late_listener_is_rejected(pipeline_transformer_dir: Path, pkuseg_model_dir: Path):
    nlp = build_pipeline(
        pipeline_transformer_dir,
        pkuseg_model_dir,
        {"nlp.pipeline": ["transformer", "ner", "tagger"]},
    )
    with pytest.raises(ValueError, match="must come after every component"):
        nlp.initialize(lambda: [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)])


def test_scores_use_character_offsets_across_tokenizations(initialized_nlp):
    nlp = initialized_nlp
    ref = Doc(nlp.vocab, words=list("王小明去北京"), spaces=[False] * 6)
    ref.set_ents([ref.char_span(0, 3, "PER"), ref.char_span(4, 6, "LOC")], default="outside")
    pred = Doc(nlp.vocab, words=["王小明", "去", "北京"], spaces=[False] * 3)
    pred.set_ents([pred.char_span(0, 3, "PER"), pred.char_span(4, 6, "ORG")], default="outside")
    scores = nlp.get_pipe("ner").scorer([Example(pred, ref)])
    assert scores["ents_p"] == scores["ents_r"] == 0.5
    assert scores["ents_per_type"]["PER"]["f"] == 1.0
    assert scores["ents_per_type"]["LOC"]["r"] == 0.0


def test_component_and_factory_share_one_set_of_defaults():
    from spacy_zh_mtl import ZhMtlNer
    from spacy_zh_mtl.pipeline.settings import MultitaskSettings

    nlp = spacy.blank("zh")
    factory = nlp.add_pipe("zh_mtl_ner")
    direct = ZhMtlNer(nlp.vocab, factory.model)
    assert direct.settings == factory.settings == MultitaskSettings()
    assert factory.settings.task_weights == {
        "ner": 1.0, "cws": 0.2, "pos": 0.2, "consistency": 0.2, "words": 1.0, "tags": 1.0,
    }


@pytest.mark.parametrize(
    "config, message",
    [
        ({"annotate": ["tokens"]}, "must include 'ents'"),
        ({"annotate": ["ents", "words"]}, "unknown value"),
        ({"annotate": ["ents", "tags"]}, "'tags' needs 'tokens'"),
        ({"annotate": ["ents", "tokens"], "tasks": ["ner", "pos"]}, "'cws' decoder"),
    ],
)
def test_bad_annotate_settings_are_rejected(config, message):
    with pytest.raises(ValueError, match=message):
        spacy.blank("zh").add_pipe("zh_mtl_ner", config=config)


def test_load_joint_explains_what_it_needs(tmp_path):
    from spacy_zh_mtl import load_joint

    nlp = spacy.blank("zh")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "plain")
    with pytest.raises(ValueError, match="no zh_mtl_ner"):
        load_joint(tmp_path / "plain")
    with pytest.raises(ValueError, match="no pipeline"):
        load_joint(tmp_path / "missing")
    ner_only = spacy.blank("zh")
    ner_only.add_pipe("zh_mtl_ner", config={"tasks": ["ner"], "consistency": False})
    (tmp_path / "ner_only").mkdir()
    ner_only.config.to_disk(tmp_path / "ner_only" / "config.cfg")  # only the config is read
    with pytest.raises(ValueError, match="needs the 'cws' and 'pos' decoders"):
        load_joint(tmp_path / "ner_only")


def test_training_corpus_reads_the_aux_corpus_after_the_ner_corpus(tmp_path):
    from spacy.tokens import DocBin
    from spacy.util import registry

    nlp = spacy.blank("zh")
    refs = make_reference_docs(nlp.vocab)
    DocBin(docs=refs[:3]).to_disk(tmp_path / "ner.spacy")
    DocBin(docs=refs[3:5]).to_disk(tmp_path / "gsd.spacy")
    read = registry.resolve({"c": {"@readers": "spacy_zh_mtl.TrainingCorpus.v1", "path": str(tmp_path / "ner.spacy"),
                                   "aux_path": str(tmp_path / "gsd.spacy")}})["c"]
    assert [eg.reference.text for eg in read(nlp)] == [d.text for d in refs[:5]]
    alone = registry.resolve({"c": {"@readers": "spacy_zh_mtl.TrainingCorpus.v1", "path": str(tmp_path / "ner.spacy"),
                                    "aux_path": None}})["c"]
    assert len(list(alone(nlp))) == 3


def test_training_setup_is_checked_before_initialization(tmp_path, pipeline_corpus, pkuseg_model_dir):
    from spacy import util
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp

    from conftest import CONFIGS

    plain = spacy.blank("zh")
    untagged = [Doc(plain.vocab, words=[t.text for t in d], spaces=[False] * len(d)) for d in make_reference_docs(plain.vocab)]
    DocBin(docs=untagged).to_disk(tmp_path / "raw.spacy")

    def init(**overrides):
        config = util.load_config(CONFIGS / "cpu.cfg", overrides={"paths.dev": str(pipeline_corpus), **overrides})
        return init_nlp(config)

    with pytest.raises(ValueError, match="no pkuseg model is given: pass --paths.pkuseg_model"):
        init(**{"paths.train": str(pipeline_corpus)})
    with pytest.raises(ValueError, match="not pre-annotated. Pre-annotate it with python -m spacy_zh_mtl preannotate"):
        init(**{"paths.train": str(tmp_path / "raw.spacy"), "paths.pkuseg_model": str(pkuseg_model_dir)})


# initialize and add_label: what they refuse and what they warn about ---------


@pytest.fixture
def vectors(tmp_path: Path) -> Path:
    return write_char_vectors(tmp_path / "vectors.txt", TRAIN_TEXTS)


def test_initialize_without_any_entity_fails_unless_labels_are_given(vectors: Path):
    nlp = char_vectors_nlp(vectors)
    refs = [without_entities(doc) for doc in make_reference_docs(nlp.vocab)]
    with pytest.raises(ValueError, match=r"\[ner\] no entity labels: the training data has no entities"):
        nlp.initialize(lambda: reference_examples(nlp, refs))
    ner = nlp.get_pipe("ner")
    ner.initialize(lambda: reference_examples(nlp, refs), labels=["PER"])
    assert ner.labels == ("PER",) and ner.model.has_ref("head")


def test_initialize_with_the_pos_task_needs_tagged_examples(vectors: Path):
    nlp = char_vectors_nlp(vectors)
    refs = [without_tags(doc) for doc in make_reference_docs(nlp.vocab)]
    with pytest.raises(ValueError, match=r"\[ner\] tasks includes 'pos' but no training example has POS tags"):
        nlp.initialize(lambda: reference_examples(nlp, refs))
    nlp = char_vectors_nlp(vectors, tasks=["ner", "cws"])
    nlp.initialize(lambda: reference_examples(nlp, refs))
    assert nlp.get_pipe("ner").task_sizes == {"ner": 1 + 2 * 3, "cws": 4}


def test_add_label_before_initialization_only(vectors: Path):
    nlp = char_vectors_nlp(vectors)
    ner = nlp.get_pipe("ner")
    assert ner.add_label("PER") == 1
    assert ner.add_label("PER") == 0 and ner.labels == ("PER",)
    assert ner.add_label("GPE") == 1  # not in the data: kept, as spaCy's ner keeps added labels
    nlp.initialize(lambda: reference_examples(nlp, make_reference_docs(nlp.vocab)))
    assert ner.labels == ("GPE", "LOC", "ORG", "PER")
    with pytest.raises(ValueError, match=r"\[ner\] cannot add label 'TIME' after initialization"):
        ner.add_label("TIME")
    assert ner.labels == ("GPE", "LOC", "ORG", "PER")


def test_labels_given_as_a_dict_set_labels_and_tagset(vectors: Path):
    nlp = char_vectors_nlp(vectors)
    ner = nlp.get_pipe("ner")
    refs = make_reference_docs(nlp.vocab)
    ner.initialize(lambda: reference_examples(nlp, refs),
                   labels={"labels": ["TIME", "PER", "LOC", "ORG"], "pos_tags": ["VV", "NR", "NN"]})
    assert ner.labels == ("LOC", "ORG", "PER", "TIME")
    assert ner.cfg["pos_tags"] == ["NN", "NR", "VV", "_SP"]
    assert ner.task_sizes == {"ner": 1 + 2 * 4, "cws": 4, "pos": 4}
    # a Doc with a tag outside the given tagset gets no POS loss
    targets = ner._targets(refs[:3], 7)
    assert [[t.tag_ for t in doc] for doc in refs[:3]] == [["NR", "VV", "NR"], ["NR", "P", "NR", "VV"], ["NR", "VV", "NR"]]
    assert targets.available["pos"].tolist() == [True, False, True]


def test_entities_of_labels_not_given_warn_and_train_as_outside(vectors: Path, capsys):
    nlp = char_vectors_nlp(vectors)
    ner = nlp.get_pipe("ner")
    refs = make_reference_docs(nlp.vocab)
    ner.initialize(lambda: reference_examples(nlp, refs), labels=["PER"])
    out = " ".join(capsys.readouterr().out.split())
    assert ("[ner] the training data has entities with labels ['LOC', 'ORG'] that are not in the "
            "given labels ['PER']; they are trained as 'O'") in out
    # 王小明 (PER) 去 北京 (LOC): only the person's characters have entity tags
    gold = ner._targets(refs[:1], 6).gold["ner"][0]
    assert [ner.scheme.tags[i] for i in gold] == ["B-PER", "I-PER", "I-PER", "O", "O", "O"]
    ner.initialize(lambda: reference_examples(nlp, refs), labels=["PER", "LOC", "ORG"])
    assert "not in the given labels" not in capsys.readouterr().out
