"""`spacy-zh-mtl annotate`: formats, bad lines, resume after SIGKILL, Dask.

The pipelines are blank zh (one token per character) with an entity_ruler
and an attribute_ruler whose patterns are written here, so that the expected
entities and tags are known exactly.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_zh_mtl.annotate import AnnotateError, DocBinWriter, ReadReport, annotate_file, read_records
from conftest import flat
from spacy_zh_mtl.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
PATTERNS = [
    {"label": "PER", "pattern": "王小明"},
    {"label": "PER", "pattern": "李华"},
    {"label": "LOC", "pattern": "北京"},
    {"label": "LOC", "pattern": "上海"},
    {"label": "ORG", "pattern": "北京大学"},
]
NAMES = ["王小明", "李华", "张伟"]
PLACES = ["北京", "上海", "北京大学", "南京"]


def make_line(i: int) -> str:
    """A test sentence; entities as in PATTERNS ("张伟" and "南京" are not in them)."""
    return f"第{i}句：{NAMES[i % 3]}在{PLACES[i % 4]}工作，{NAMES[(i + 1) % 3]}去了{PLACES[(i + 2) % 4]}。"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nlp = spacy.blank("zh")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"ORTH": "在"}]], {"TAG": "P"})
    ruler.add([[{"ORTH": "去"}]], {"TAG": "VV"})
    path = tmp_path_factory.mktemp("annotate_model") / "ruler_zh"
    nlp.to_disk(path)
    return path


def invoke(*args: Any) -> Any:
    result = runner.invoke(app, ["annotate", *map(str, args), "--no-progress"])
    # A traceback would show as an exception other than the SystemExit of msg.fail/typer.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def ent(start: int, end: int, label: str, text: str) -> Dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": text}


def test_text_lines(model_dir, tmp_path):
    src = tmp_path / "in.txt"
    # BOM, CRLF, a blank line (kept: output record i is input line i) and no final newline.
    src.write_bytes("\ufeff王小明在北京。\r\n\n北京大学欢迎李华\n张伟".encode("utf8"))
    result = invoke(model_dir, src, tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert "Wrote 4 records" in flat(result.output)
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"text": "王小明在北京。", "entities": [ent(0, 3, "PER", "王小明"), ent(4, 6, "LOC", "北京")]},
        {"text": "", "entities": []},
        {"text": "北京大学欢迎李华", "entities": [ent(0, 4, "ORG", "北京大学"), ent(6, 8, "PER", "李华")]},
        {"text": "张伟", "entities": []},
    ]


def test_jsonl_extra_fields_go_to_meta(model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [{"id": 7, "content": "李华在上海", "source": "web"}, {"content": "你好", "id": 8}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf8")
    result = invoke(model_dir, src, tmp_path / "out.jsonl", "--text-key", "content")
    assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"text": "李华在上海", "entities": [ent(0, 2, "PER", "李华"), ent(3, 5, "LOC", "上海")],
         "meta": {"id": 7, "source": "web"}},
        {"text": "你好", "entities": [], "meta": {"id": 8}},
    ]


def test_spacy_input_is_annotated_anew(model_dir, tmp_path):
    vocab = spacy.blank("zh").vocab
    gold = Doc(vocab, words=["李华", "在", "南京"], spaces=[False, False, False], ents=["B-XX", "O", "B-YY"])
    db = DocBin(docs=[gold, Doc(vocab, words=["北京"], spaces=[False])])
    db.to_disk(tmp_path / "in.spacy")
    result = invoke(model_dir, tmp_path / "in.spacy", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"text": "李华在南京", "entities": [ent(0, 2, "PER", "李华")]},
        {"text": "北京", "entities": [ent(0, 2, "LOC", "北京")]},
    ]


def test_docbin_output(model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "王小明去上海", "id": 1}\n{"text": "南京"}\n', encoding="utf8")
    result = invoke(model_dir, src, tmp_path / "out.spacy")
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("zh").vocab))
    assert [d.text for d in docs] == ["王小明去上海", "南京"]
    assert [(e.text, e.label_) for e in docs[0].ents] == [("王小明", "PER"), ("上海", "LOC")]
    assert docs[0].user_data["meta"] == {"id": 1} and "meta" not in docs[1].user_data
    assert docs[0][3].tag_ == "VV"
    assert not (tmp_path / "out.spacy.parts").exists()


def test_tokens_and_tags(model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("李华在北京\n", encoding="utf8")
    result = invoke(model_dir, src, tmp_path / "out.jsonl", "--tokens")
    assert result.exit_code == 0, result.output
    (record,) = read_jsonl(tmp_path / "out.jsonl")
    assert record["tokens"] == [
        {"start": 0, "end": 1, "text": "李", "tag": None},
        {"start": 1, "end": 2, "text": "华", "tag": None},
        {"start": 2, "end": 3, "text": "在", "tag": "P"},
        {"start": 3, "end": 4, "text": "北", "tag": None},
        {"start": 4, "end": 5, "text": "京", "tag": None},
    ]
    assert record["entities"] == [ent(0, 2, "PER", "李华"), ent(3, 5, "LOC", "北京")]


def test_n_process_2_keeps_order(model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join(make_line(i) + "\n" for i in range(400)), encoding="utf8")
    one = invoke(model_dir, src, tmp_path / "one.jsonl", "--batch-size", "16")
    two = invoke(model_dir, src, tmp_path / "two.jsonl", "--batch-size", "16", "--n-process", "2")
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    records = read_jsonl(tmp_path / "two.jsonl")
    assert [r["text"] for r in records] == [make_line(i) for i in range(400)]
    assert records == read_jsonl(tmp_path / "one.jsonl")


def test_bad_lines_reported_and_skipped(model_dir, tmp_path):
    long_broken = "{" + "北" * 1000
    lines = [
        b'{"text": "\xe6\x9d\x8e\xe5\x8d\x8e", "id": 1}',  # 1 good (李华)
        b'{"text": "broken"',  # 2 not JSON
        b'{"id": 3}',  # 3 no text
        b'{"text": "ok \xff"}',  # 4 undecodable
        b"",  # 5 blank
        b'["a list"]',  # 6 not an object
        b'{"text": 6}',  # 7 text not a string
        long_broken.encode("utf8"),  # 8 not JSON, long
        b'{"text": "\xe5\x8c\x97\xe4\xba\xac", "id": 9}',  # 9 good (北京)
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    result = invoke(model_dir, src, tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "7 bad input lines skipped" in out
    for line_no, reason in [(2, "not JSON"), (3, "no 'text' field"), (4, "not UTF-8 (byte 0xff"), (5, "blank line"), (6, "not a JSON object")]:
        assert f"in.jsonl:{line_no}: {reason}" in out
    assert "and 2 more" in out  # lines 7 and 8 are counted beyond the first five
    assert [r["meta"]["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == [1, 9]

    report = ReadReport(str(src))
    assert len(list(read_records(src, report=report))) == 2
    assert report.n_bad == 7 and [b.line for b in report.bad] == [2, 3, 4, 5, 6]
    # Quoted contents are cut to 200 characters.
    src.write_text(long_broken + "\n", encoding="utf8")
    report = ReadReport(str(src))
    assert list(read_records(src, report=report)) == []
    assert report.bad[0].content == repr(long_broken[:200]) + "..."


def test_all_bad_lines_fail(model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"content": "李华"}\n{"content": "北京"}\n', encoding="utf8")
    result = invoke(model_dir, src, tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert "No good record" in flat(result.output) and "--text-key" in flat(result.output)


def test_not_utf8_file_names_file_line_and_encoding(model_dir, tmp_path):
    src = tmp_path / "gbk.txt"
    src.write_bytes("hello\n王小明在北京。\n李华\n".encode("gb18030"))
    result = invoke(model_dir, src, tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert f"{src}:2: not UTF-8" in flat(result.output) and "iconv" in result.output
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".spacy"])
def test_empty_input(model_dir, tmp_path, suffix):
    src = tmp_path / "empty.txt"
    src.write_text("", encoding="utf8")
    out = tmp_path / f"out{suffix}"
    result = invoke(model_dir, src, out)
    assert result.exit_code == 0, result.output
    assert "has no records; wrote an empty" in flat(result.output)
    if suffix == ".jsonl":
        assert out.read_bytes() == b""
    else:
        assert len(DocBin().from_disk(out)) == 0


def test_clear_errors_without_traceback(model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("李华\n", encoding="utf8")
    folder = invoke(model_dir, src, tmp_path)
    assert folder.exit_code == 1 and "is a folder" in flat(folder.output)
    missing_model = invoke(tmp_path / "no_such_model", src, tmp_path / "o.jsonl")
    assert missing_model.exit_code == 1 and "Cannot load the pipeline" in flat(missing_model.output)
    missing_input = invoke(model_dir, tmp_path / "no_such.txt", tmp_path / "o.jsonl")
    assert missing_input.exit_code == 2 and "does not exist" in flat(missing_input.output)
    (tmp_path / "bogus.spacy").write_bytes(b"not a DocBin")
    bogus = invoke(model_dir, tmp_path / "bogus.spacy", tmp_path / "o.jsonl")
    assert bogus.exit_code == 1 and "not a .spacy (DocBin) file" in flat(bogus.output)


def test_resume_refuses_another_inputs_output(model_dir, tmp_path):
    (tmp_path / "a.txt").write_text("李华\n北京\n", encoding="utf8")
    (tmp_path / "b.txt").write_text("上海\n南京\n张伟\n", encoding="utf8")
    assert invoke(model_dir, tmp_path / "a.txt", tmp_path / "out.jsonl").exit_code == 0
    result = invoke(model_dir, tmp_path / "b.txt", tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "does not continue" in flat(result.output)
    assert invoke(model_dir, tmp_path / "b.txt", tmp_path / "out.jsonl", "--overwrite").exit_code == 0
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["上海", "南京", "张伟"]
    # A file that is no annotate output is left as it is (its last line is not cut off).
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"a": 1}\nno newline at the end', encoding="utf8")
    result = invoke(model_dir, tmp_path / "a.txt", notes)
    assert result.exit_code == 1 and "is not an annotate JSONL output" in flat(result.output)
    assert notes.read_text(encoding="utf8") == '{"a": 1}\nno newline at the end'


def test_resume_truncates_a_partial_line(model_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join(make_line(i) + "\n" for i in range(50)), encoding="utf8")
    full = tmp_path / "full.jsonl"
    assert invoke(model_dir, src, full).exit_code == 0
    lines = full.read_bytes().splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines[:20]) + lines[20][:17])  # as if killed inside record 21
    result = invoke(model_dir, src, out)
    assert result.exit_code == 0 and "Resumed: 20 records" in flat(result.output)
    assert out.read_bytes() == full.read_bytes()
    out.write_bytes(lines[0][:5])  # killed inside the first record
    result = invoke(model_dir, src, out)
    assert result.exit_code == 0 and "Resumed" not in result.output
    assert out.read_bytes() == full.read_bytes()


def test_docbin_resume_from_chunks(model_dir, tmp_path, monkeypatch):
    nlp = spacy.load(model_dir)
    src = tmp_path / "in.txt"
    src.write_text("".join(make_line(i) + "\n" for i in range(45)), encoding="utf8")
    full = tmp_path / "full.spacy"
    annotate_file(nlp, src, full, progress=False, chunk_docs=10)

    def killed(self: DocBinWriter) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "out.spacy"
    with monkeypatch.context() as m:
        m.setattr(DocBinWriter, "finish", killed)
        with pytest.raises(KeyboardInterrupt):
            annotate_file(nlp, src, out, batch_size=5, progress=False, chunk_docs=10)
    parts = out.with_name("out.spacy.parts")
    assert sorted(p.name for p in parts.iterdir()) == [f"{i:06d}.10.spacy" for i in range(1, 5)]
    (parts / "000005.tmp").write_bytes(b"half a chunk")
    result = annotate_file(nlp, src, out, progress=False, chunk_docs=10)
    assert (result.resumed, result.written) == (40, 5) and not parts.exists()
    # A finished output is continued too (it becomes the first chunk).
    src.write_text("".join(make_line(i) + "\n" for i in range(47)), encoding="utf8")
    result = annotate_file(nlp, src, out, progress=False, chunk_docs=10)
    assert (result.resumed, result.written) == (45, 2)
    vocab = nlp.vocab
    got = [(d.text, [(e.start_char, e.label_) for e in d.ents]) for d in DocBin().from_disk(out).get_docs(vocab)]
    annotate_file(nlp, src, full, progress=False, overwrite=True)
    want = [(d.text, [(e.start_char, e.label_) for e in d.ents]) for d in DocBin().from_disk(full).get_docs(vocab)]
    assert got == want and len(got) == 47
    # Another input stops the run and leaves the finished output where it is.
    before = out.read_bytes()
    (tmp_path / "other.txt").write_text("上海\n" * 50, encoding="utf8")
    with pytest.raises(AnnotateError, match="does not continue"):
        annotate_file(nlp, tmp_path / "other.txt", out, progress=False, chunk_docs=10)
    assert out.read_bytes() == before and not parts.exists()
    # A complete rerun leaves it as it is too.
    assert annotate_file(nlp, src, out, progress=False).written == 0 and out.read_bytes() == before


@spacy.Language.component("test_annotate_fails_on_bad")
def fails_on_bad(doc: Doc) -> Doc:
    if "坏" in doc.text:
        raise ValueError("bad doc")
    return doc


def test_a_dropped_doc_stops_the_run(model_dir, tmp_path):
    nlp = spacy.load(model_dir)
    nlp.add_pipe("test_annotate_fails_on_bad")
    nlp.set_error_handler(lambda *args: None)  # skips the failing doc
    src = tmp_path / "in.txt"
    src.write_text("李华\n坏\n北京\n", encoding="utf8")
    with pytest.raises(AnnotateError, match="not the text"):
        annotate_file(nlp, src, tmp_path / "out.jsonl", progress=False)
    src.write_text("李华\n北京\n坏\n", encoding="utf8")
    with pytest.raises(AnnotateError, match="fewer docs than texts"):
        annotate_file(nlp, src, tmp_path / "out.jsonl", progress=False, overwrite=True)


def _annotate_cmd(model_dir: Path, src: Path, out: Path) -> List[str]:
    return [sys.executable, "-m", "spacy_zh_mtl", "annotate", str(model_dir), str(src), str(out), "--batch-size", "4"]


def _env() -> Dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _start_and_kill(cmd: List[str], out: Path, min_size: int) -> List[int]:
    """Start cmd, SIGKILL its main process once `out` has min_size bytes.

    RETURNS: the process ids of its children at the time of the kill.
    """
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > min_size):
            assert proc.poll() is None, "annotate finished before it could be killed"
            assert time.monotonic() < deadline, "annotate wrote nothing in 120 s"
            time.sleep(0.005)
        children_file = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        children = [int(p) for p in children_file.read_text().split()] if children_file.exists() else []
        proc.kill()  # the main process only: workers must not live on
        proc.wait(timeout=30)
        return children
    except BaseException:
        _kill_group(proc.pid)
        raise


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of a process group."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_kill_and_resume(model_dir, tmp_path):
    n = 4000
    src = tmp_path / "in.txt"
    src.write_text("".join(make_line(i) * 3 + "\n" for i in range(n)), encoding="utf8")
    full, out = tmp_path / "full.jsonl", tmp_path / "out.jsonl"
    annotate_file(spacy.load(model_dir), src, full, batch_size=4, progress=False)  # uninterrupted
    _start_and_kill(_annotate_cmd(model_dir, src, out), out, 50_000)
    killed = out.read_bytes()
    killed_lines = killed.count(b"\n")
    assert 0 < killed_lines < n, killed_lines
    partial = not killed.endswith(b"\n")
    print(f"killed after {killed_lines} lines; partial last line: {partial}")
    rerun = subprocess.run(_annotate_cmd(model_dir, src, out), env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Resumed:" in flat(rerun.stdout)
    data = out.read_bytes()
    assert data.endswith(b"\n") and data == full.read_bytes()
    texts = [r["text"] for r in read_jsonl(out)]
    assert len(texts) == len(set(texts)) == n


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; prctl is Linux only")
def test_killed_with_n_process_2_workers_die_and_resume(model_dir, tmp_path):
    n = 3000
    src = tmp_path / "in.txt"
    src.write_text("".join(make_line(i) + "\n" for i in range(n)), encoding="utf8")
    out = tmp_path / "out.jsonl"
    cmd = _annotate_cmd(model_dir, src, out) + ["--n-process", "2"]
    workers = _start_and_kill(cmd, out, 10_000)
    try:
        assert workers, "no worker processes seen"
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "nlp.pipe workers outlived the killed annotate"
    finally:
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)
    assert 0 < out.read_bytes().count(b"\n") < n
    rerun = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert [r["text"] for r in read_jsonl(out)] == [make_line(i) for i in range(n)]


@pytest.mark.slow
def test_dask_local_cluster_matches_cli(model_dir, tmp_path):
    pytest.importorskip("dask.bag")
    distributed = pytest.importorskip("dask.distributed")
    from spacy_zh_mtl.annotate_dask import annotate_bag, pipelines_loaded, write_jsonl

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": i, "text": make_line(i)}, ensure_ascii=False) + "\n" for i in range(300))
        + "{broken\n",
        encoding="utf8",
    )
    assert invoke(model_dir, src, tmp_path / "cli.jsonl", "--tokens").exit_code == 0
    report = ReadReport(str(src))
    records = list(read_records(src, report=report))
    assert report.n_bad == 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            bag = annotate_bag(records, model_dir, npartitions=6, tokens=True)
            assert bag.compute() == read_jsonl(tmp_path / "cli.jsonl")
            assert write_jsonl(bag, tmp_path / "dask.jsonl") == 300
            loads = client.run(pipelines_loaded)
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "cli.jsonl").read_bytes()
    # Once per worker at most, however many partitions it ran.
    assert len(loads) == 2 and all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1, loads
