"""Character-level gold and predictions: the entity tag schemes, the batch of
targets, and setting predicted character entities on a Doc."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from thinc.types import Ragged

from spacy_zh_mtl.pipeline.char_labels import CWS_TAGS, EntityTagScheme, batch_targets
from spacy_zh_mtl.pipeline.entity_tokens import realign_transformer_data, set_char_entities, split_tokens

SPANS = [(0, 3, "PER"), (4, 5, "LOC"), (6, 8, "LOC")]


def test_bioes_round_trip_and_tags():
    scheme = EntityTagScheme(["LOC", "PER"], "BIOES")
    assert scheme.tags == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    ids = scheme.encode(SPANS, 9)
    assert [scheme.tags[i] for i in ids] == ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "O", "B-LOC", "E-LOC", "O"]
    assert scheme.decode(ids) == SPANS


def test_bio_decoding_keeps_broken_sequences():
    scheme = EntityTagScheme(["LOC", "PER"], "BIO")
    tags = ["I-PER", "I-PER", "O", "B-LOC", "I-PER", "I-LOC"]
    ids = numpy.array([scheme.tags.index(t) for t in tags])
    # an I- that continues nothing (or another label) starts an entity: nothing is lost
    assert scheme.decode(ids) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "PER"), (5, 6, "LOC")]
    with pytest.raises(ValueError, match="ner_scheme"):
        EntityTagScheme(["PER"], "BILOU")


def test_batch_targets_mask_missing_annotation():
    vocab = spacy.blank("zh").vocab
    full = Doc(vocab, words=["王小明", "去", "北京"], spaces=[False] * 3, tags=["NR", "VV", "NR"])
    full.set_ents([full.char_span(0, 3, "PER"), full.char_span(4, 6, "LOC")], default="outside")
    raw = Doc(vocab, words=["我们", "去", "上海"], spaces=[False] * 3)  # words only
    scheme = EntityTagScheme(["LOC", "PER"], "BIO")
    targets = batch_targets(
        [full, raw], 7, scheme=scheme, tasks=["ner", "cws", "pos"],
        pos_tag_ids={"NR": 0, "VV": 1, "_SP": 2}, entity_pos_ids={"PER": 0, "LOC": 0},
    )
    assert targets.available["ner"].tolist() == [True, False]
    assert targets.available["cws"].tolist() == [True, True]
    assert targets.available["pos"].tolist() == [True, False]
    assert [CWS_TAGS[i] for i in targets.gold["cws"][1, :5]] == ["B", "E", "S", "B", "E"]
    assert targets.gold["pos"][0, :6].tolist() == [0, 0, 0, 1, 0, 0]
    assert targets.n_chars("ner") == 6 and targets.n_chars("cws") == 11
    assert targets.consistency["cws"][0, :6].tolist() == [0, -100, 2, -100, 0, 2]
    assert targets.ner_cost is None


def test_set_char_entities_splits_tokens_and_realigns_wordpieces():
    vocab = spacy.blank("zh").vocab
    doc = Doc(vocab, words=["王小明去", "北京市", "玩"], spaces=[False] * 3, tags=["NN", "NR", "VV"])
    set_char_entities(doc, [(0, 3, "PER"), (4, 6, "LOC"), (7, 8, "ACT")], {"PER": "NR", "LOC": "NR"})
    assert [t.text for t in doc] == ["王小明", "去", "北京", "市", "玩"]
    assert [t.tag_ for t in doc] == ["NR", "NN", "NR", "NR", "VV"]
    assert [(e.text, e.label_) for e in doc.ents] == [("王小明", "PER"), ("北京", "LOC"), ("玩", "ACT")]
    doc = Doc(vocab, words=["王小明去", "北京市", "玩"], spaces=[False] * 3, tags=["NN", "NR", "VV"])
    pieces = split_tokens(doc, numpy.array([3, 6]), {}, [])
    assert pieces.tolist() == [2, 2, 1]
    # trf_data made for the 3 original tokens follows the split
    if not Doc.has_extension("trf_data"):
        Doc.set_extension("trf_data", default=None)
    doc._.trf_data = TransformerData.empty()
    doc._.trf_data = TransformerData(
        wordpieces=doc._.trf_data.wordpieces,
        model_output=doc._.trf_data.model_output,
        align=Ragged(numpy.array([1, 2, 3, 4, 5, 6, 7, 8], dtype="i"), numpy.array([4, 3, 1], dtype="i")),
    )
    first = numpy.repeat(numpy.arange(3), pieces)  # the original token of each piece
    realign_transformer_data(doc, first, first + 1)
    align = doc._.trf_data.align
    assert align.lengths.tolist() == [4, 4, 3, 3, 1]
    assert align.dataXd.ravel().tolist() == [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 5, 6, 7, 8]


def test_batch_targets_put_entity_cost_inside_and_outside_cost_outside_gold_entities():
    vocab = spacy.blank("zh").vocab
    ents = Doc(vocab, words=["王小明", "去", "北京"], spaces=[False] * 3)
    ents.set_ents([ents.char_span(0, 3, "PER"), ents.char_span(4, 6, "LOC")], default="outside")
    no_ents = Doc(vocab, words=["今天", "很", "好"], spaces=[False] * 3)
    no_ents.set_ents([], default="outside")  # annotated: no entity
    raw = Doc(vocab, words=["我们", "去", "上海"], spaces=[False] * 3)  # no NER annotation
    scheme = EntityTagScheme(["LOC", "PER"], "BIOES")

    def cost(entity_cost, outside_cost):
        return batch_targets(
            [ents, no_ents, raw], 7, scheme=scheme, tasks=["ner"], pos_tag_ids={}, entity_pos_ids={},
            entity_cost=entity_cost, outside_cost=outside_cost,
        ).ner_cost

    assert cost(0.0, 0.0) is None  # the plain CRF loss
    both = cost(2.0, 0.5)
    assert both.tolist() == [
        [2.0, 2.0, 2.0, 0.5, 2.0, 2.0, 0.0],  # 王小明 去 北京, then padding
        [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0],
        [0.0] * 7,  # no NER annotation: no cost (its NER loss is masked)
    ]
    assert cost(1.5, 0.0)[0].tolist() == [1.5, 1.5, 1.5, 0.0, 1.5, 1.5, 0.0]
    assert cost(0.0, 1.5)[:2].tolist() == [[0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0], [1.5] * 4 + [0.0] * 3]
