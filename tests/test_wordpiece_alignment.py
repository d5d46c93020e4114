"""Characters -> wordpiece rows (`models.wordpiece_alignment`): the batch path
equals the per-Doc alignment, and plain Chinese maps each character to its piece."""
from pathlib import Path

import numpy
import pytest
import spacy

from spacy_zh_mtl.models.wordpiece_alignment import batch_char_alignment, char_alignment

TEXTS = [
    "王小明在北京大学读书。",
    "",
    "2019年Apple发布了iPhone 11，售价5999元😀",
    "  北京  欢迎你！ ",
    "Café naïve résumé 北京",
    "王\u200b小\u200d明\ufeff去北京",
    "南京市长江大桥于1968年建成通车。" * 3,  # several strided spans
    "李华",
]


@pytest.fixture(scope="module")
def annotated(tiny_transformer_dir: Path):
    nlp = spacy.blank("zh")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": str(tiny_transformer_dir),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 12, "stride": 9},
    }})
    nlp.initialize()
    return list(nlp.pipe(TEXTS))


def row_offsets(docs):
    offsets, offset = [], 0
    for doc in docs:
        hidden = doc._.trf_data.model_output.get("last_hidden_state")
        has_rows = hidden is not None and hidden.size > 0
        offsets.append(offset if has_rows else None)
        offset += int(numpy.prod(hidden.shape[:-1])) if has_rows else 0
    return offsets


def test_batch_alignment_equals_the_per_doc_alignment(annotated):
    offsets = row_offsets(annotated)
    rows, lengths = batch_char_alignment(annotated, [d._.trf_data for d in annotated], offsets)
    expected_rows, expected_lengths = [], []
    for doc, offset in zip(annotated, offsets):
        if offset is None:
            expected_lengths.append(numpy.zeros(len(doc.text), dtype="int32"))
            continue
        align = char_alignment(doc, doc._.trf_data)
        expected_rows.append(align.dataXd + offset)
        expected_lengths.append(align.lengths)
    assert lengths.tolist() == numpy.concatenate(expected_lengths).tolist()
    assert rows.tolist() == numpy.concatenate(expected_rows).tolist()
    # overlapping strided spans: some characters have rows in two spans
    assert lengths.max() >= 2


def test_plain_chinese_maps_each_character_to_its_piece(annotated):
    doc = annotated[0]
    rows, lengths = batch_char_alignment([doc], [doc._.trf_data], [0])
    pieces = doc._.trf_data.wordpieces.strings
    assert len(pieces) == 1 and pieces[0][0] == "[CLS]"
    assert lengths.tolist() == [1] * len(doc.text)
    assert [pieces[0][row] for row in rows] == list(doc.text)  # row i + 1: after [CLS]
