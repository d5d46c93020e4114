"""Command-line entry points of the data preparation: convert, prepare-corpus,
place-assets, report, and the pkuseg post-processing callback."""
import hashlib
import json
import shutil
from pathlib import Path

import spacy
import srsly
from typer.testing import CliRunner

from conftest import flat
from spacy_zh_mtl.cli import app
from spacy_zh_mtl.cli.report import metrics_table
from spacy_zh_mtl.corpora.docs import read_docs
from spacy_zh_mtl.tokenizer import make_pkuseg_postprocess

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def test_convert_cli_dev_split_and_report(tmp_path):
    result = runner.invoke(app, [
        "convert", "peoples_daily", str(FIXTURES / "peoples_daily.txt"), str(tmp_path / "train.spacy"),
        "--dev-output", str(tmp_path / "dev.spacy"), "--dev-fraction", "0.3", "--report", str(tmp_path / "r.json"),
    ])
    assert result.exit_code == 0, result.output
    assert "I- after O read as B-" in flat(result.output)
    assert len(read_docs(tmp_path / "train.spacy")) == 2 and len(read_docs(tmp_path / "dev.spacy")) == 1
    report = srsly.read_json(tmp_path / "r.json")
    assert report["repaired"] == {"I- after O read as B-": 1}
    assert report["labels"] == {"LOC": 2, "ORG": 1, "PER": 1}


def test_convert_cli_stops_with_file_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("王 B-PER\n小 X-PER\n\n京 B-LOC\n", encoding="utf8")
    result = runner.invoke(app, ["convert", "peoples_daily", str(bad), str(tmp_path / "out.spacy")])
    assert result.exit_code == 1
    assert f"{bad}:2: unknown tag 'X-PER'" in flat(result.output)
    assert not (tmp_path / "out.spacy").exists()
    result = runner.invoke(app, ["convert", "peoples_daily", str(bad), str(tmp_path / "out.spacy"), "--on-error", "skip"])
    assert result.exit_code == 0 and "sentence skipped: unknown tag 'X-PER'" in flat(result.output)


def test_prepare_corpus_preset(tmp_path):
    assets = tmp_path / "weibo"
    assets.mkdir()
    for split in ("train", "dev", "test"):
        shutil.copy(FIXTURES / "weibo.txt", assets / f"weiboNER_2nd_conll.{split}")
    result = runner.invoke(app, ["prepare-corpus", "weibo", str(assets), str(tmp_path / "out"), "--labels", "merge"])
    assert result.exit_code == 0, result.output
    docs = read_docs(tmp_path / "out" / "test.spacy")
    assert [(e.text, e.label_) for e in docs[0].ents] == [("王小明", "PER"), ("北京", "LOC")]
    report = srsly.read_json(tmp_path / "out" / "report.json")
    assert set(report) == {"train", "dev", "test"}
    # a preset without a dev file splits dev off train
    pd = tmp_path / "pd"
    pd.mkdir()
    shutil.copy(FIXTURES / "peoples_daily.txt", pd / "example.test")
    shutil.copy(FIXTURES / "peoples_daily.txt", pd / "example.dev")
    result = runner.invoke(app, ["prepare-corpus", "peoples_daily", str(pd), str(tmp_path / "pd_out"), "--dev-fraction", "0.3"])
    assert result.exit_code == 0, result.output
    sizes = [len(read_docs(tmp_path / "pd_out" / f"{s}.spacy")) for s in ("train", "dev", "test")]
    assert sizes == [2, 1, 3]
    result = runner.invoke(app, ["prepare-corpus", "weibo", str(pd), str(tmp_path / "x")])
    assert result.exit_code == 1 and "Missing corpus file" in flat(result.output)


def test_place_assets(tmp_path):
    mirror = tmp_path / "mirror" / "some" / "layout"
    mirror.mkdir(parents=True)
    content = (FIXTURES / "weibo.txt").read_bytes()
    (mirror / "renamed.txt").write_bytes(content)
    project = tmp_path / "project"
    project.mkdir()
    md5 = hashlib.md5(content).hexdigest()
    srsly.write_yaml(project / "project.yml", {"assets": [
        {"dest": "assets/weibo/train.txt", "url": "https://example.org/x", "checksum": md5},
        {"dest": "assets/other.txt", "url": "https://example.org/y", "checksum": "0" * 32, "extra": True},
    ]})
    result = runner.invoke(app, ["place-assets", str(tmp_path / "mirror"), "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    assert (project / "assets" / "weibo" / "train.txt").read_bytes() == content
    assert "1 placed, 0 already there, 1 not in" in flat(result.output)
    result = runner.invoke(app, ["place-assets", str(tmp_path / "mirror"), "--project-dir", str(project), "--no-extra"])
    assert "0 placed, 1 already there, 0 not in" in flat(result.output)


METRICS = {
    "token_acc": 1.0, "tag_acc": 0.9012, "ents_p": 0.7, "ents_r": 0.5, "ents_f": 0.5833, "speed": 1234.5,
    "ents_per_type": {"PER": {"p": 0.8, "r": 0.6, "f": 0.6857}, "LOC": {"p": 0.5, "r": 0.25, "f": 0.3333}},
}


def test_metrics_table():
    table = metrics_table(METRICS, title="weibo test")
    lines = table.splitlines()
    assert lines[0] == "### weibo test"
    assert "| LOC | 50.00 | 25.00 | 33.33 |" in lines
    assert "| PER | 80.00 | 60.00 | 68.57 |" in lines
    assert "| **all** | 70.00 | 50.00 | **58.33** |" in lines
    assert "tag accuracy 90.12" in table and "speed (words/s) 1,234" in table
    with_counts = metrics_table(METRICS, {"PER": 3, "LOC": 4, "ORG": 1})
    assert "| ORG | - | - | - | 1 |" in with_counts and "| **all** | 70.00 | 50.00 | **58.33** | 8 |" in with_counts


def test_report_cli(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(METRICS))
    result = runner.invoke(app, ["report", str(tmp_path / "m.json"), "--output", str(tmp_path / "m.md")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.md").read_text(encoding="utf8").startswith("| type | P | R | F |")
    (tmp_path / "bad.json").write_text(json.dumps({"tag_acc": 0.9}))
    assert runner.invoke(app, ["report", str(tmp_path / "bad.json")]).exit_code == 1


def test_pkuseg_postprocess_callback_is_saved(tmp_path):
    import spacy_pkuseg

    train = tmp_path / "train.txt"
    train.write_text("".join(f"王小明 去 北京 第{i} 次\n" for i in range(12)), encoding="utf8")
    spacy_pkuseg.train(str(train), str(train), str(tmp_path / "seg"), train_iter=1)
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model=str(tmp_path / "seg"))
    assert nlp.tokenizer.pkuseg_seg.postprocesser.do_process
    assert make_pkuseg_postprocess(enabled=False)(nlp) is nlp
    nlp.to_disk(tmp_path / "nlp")
    loaded = spacy.load(tmp_path / "nlp")
    assert loaded.tokenizer.pkuseg_seg.postprocesser.do_process is False
    assert spacy.registry.callbacks.get("spacy_zh_mtl.pkuseg_postprocess.v1") is make_pkuseg_postprocess
