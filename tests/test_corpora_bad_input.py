"""The corpus commands on bad input: every case ends in a clear message and
a non-zero exit code, with no traceback and no (empty) output file; and the
inputs that look bad but are valid (other encodings, long records, doccano
1.x) convert. The CLI runs through typer's CliRunner on files written here.
"""
import json
from pathlib import Path
from typing import List

import pytest
from spacy.vocab import Vocab
from typer.testing import CliRunner

from conftest import assert_clear_failure
from spacy_zh_mtl.cli import app
from spacy_zh_mtl.corpora.conversion_report import ConversionReport
from spacy_zh_mtl.corpora.docs import read_docs, write_docs
from spacy_zh_mtl.corpora.formats import FORMATS, convert_file

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"
CHARS = "王 B-PER\n小 I-PER\n去 O\n京 B-LOC\n"
SPANS = {"text": "王小明去北京", "spans": [{"start": 0, "end": 3, "label": "PER"}]}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf8")


def ents(path: Path) -> List[list]:
    return [[(e.text, e.label_) for e in doc.ents] for doc in read_docs(path)]


# name -> (input bytes, arguments after the input path with {out} for the output, message)
BAD_CONVERT = {
    "empty, auto": (b"", ["auto"], "empty file, no format to detect"),
    "empty, chars": (b"", ["chars"], "no sentences in the file (is it empty?)"),
    "empty, spacy": (b"", ["spacy"], "no sentences in the file"),
    "blank lines, conll": (b"\n\n", ["conll"], "no sentences in the file"),
    "binary, auto": (bytes(range(128, 256)) * 20, ["auto"], "byte 0x80 is not UTF-8"),
    "binary, segmented": (bytes(range(128, 256)) * 20, ["segmented"], "gb18030 either (binary data?)"),
    "text as docbin": (CHARS.encode("utf8"), ["docbin"], "not a spaCy DocBin (.spacy) file"),
    "gbk forced utf-8": (CHARS.encode("gbk"), ["chars", "--encoding", "utf-8"], "in.txt:1: byte 0xcd cannot be decoded as utf-8"),
    "utf-16 without BOM": (CHARS.encode("utf-16-le"), ["auto"], "UTF-16 without a byte order mark"),
    "unknown encoding": (CHARS.encode("utf8"), ["auto", "--encoding", "klingon"], "unknown encoding 'klingon'"),
    "broken JSON": (b'{"text": "a", "spans": [\n', ["auto"], "in.txt:1: invalid JSON"),
    "broken JSON array": (b'[{"text": "a"}, {"text": \n', ["spacy"], "in.txt:1: invalid JSON"),
    "huge line": (("王" * 200_000 + " B-PER X\n").encode("utf8"), ["peoples_daily"], "(200,008 characters)"),
    "key labels, auto": (jsonl({"text": "王小明", "labels": [[0, 3, "PER"]]}), ["auto"], "'labels' read by no format"),
    "key span, spacy": (jsonl(SPANS, {"text": "王小明", "span": [[0, 3, "PER"]]}), ["spacy"], "in.txt:2: record keys ['span', 'text']: 'span' read by no format"),
    "key ner, doccano": (jsonl({"text": "王小明", "ner": {"PER": [[0, 3]]}}), ["doccano"], "'ner' read by no format"),
    "key ner, cluener": (jsonl({"text": "王小明", "ner": {"PER": [[0, 3]]}}), ["cluener"], "'ner' read by no format"),
    "cluener mentions not an object": (jsonl({"text": "王小明", "label": {"PER": [[0, 2]]}}), ["cluener"], "PER is not an object of mention"),
    "cluener offsets not a list": (jsonl({"text": "王小明", "label": {"PER": {"王小明": 0}}}), ["cluener"], "offset 0 of PER '王小明' is not [start, end]"),
    "labelstudio result not objects": (
        json.dumps([{"data": {"text": "王"}, "annotations": [{"result": ["x"]}]}]).encode("utf8"), ["labelstudio"],
        "'result' is not a list of objects"),
    "labelstudio annotations not objects": (
        json.dumps([{"data": {"text": "王"}, "annotations": [1]}]).encode("utf8"), ["auto"], "'annotations' is not a list of objects"),
    "labelstudio value not an object": (
        json.dumps([{"data": {"text": "王"}, "annotations": [{"result": [{"value": "x"}]}]}]).encode("utf8"), ["labelstudio"],
        "result 'value' is not an object"),
    "text only": (jsonl({"text": "王小明"}, {"text": "去北京"}), ["auto"], "no entities in 2 sentences read as spacy; record keys: text"),
    "all tags O": ("王 O\n京 O\n".encode("utf8"), ["chars"], "every tag is O"),
    "all skipped": ("王 X-PER\n".encode("utf8"), ["chars", "--on-error", "skip"], "no sentences left: 1 items skipped"),
    "shape of another format": (jsonl({"text": "王小明", "label": [[0, 3, "PER"]]}), ["spacy"], "record has the shape of doccano, not spacy"),
    "option of another format": (CHARS.encode("utf8"), ["chars", "--overlap", "stop"], "--overlap does not apply to format chars"),
    "allow-no-entities on words": ("王 小\n".encode("utf8"), ["segmented", "--allow-no-entities"], "--allow-no-entities applies to NER formats only"),
    "tag column 0": (CHARS.encode("utf8"), ["chars", "--ner-tag-column", "0"], "--ner-tag-column counts from 1"),
    "CoNLL column 11": (b"1\tx\t_\tX\tX\t_\t0\troot\t_\t_\n", ["conll", "--tag-column", "11"], "--tag-column must be a CoNLL column from 1 to 10"),
    "output is a folder": (CHARS.encode("utf8"), ["auto", "--output", "{tmp}"], "is a folder; give a file name"),
    "dev output is a folder": (CHARS.encode("utf8"), ["auto", "--dev-output", "{tmp}", "--dev-fraction", "0.5"], "is a folder"),
}


@pytest.mark.parametrize("name", sorted(BAD_CONVERT))
def test_convert_bad_input(tmp_path, name):
    data, args, message = BAD_CONVERT[name]
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    out = tmp_path / "out.spacy"
    if "--output" in args:  # the output path itself is the bad input
        i = args.index("--output")
        out, args = tmp_path, args[:i] + args[i + 2:]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["convert", args[0], str(path), str(out), *args[1:]])
    assert_clear_failure(result, message)
    assert not list(tmp_path.glob("*.spacy")), "no output on failure"
    assert len(result.output) < 3000, "long lines are not printed whole"


def bad_cli_calls(tmp_path: Path) -> List[tuple]:
    """(arguments, exit code, message) of command lines with missing or wrong paths."""
    good = tmp_path / "good.txt"
    good.write_text(CHARS, encoding="utf8")
    not_there = str(tmp_path / "not_there.txt")
    return [
        (["convert", "auto", not_there, str(tmp_path / "o.spacy")], 2, "does not exist"),
        (["convert", "xml", str(good), str(tmp_path / "o.spacy")], 2, "'xml' is not one of 'auto', 'docbin'"),
        (["convert", "chars", str(good), str(tmp_path / "o.spacy"), "--scheme", "BIOX"], 2, "'BIOX' is not one of 'auto', 'BIO'"),
        (["prepare-corpus", "nope", str(tmp_path), str(tmp_path / "out")], 2, "'nope' is not one of 'weibo'"),
        (["convert", "auto", str(tmp_path), str(tmp_path / "o.spacy")], 2, "is a directory"),
        (["convert", "auto", str(good), str(tmp_path / "o.spacy"), "--label-map", not_there], 2, "does not exist"),
        (["prepare-corpus", "custom", str(tmp_path), str(tmp_path / "out"), "--train", not_there, "--test", str(good)],
         1, f"Missing corpus file {not_there}"),
        (["prepare-corpus", "custom", str(tmp_path), str(good), "--train", str(good), "--test", str(good)],
         1, "is a file; give a folder"),
        (["prepare-corpus", "custom", str(tmp_path), str(tmp_path / "out"), "--train", str(good), "--test", str(good),
          "--label-map", not_there], 1, "not_there.txt: No such file or directory"),
        (["check-pipeline", not_there], 1, "Can't find model"),
        (["report", str(good)], 1, "good.txt is not JSON"),
    ]


def test_missing_and_wrong_paths(tmp_path):
    for args, code, message in bad_cli_calls(tmp_path):
        assert_clear_failure(runner.invoke(app, args), message, code)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk"])
@pytest.mark.parametrize("fmt", ["auto", "chars", "spacy"])
def test_convert_encodings(tmp_path, encoding, fmt):
    text = jsonl(SPANS).decode("utf8") if fmt == "spacy" else CHARS
    path = tmp_path / "in.txt"
    path.write_bytes(text.encode(encoding))
    result = runner.invoke(app, ["convert", fmt, str(path), str(tmp_path / "o.spacy")])
    assert result.exit_code == 0, result.output
    expected = [[("王小明", "PER")]] if fmt == "spacy" else [[("王小", "PER"), ("京", "LOC")]]
    assert ents(tmp_path / "o.spacy") == expected
    if encoding in ("gb18030", "gbk"):
        assert "encoding: gb18030 (detected)" in result.output
    forced = runner.invoke(app, ["convert", fmt, str(path), str(tmp_path / "f.spacy"), "--encoding", encoding])
    assert forced.exit_code == 0, forced.output
    assert ents(tmp_path / "f.spacy") == expected


def test_long_first_record_detected(tmp_path):
    # detection read only the first 64 KiB and rejected this as JSON of an unknown shape
    long = {"text": "好" * 70_000 + "北京", "spans": [{"start": 70_000, "end": 70_002, "label": "LOC"}]}
    path = tmp_path / "long.jsonl"
    path.write_bytes(jsonl({"text": "今天"}, long))
    result = runner.invoke(app, ["convert", "auto", str(path), str(tmp_path / "o.spacy")])
    assert result.exit_code == 0, result.output
    assert "format: spacy (detected)" in result.output
    assert ents(tmp_path / "o.spacy") == [[], [("北京", "LOC")]]


def test_doccano_1x_and_no_entities_allowed(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl({"id": 1, "data": "王小明去北京", "label": [[0, 3, "PER"]]}))
    result = runner.invoke(app, ["convert", "auto", str(path), str(tmp_path / "d.spacy")])
    assert result.exit_code == 0, result.output
    assert "format: doccano (detected)" in result.output and ents(tmp_path / "d.spacy") == [[("王小明", "PER")]]
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(jsonl({"text": "王小明"}, {"text": "去北京"}))
    result = runner.invoke(app, ["convert", "auto", str(raw), str(tmp_path / "r.spacy"), "--allow-no-entities"])
    assert result.exit_code == 0, result.output
    assert ents(tmp_path / "r.spacy") == [[], []]


def test_trims_reported(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(jsonl({"text": "我去 北京 了", "spans": [{"start": 2, "end": 6, "label": " LOC "}]}))
    result = runner.invoke(app, ["convert", "spacy", str(path), str(tmp_path / "s.spacy"), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "spaces around a label trimmed" in result.output and "spaces at the edge of a span trimmed" in result.output
    assert ents(tmp_path / "s.spacy") == [[("北京", "LOC")]]
    assert json.loads((tmp_path / "r.json").read_text())["repaired"] == {
        "spaces around a label trimmed": 1, "spaces at the edge of a span trimmed": 1,
    }


def test_every_format_of_the_registry_converts(tmp_path):
    """Each entry's reader and the options it lists work together."""
    (tmp_path / "c.txt").write_text("王 B-PER x\n京 S-LOC y\n", encoding="utf8")
    (tmp_path / "s.jsonl").write_bytes(jsonl(SPANS))
    (tmp_path / "d.jsonl").write_bytes(jsonl({"text": "王小明", "label": [[0, 3, "PER"]]}))
    (tmp_path / "l.json").write_text(json.dumps([{"data": {"text": "王小明"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 3, "labels": ["PER"]}}]}]}], ensure_ascii=False), encoding="utf8")
    cases = {
        "chars": (tmp_path / "c.txt", {"ner_tag_column": 2, "scheme": "BIOES"}),
        "peoples_daily": (FIXTURES / "peoples_daily.txt", {"scheme": "BIO"}),
        "weibo": (FIXTURES / "weibo.txt", {"on_error": "stop"}),
        "cluener": (FIXTURES / "cluener.json", {"overlap": "longest"}),
        "spacy": (tmp_path / "s.jsonl", {"offsets": "codepoints", "encoding": "utf-8"}),
        "doccano": (tmp_path / "d.jsonl", {"offsets": "utf16"}),
        "labelstudio": (tmp_path / "l.json", {"overlap": "stop"}),
        "conll": (FIXTURES / "ud13.conll", {"tag_column": 5, "upos_column": 0, "spaces": "none", "fullwidth_punct": True}),
        "word_tag": (FIXTURES / "zhuxian.wordpos", {"on_error": "skip"}),
        "segmented": (FIXTURES / "segmented_bom_crlf.txt", {"encoding": "utf-8"}),
    }
    docs = {}
    for name, (path, options) in cases.items():
        docs[name] = convert_file(name, path, Vocab(), ConversionReport(), **options)
    write_docs(docs["spacy"], tmp_path / "x.bin")  # a DocBin without the .spacy suffix
    cases["docbin"] = (tmp_path / "x.bin", {})
    docs["docbin"] = convert_file("auto", tmp_path / "x.bin", Vocab(), ConversionReport())
    assert set(cases) == set(FORMATS)
    assert [(e.text, e.label_) for e in docs["chars"][0].ents] == [("王", "PER"), ("京", "LOC")]
    assert [(e.text, e.label_) for e in docs["docbin"][0].ents] == [("王小明", "PER")]
    assert all(t.pos_ == "" for t in docs["conll"][0]) and "，" in docs["conll"][0].text
    assert all(docs.values())


def test_every_command_ends_bad_input_in_a_message(tmp_path: Path) -> None:
    """Commands whose bodies do not handle errors themselves still end in a message."""
    not_a_pipeline = tmp_path / "empty_dir"
    not_a_pipeline.mkdir()
    broken = tmp_path / "broken.spacy"
    broken.write_text("not a docbin", encoding="utf8")
    for args in (
        ["preannotate", str(broken), str(tmp_path / "out.spacy"), "--segmenter", str(not_a_pipeline),
         "--tagger", str(not_a_pipeline)],
        ["train-segmenter", str(broken), str(broken), str(tmp_path / "seg")],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
        assert "✘" in result.output
