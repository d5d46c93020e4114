"""The zh_mtl_ner component: character features, masking of missing
annotation, settings validation, scoring on character offsets."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from conftest import build_pipeline, make_reference_docs

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


def test_missing_annotation_is_masked(initialized_nlp):
    nlp = initialized_nlp
    full = make_reference_docs(nlp.vocab)[:3]
    assert set(loss_terms(nlp, full)) == {"ner", "cws", "pos", "consistency"}
    # Segmentation/POS corpus: words and tags, no entity annotation.
    no_ents = [Doc(nlp.vocab, words=[t.text for t in d], spaces=[False] * len(d), tags=[t.tag_ for t in d]) for d in full]
    assert set(loss_terms(nlp, no_ents)) == {"cws", "pos"}
    # Entities but no tags: no POS loss.
    no_tags = []
    for d in full:
        doc = Doc(nlp.vocab, words=[t.text for t in d], spaces=[False] * len(d))
        doc.set_ents([doc.char_span(e.start_char, e.end_char, e.label_) for e in d.ents], default="outside")
        no_tags.append(doc)
    assert set(loss_terms(nlp, no_tags)) == {"ner", "cws", "consistency"}
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
    assert factory.settings.task_weights == {"ner": 1.0, "cws": 0.2, "pos": 0.2, "consistency": 0.2}


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
