"""The benchmark package: report aggregation, cells against their configs, stage lookup."""
import json
from pathlib import Path
from typing import Any, Dict

import pytest
from spacy.util import load_config

from benchmarks.cells import DATASETS, MATRIX, SETTINGS
from benchmarks.report import write_report
from benchmarks.stages import ZH_MTL_NER_STAGES, profile, resolve, stage_times


def _run(dataset: str, setting: str, seed: int, f: float, loc_f: float) -> Dict[str, Any]:
    return {
        "run": f"{dataset}__{setting}__s{seed}", "dataset": dataset, "setting": setting, "seed": seed,
        "p": f + 0.01, "r": f - 0.01, "f": f, "steps": 100, "max_steps": 100,
        "train_seconds": 10.0 + seed, "eval_seconds": 2.0,
        "per_type": {"LOC": {"p": loc_f, "r": loc_f, "f": loc_f}},
    }


def test_report_mean_std_over_seeds(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    for record in (_run("weibo", "ner", 0, 0.50, 0.4), _run("weibo", "ner", 1, 0.60, 0.6),
                   _run("weibo", "spacy_ner", 0, 0.40, 0.3)):
        (runs / f"{record['run']}.json").write_text(json.dumps(record))
    (runs / "weibo__ner__s0.eval.json").write_text("{}")  # per-run scorer output: not a run
    lines = write_report(tmp_path, tmp_path / "docs")
    table = "\n".join(lines)
    assert f"| {SETTINGS['ner'].title} | 0,1 | 56.00 ± 7.07 | 54.00 ± 7.07 | **55.00 ± 7.07** | 100 |" in table
    assert f"| {SETTINGS['spacy_ner'].title} | 0 | 41.00 | 39.00 | **40.00** | 100 |" in table
    assert "| ner | 50.0 ± 14.1 |" in table
    assert (tmp_path / "report" / "tables.md").read_text(encoding="utf8") == table
    assert len(json.loads((tmp_path / "report" / "results.json").read_text())) == 3


def _has_path(config: Dict[str, Any], dotted: str) -> bool:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("name", list(SETTINGS))
def test_setting_overrides_name_config_keys(name: str) -> None:
    setting = SETTINGS[name]
    config = load_config(setting.config_path, interpolate=False)
    missing = [key for key in setting.overrides if not _has_path(config, key)]
    assert not missing, f"{name}: {setting.config} has no {missing}"


def test_matrix_names_known_cells() -> None:
    for dataset, setting, seeds in MATRIX:
        assert dataset in DATASETS and setting in SETTINGS and seeds


def test_stage_functions_resolve() -> None:
    for stage in ZH_MTL_NER_STAGES:
        assert callable(resolve(stage.path))


def test_stage_missing_from_profile_raises() -> None:
    _, stats = profile(lambda: sum(range(10)))
    with pytest.raises(KeyError, match="CRF Viterbi"):
        stage_times(stats, {"CRF Viterbi": "spacy_zh_mtl.models.viterbi:viterbi_decode"})


def test_stage_times_from_profile() -> None:
    from benchmarks.report import stat

    _, stats = profile(lambda: [stat([1.0, 2.0]) for _ in range(3)])
    times = stage_times(stats, {"stat": "benchmarks.report:stat"})
    assert times["stat"]["calls"] == 3 and times["stat"]["seconds"] >= 0.0


def test_training_data_mixes_train_splits_into_one_folder(tmp_path: Path) -> None:
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Corpus

    from benchmarks.accuracy import training_data
    from benchmarks.cells import Setting

    nlp = spacy.blank("zh")
    files = {"weibo/train.pre.spacy": "王小明去北京", "weibo/dev.pre.spacy": "李华在上海", "gsd/train.spacy": "今天天气很好"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        DocBin(docs=[nlp.make_doc(text)]).to_disk(tmp_path / name)
    assert training_data(tmp_path, "weibo", Setting("cpu.cfg")) == tmp_path / "weibo" / "train.pre.spacy"
    with_gsd = Setting("cpu.cfg", train_with=("gsd",))
    mixed = training_data(tmp_path, "weibo", with_gsd)
    assert mixed == training_data(tmp_path, "weibo", with_gsd)  # a second call reuses the folder
    texts = sorted(eg.reference.text for eg in Corpus(mixed)(nlp))
    assert texts == ["今天天气很好", "王小明去北京"]
    all_ner = training_data(tmp_path, "weibo", Setting("cpu.cfg", train_on_dev=True))
    assert all_ner.name == "weibo+weibo_dev"
    assert sorted(eg.reference.text for eg in Corpus(all_ner)(nlp)) == ["李华在上海", "王小明去北京"]
