"""Corpus readers on bad input: encodings, unknown annotation keys, spaces
around labels and span edges, long lines; tiny files written here.
"""
import json

import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_zh_mtl.corpora.bio import char_bio_to_docs
from spacy_zh_mtl.corpora.cluener import cluener_to_docs
from spacy_zh_mtl.corpora.conversion_report import ConversionReport, CorpusFormatError
from spacy_zh_mtl.corpora.docs import docbin_to_docs
from spacy_zh_mtl.corpora.encoding import decode_bytes
from spacy_zh_mtl.corpora.jsonspans import json_spans_to_docs

CHARS = "王 B-PER\n小 I-PER\n去 O\n京 B-LOC\n\n好 O\n"


def ents(doc: Doc):
    return [(e.text, e.label_) for e in doc.ents]


def read(reader, path, *args, **kwargs):
    report = ConversionReport()
    return list(reader(path, *args, Vocab(), report, **kwargs)), report


@pytest.mark.parametrize("encoding,note", [
    ("utf-8", None),
    ("utf-8-sig", None),
    ("utf-16", "utf-16 (BOM)"),
    ("utf-16-be", "utf-16 (BOM)"),  # written with a BOM below
    ("gb18030", "gb18030 (detected)"),
    ("gbk", "gb18030 (detected)"),
])
def test_encodings_detected(tmp_path, encoding, note):
    data = CHARS.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    docs, report = read(char_bio_to_docs, path, "chars")
    assert [ents(d) for d in docs] == [[("王小", "PER"), ("京", "LOC")], []]
    assert report.notes.get("encoding") == note
    assert report.repaired["UTF-8 BOM removed"] == (encoding == "utf-8-sig")


def test_forced_encoding(tmp_path):
    path = tmp_path / "g.txt"
    path.write_bytes(("好 O\n\n" + CHARS).encode("gbk"))
    docs, report = read(char_bio_to_docs, path, "chars", encoding="gbk")
    assert ents(docs[1]) == [("王小", "PER"), ("京", "LOC")] and report.notes["encoding"] == "gbk (given)"
    with pytest.raises(CorpusFormatError, match=r"g.txt:1: byte 0xba cannot be decoded as utf-8 \(--encoding\)"):
        read(char_bio_to_docs, path, "chars", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown encoding 'latin-9000'"):
        read(char_bio_to_docs, path, "chars", encoding="latin-9000")


def test_undecodable_file_names_line_and_encodings(tmp_path):
    path = tmp_path / "b.txt"
    path.write_bytes("王 O\n京 O\n".encode("utf8") + b"\x80\x00\x01\xff\xfe\n")
    with pytest.raises(CorpusFormatError) as err:
        read(char_bio_to_docs, path, "chars")
    assert str(err.value).startswith(f"{path}:3: byte 0x80 is not UTF-8")
    assert "utf-8, utf-16 (BOM), utf-32 (BOM), gb18030" in str(err.value)
    # UTF-16 without a BOM: a hint, not a misreading
    path.write_bytes(CHARS.encode("utf-16-le"))
    with pytest.raises(CorpusFormatError, match="UTF-16 without a byte order mark"):
        read(char_bio_to_docs, path, "chars")
    path.write_bytes(b"\xff\xfe" + "王 O\n".encode("utf-16-le") + b"\x00")  # a BOM, then an odd byte count
    with pytest.raises(CorpusFormatError, match="b.txt:2: .* as utf-16 although the file starts with a utf-16 byte order mark"):
        read(char_bio_to_docs, path, "chars")
    with pytest.raises(CorpusFormatError, match="NUL characters"):
        decode_bytes(b"a\x00b\n", "n.txt")


@pytest.mark.parametrize("key", ["labels", "span", "ner"])
def test_unknown_annotation_keys_stop(tmp_path, key):
    path = tmp_path / "u.jsonl"
    records = [{"text": "王小明去北京", "spans": [{"start": 0, "end": 3, "label": "PER"}]},
               {"text": "李华在上海", key: [[3, 5, "LOC"]]}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf8")
    with pytest.raises(CorpusFormatError, match=rf"u.jsonl:2: record keys \['{key}', 'text'\]: '{key}' read by no format"):
        read(json_spans_to_docs, path, "spacy")
    docs, report = read(json_spans_to_docs, path, "spacy", on_error="skip")
    assert [ents(d) for d in docs] == [[("王小明", "PER")]] and report.n_skipped == 1
    # harmless extra keys (a string, Prodigy's tokens and meta) are no reason to stop
    path.write_text(json.dumps({"text": "北京", "source": "web", "meta": {"id": 1}, "tokens": [{"text": "北京"}],
                                "spans": [{"start": 0, "end": 2, "label": "LOC"}]}, ensure_ascii=False), encoding="utf8")
    assert ents(read(json_spans_to_docs, path, "spacy")[0][0]) == [("北京", "LOC")]


def test_doccano_1x_text_under_data(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": 7, "data": "王小明去北京", "label": [[0, 3, "PER"]]}, ensure_ascii=False), encoding="utf8")
    docs, _ = read(json_spans_to_docs, path, "doccano")
    assert ents(docs[0]) == [("王小明", "PER")]


def test_labels_and_span_edges_trimmed(tmp_path):
    path = tmp_path / "s.jsonl"
    records = [
        {"text": "我去 北京 了", "spans": [{"start": 2, "end": 6, "label": " LOC "}]},
        {"text": "上海", "spans": [{"start": 0, "end": 2, "label": "LOC"}]},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf8")
    docs, report = read(json_spans_to_docs, path, "spacy")
    assert [ents(d) for d in docs] == [[("北京", "LOC")], [("上海", "LOC")]]
    assert report.repaired["spaces around a label trimmed"] == 1
    assert report.repaired["spaces at the edge of a span trimmed"] == 1
    assert report.counts["entities repaired"] == 1 and report.labels == {"LOC": 2}
    path.write_text(json.dumps({"text": "我 去", "spans": [{"start": 1, "end": 2, "label": "LOC"}]}, ensure_ascii=False), encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"s.jsonl:1: LOC \[1, 2\) covers only spaces"):
        read(json_spans_to_docs, path, "spacy")
    # a Weibo tag with a space before the TAB-separated end, and a space after the dash
    weibo = tmp_path / "w.txt"
    weibo.write_text("北0\tB-LOC \n京1\tI- LOC\n去0\tO\n", encoding="utf8")
    docs, report = read(char_bio_to_docs, weibo, "weibo")
    assert ents(docs[0]) == [("北京", "LOC")] and report.repaired["spaces around a label trimmed"] == 2


def test_long_line_quoted_short(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("王 O\n" + "京" * 200_000 + " B-LOC x\n", encoding="utf8")
    with pytest.raises(CorpusFormatError) as err:
        read(char_bio_to_docs, path, "peoples_daily")
    message = str(err.value)
    assert message.startswith(f"{path}:2: expected 2 columns") and "(200,008 characters)" in message
    assert len(message) < 300 + len(str(path))


def test_cluener_record_of_another_shape(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"text": "王小明", "label": [[0, 3, "PER"]]}, ensure_ascii=False) + "\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"c.json:1: record has the shape of doccano, not cluener"):
        read(cluener_to_docs, path)


def test_docbin_that_is_not_one(tmp_path):
    path = tmp_path / "x.spacy"
    path.write_text("王 B-PER\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"x.spacy: not a spaCy DocBin \(.spacy\) file"):
        read(docbin_to_docs, path)
