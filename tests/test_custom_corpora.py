"""Your own NER corpus: character-per-line schemes, span JSON, .spacy, format
detection and corpus stats, on tiny fixtures written here.
"""
import json

import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_zh_mtl.cli import app
from spacy_zh_mtl.corpora.bio import char_bio_to_docs, detect_scheme, parse_tag
from spacy_zh_mtl.corpora.formats import detect_format
from spacy_zh_mtl.corpora.docs import docbin_to_docs, read_docs, write_docs
from spacy_zh_mtl.corpora.jsonspans import json_spans_to_docs
from spacy_zh_mtl.corpora.labels import load_label_map
from spacy_zh_mtl.corpora.conversion_report import ConversionReport, CorpusFormatError
from spacy_zh_mtl.corpora.spans import char_doc, span_problem, utf16_to_codepoints
from spacy_zh_mtl.prep.stats import corpus_stats


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def write(tmp_path, name, text, encoding="utf8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def read_chars(path, **kwargs):
    report = ConversionReport()
    docs = list(char_bio_to_docs(path, "chars", Vocab(), report, **kwargs))
    return docs, report


# --- character-per-line schemes ---------------------------------------------

SCHEME_FIXTURES = {
    "BIO": "王 B-PER\n小 I-PER\n明 I-PER\n去 O\n京 B-LOC\n",
    "IOB1": "王 I-PER\n小 I-PER\n明 B-PER\n去 O\n京 I-LOC\n",
    "BIOES": "王 B-PER\n小 I-PER\n明 E-PER\n去 O\n京 S-LOC\n",
    "BILOU": "王 B-PER\n小 I-PER\n明 L-PER\n去 O\n京 U-LOC\n",
    "BMES": "王 B-PER\n小 M-PER\n明 E-PER\n去 O\n京 S-LOC\n",
}


@pytest.mark.parametrize("scheme", sorted(SCHEME_FIXTURES))
def test_schemes_detected_and_decoded(tmp_path, scheme):
    path = write(tmp_path, "c.txt", SCHEME_FIXTURES[scheme])
    docs, report = read_chars(path)
    assert report.notes["tag scheme"] == f"{scheme} (detected)"
    assert docs[0].text == "王小明去京"
    expected = [("王小", "PER"), ("明", "PER"), ("京", "LOC")] if scheme == "IOB1" else [("王小明", "PER"), ("京", "LOC")]
    assert ents(docs[0]) == expected
    assert report.n_repaired == 0
    assert report.counts["entities read"] == report.counts["entities"] == len(expected)
    forced, _ = read_chars(path, scheme=scheme)
    assert ents(forced[0]) == expected


def test_bmes_repairs_counted(tmp_path):
    # M- after O, E- of another type, B- never closed by E-
    path = write(tmp_path, "r.bmes", "王 O\n小 M-PER\n明 E-PER\n\n上 B-LOC\n海 E-ORG\n\n南 B-LOC\n京 O\n")
    docs, report = read_chars(path)
    assert ents(docs[0]) == [("小明", "PER")]
    assert ents(docs[1]) == [("上", "LOC"), ("海", "ORG")]
    assert ents(docs[2]) == [("南", "LOC")]
    assert report.repaired["M- after O read as B-"] == 1
    assert report.repaired["E- after another type read as S-"] == 1
    assert report.repaired["entity not closed by E- ended before the next tag"] == 1
    assert report.examples["M- after O read as B-"] == [f"{path}:2"]
    assert report.counts["entities repaired"] == 3


def test_tabs_extra_columns_tag_column_bom_crlf(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes("\ufeff王\tNR\tB-PER\r\n小\tNR\tE-PER\r\n去\tVV\tO\r\n\r\n".encode("utf8"))
    docs, report = read_chars(path)
    assert ents(docs[0]) == [("王小", "PER")]
    assert report.repaired["UTF-8 BOM removed"] == 1 and report.repaired["CRLF line end read as LF"] == 4
    # tag in the second column
    path2 = write(tmp_path, "y.txt", "王 B-PER x\n小 I-PER y\n")
    docs, _ = read_chars(path2, tag_column=1)
    assert ents(docs[0]) == [("王小", "PER")]


@pytest.mark.parametrize(
    "content,reason",
    [
        ("王\n", "expected a character and a tag column"),
        ("王 B-\n", "unknown tag 'B-'"),
        ("王 X-PER\n", "unknown tag 'X-PER'"),
    ],
)
def test_char_errors_stop_or_skip(tmp_path, content, reason):
    path = write(tmp_path, "bad.txt", "我 O\n\n" + content + "\n好 O\n")
    with pytest.raises(CorpusFormatError, match=f"bad.txt:3: {reason}"):
        read_chars(path)
    docs, report = read_chars(path, on_error="skip")
    assert [d.text for d in docs] == ["我", "好"]
    assert report.n_skipped == 1


def test_tag_outside_detected_scheme(tmp_path):
    path = write(tmp_path, "mix.txt", "王 B-PER\n小 M-PER\n明 E-PER\n\n京 L-LOC\n")
    with pytest.raises(CorpusFormatError, match=r"mix.txt:5: tag L-LOC does not belong to the scheme BMES"):
        read_chars(path)
    docs, report = read_chars(path, on_error="skip")
    assert len(docs) == 1 and report.n_skipped == 1


def test_forced_scheme_rejects_other_prefixes(tmp_path):
    path = write(tmp_path, "f.txt", "王 B-PER\n小 E-PER\n")
    with pytest.raises(CorpusFormatError, match=r"f.txt:2: unknown tag 'E-PER' \(expected O, B-LABEL or I-LABEL\)"):
        read_chars(path, scheme="BIO")
    assert parse_tag("M-PER", "BMES") == ("M", "PER")
    assert detect_scheme([[("I", "PER"), ("O", "")]]) == "IOB1"
    assert detect_scheme([[("B", "PER"), ("I", "PER")]]) == "BIO"


# --- span JSON ---------------------------------------------------------------

def jsonl(tmp_path, name, records):
    return write(tmp_path, name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_json(path, fmt, **kwargs):
    report = ConversionReport()
    return list(json_spans_to_docs(path, fmt, Vocab(), report, **kwargs)), report


def test_spacy_prodigy_jsonl(tmp_path):
    path = jsonl(tmp_path, "p.jsonl", [
        {"text": "王小明去北京", "spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 4, "end": 6, "label": "LOC"}]},
        {"text": "不要", "spans": [], "answer": "reject"},
        {"text": "今天很好"},
    ])
    docs, report = read_json(path, "spacy")
    assert [ents(d) for d in docs] == [[("王小明", "PER"), ("北京", "LOC")], []]
    assert report.skipped["Prodigy record answered 'reject' left out"] == 1
    assert detect_format(path) == "spacy"


def test_doccano_both_shapes(tmp_path):
    path = jsonl(tmp_path, "d.jsonl", [
        {"text": "王小明去北京", "label": [[0, 3, "PER"]]},
        {"text": "李华在上海", "entities": [[3, 5, "LOC"]]},
        {"text": "张伟", "entities": [{"start_offset": 0, "end_offset": 2, "label": "PER"}]},
    ])
    docs, _ = read_json(path, "doccano")
    assert [ents(d) for d in docs] == [[("王小明", "PER")], [("上海", "LOC")], [("张伟", "PER")]]
    assert detect_format(path) == "doccano"


def test_labelstudio_export_utf16_offsets(tmp_path):
    text = "😀王小明去北京"  # the emoji is 2 UTF-16 units: Label Studio's offsets are 1 higher
    tasks = [{
        "id": 1, "data": {"text": text},
        "annotations": [
            {"was_cancelled": True, "result": []},
            {"result": [
                {"type": "labels", "value": {"start": 2, "end": 5, "text": "王小明", "labels": ["PER"]}},
                {"type": "labels", "value": {"start": 6, "end": 8, "text": "北京", "labels": ["LOC"]}},
            ]},
        ],
    }]
    path = write(tmp_path, "ls.json", json.dumps(tasks, ensure_ascii=False, indent=2))
    assert detect_format(path) == "labelstudio"
    docs, report = read_json(path, "labelstudio")
    assert ents(docs[0]) == [("王小明", "PER"), ("北京", "LOC")]
    assert report.repaired["UTF-16 offsets (emoji counted as 2) read as code points"] == 1
    assert report.skipped["cancelled Label Studio annotation ignored"] == 1
    # forced code points: the mention does not match, file:line of the task
    with pytest.raises(CorpusFormatError, match=r"ls.json:2: .*does not match the text"):
        read_json(path, "labelstudio", units="codepoints")


def test_offset_inside_surrogate_pair_and_combining_sequence(tmp_path):
    assert utf16_to_codepoints("a😀b") == {0: 0, 1: 1, 3: 2, 4: 3}
    path = jsonl(tmp_path, "s.jsonl", [
        {"text": "😀北京", "spans": [{"start": 1, "end": 4, "label": "LOC"}]},  # UTF-16 1 is inside the emoji
        {"text": "Café北京", "spans": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 5, "end": 7, "label": "LOC"}]},
    ])
    with pytest.raises(CorpusFormatError, match=r"s.jsonl:1: .*inside a surrogate pair"):
        read_json(path, "spacy", units="utf16")
    # "Cafe" + U+0301: an end at 4 splits the accent from its letter
    path2 = jsonl(tmp_path, "c.jsonl", [
        {"text": "Cafe\u0301北京", "spans": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 5, "end": 7, "label": "LOC"}]},
    ])
    with pytest.raises(CorpusFormatError, match=r"c.jsonl:1: .*splits a combining sequence"):
        read_json(path2, "spacy")
    docs, report = read_json(path2, "spacy", on_error="skip")
    assert ents(docs[0]) == [("北京", "LOC")]
    assert report.counts["entities read"] == 2 and report.counts["entities dropped"] == 1
    assert span_problem("北京", 0, 2, "") is not None and span_problem("北京", 0, 3, "LOC") is not None


def test_overlaps_empty_label_outside_text(tmp_path):
    path = jsonl(tmp_path, "o.jsonl", [
        {"text": "南京大学很美", "spans": [
            {"start": 0, "end": 4, "label": "ORG"}, {"start": 0, "end": 2, "label": "LOC"},
            {"start": 4, "end": 5, "label": ""}, {"start": 5, "end": 9, "label": "X"},
        ]},
    ])
    docs, report = read_json(path, "spacy", on_error="skip")
    assert ents(docs[0]) == [("南京大学", "ORG")]
    assert report.skipped["overlapping span dropped (the longer one is kept)"] == 1
    assert report.counts["entities read"] == 4 and report.counts["entities dropped"] == 3
    assert any("empty label" in r for r in report.skipped) and any("outside the text" in r for r in report.skipped)
    with pytest.raises(CorpusFormatError, match="o.jsonl:1: .*empty label"):
        read_json(path, "spacy")
    with pytest.raises(CorpusFormatError, match="o.jsonl:1: overlapping spans"):
        read_json(path, "spacy", on_error="skip", overlap="stop")


def test_json_errors_and_mixed_shapes(tmp_path):
    path = write(tmp_path, "bad.jsonl", '{"text": "好", "spans": []}\n{"text": \n{"text": "李华", "label": [[0, 2, "PER"]]}\n')
    with pytest.raises(CorpusFormatError, match="bad.jsonl:2: invalid JSON"):
        read_json(path, "spacy")
    docs, report = read_json(path, "spacy", on_error="skip")
    # a doccano record in a spaCy file is not read as "no entities": it is counted
    assert [d.text for d in docs] == ["好"] and report.n_skipped == 2
    assert any("shape of doccano" in r for r in report.skipped)


def test_docbin_as_is_and_label_map(tmp_path):
    vocab = Vocab()
    doc = Doc(vocab, words=["王小明", "去", "北京"], spaces=[False] * 3)
    doc.set_ents([doc.char_span(0, 3, label="PER"), doc.char_span(4, 6, label="GPE")], default="outside")
    write_docs([doc], tmp_path / "in.spacy")
    assert detect_format(tmp_path / "in.spacy") == "docbin"
    label_map = load_label_map(write(tmp_path, "map.json", json.dumps({"GPE": "LOC", "PER": None})))
    report = ConversionReport()
    docs = list(docbin_to_docs(tmp_path / "in.spacy", Vocab(), report, label_map=label_map))
    assert [t.text for t in docs[0]] == ["王小明", "去", "北京"]
    assert ents(docs[0]) == [("北京", "LOC")]
    assert report.counts["entities read"] == 2 and report.counts["entities dropped"] == 1


def test_detect_char_formats(tmp_path):
    assert detect_format(write(tmp_path, "w.txt", "王0\tB-PER.NAM\n小1\tI-PER.NAM\n")) == "weibo"
    assert detect_format(write(tmp_path, "p.txt", "\ufeff王 B-PER\n小 E-PER\n")) == "chars"
    assert detect_format(write(tmp_path, "c.json", '{"text": "王", "label": {"name": {"王": [[0, 0]]}}}\n')) == "cluener"
    with pytest.raises(ValueError, match="unknown shape"):
        detect_format(write(tmp_path, "u.json", '{"foo": 1}\n'))


# --- CLI and stats -----------------------------------------------------------

def test_convert_auto_cli_prints_entity_counts(tmp_path):
    path = write(tmp_path, "a.bmes", "高 B-NAME\n勇 E-NAME\n去 O\n京 S-LOC\n\n李 B-PER\n小 M-PER\n龙 E-PER\n")
    result = CliRunner().invoke(app, ["convert", "auto", str(path), str(tmp_path / "a.spacy")])
    assert result.exit_code == 0, result.output
    assert "format: chars (detected)" in result.output and "tag scheme: BMES (detected)" in result.output
    assert "entities read 3, kept 3, repaired 0, dropped 0" in result.output
    assert [ents(d) for d in read_docs(tmp_path / "a.spacy")] == [[("高勇", "NAME"), ("京", "LOC")], [("李小龙", "PER")]]
    result = CliRunner().invoke(app, ["convert", "auto", str(path), str(tmp_path / "b.spacy"), "--scheme", "BIO"])
    assert result.exit_code == 1 and "a.bmes:2: unknown" in " ".join(result.output.split())


def test_prepare_corpus_custom_dev_split(tmp_path):
    train = write(tmp_path, "train.txt", "".join(f"王 B-PER\n{c} E-PER\n去 O\n\n" for c in "一二三四五六七八九十"))
    test = jsonl(tmp_path, "test.jsonl", [{"text": "王五去", "spans": [{"start": 0, "end": 2, "label": "PER"}]}])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "prepare-corpus", "custom", str(tmp_path / "nowhere"), str(out),
        "--train", str(train), "--test", str(test), "--dev", "", "--label-map", "", "--dev-fraction", "0.2",
    ])
    assert result.exit_code == 0, result.output
    assert [len(read_docs(out / f"{s}.spacy")) for s in ("train", "dev", "test")] == [8, 2, 1]
    result = CliRunner().invoke(app, ["prepare-corpus", "custom", str(tmp_path), str(out)])
    assert result.exit_code == 1 and "give the train file with --train" in result.output


def test_corpus_stats(tmp_path):
    vocab = Vocab()
    train = [char_doc(vocab, list("王小明去北京"), spans=[(0, 3, "PER"), (4, 6, "LOC")]),
             char_doc(vocab, list("今天很好很好"), spans=[])]
    test = [char_doc(vocab, list("今天很好很好"), spans=[]),
            char_doc(vocab, list("南京市长江大桥"), spans=[(0, 3, "LOC")])]

    def cut(text):  # a segmenter that cuts into pairs of characters
        return [text[i:i + 2] for i in range(0, len(text), 2)]

    stats = corpus_stats({"train": train, "test": test}, max_chars=6, cut=cut)
    assert stats["splits"]["train"]["labels"] == {"LOC": 1, "PER": 1}
    assert stats["splits"]["train"]["entity_lengths"]["3"] == 1
    assert stats["splits"]["test"]["longer_than_window"] == 1
    assert stats["shared_with_train"]["test"]["sentences"] == 1
    # 王小明 [0, 3) ends inside the word 明去; 南京市 [0, 3) inside 市长
    assert stats["splits"]["train"]["crossing_pkuseg"] == 1 and stats["splits"]["test"]["crossing_pkuseg"] == 1
    for name in ("train", "test"):
        write_docs({"train": train, "test": test}[name], tmp_path / "c" / f"{name}.spacy")
    result = CliRunner().invoke(app, ["corpus-stats", str(tmp_path / "c"), "--output", str(tmp_path / "s.json")])
    assert result.exit_code == 0, result.output
    assert "labels per split" in result.output
    assert json.loads((tmp_path / "s.json").read_text())["splits"]["test"]["entities"] == 1


def test_fullwidth_space_is_a_character_and_weibo_digits_detected(tmp_path):
    docs, _ = read_chars(write(tmp_path, "s.txt", "王 B-PER\n\u3000 O\n京 S-LOC\n"))
    assert docs[0].text == "王\u3000京" and ents(docs[0]) == [("王", "PER"), ("京", "LOC")]
    # a Weibo file whose text has digits is still Weibo (the digits before the position)
    assert detect_format(write(tmp_path, "w2.txt", "３0\tO\n10\tO\n王0\tB-PER.NAM\n")) == "weibo"
    assert detect_format(write(tmp_path, "c2.txt", "3\tO\n王\tB-PER\n")) == "chars"
