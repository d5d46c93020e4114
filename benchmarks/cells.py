"""The benchmark matrix as data: datasets, settings and the cells that run.

Adding a setting is one entry in SETTINGS (config file, config overrides,
title); adding a cell is one entry in MATRIX.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@dataclass(frozen=True)
class Dataset:
    """An NER dataset: a `prepare-corpus` preset and its --labels map."""

    preset: str
    labels: str
    title: str


@dataclass(frozen=True)
class Setting:
    """A pipeline setting: a config in configs/ plus dotted config overrides."""

    config: str
    overrides: Dict[str, str] = field(default_factory=dict)
    title: str = ""

    @property
    def config_path(self) -> Path:
        return CONFIGS / self.config


# Asset files per corpus preset of `prepare-corpus` (spacy_zh_mtl/corpora/presets.py),
# relative to the shared data directory.
ASSETS: Dict[str, List[str]] = {
    "gsd": [
        "udc_simplified_hankcs/train.conll",
        "ud_chinese_gsdsimp/zh_gsdsimp-ud-dev.conllu",
        "ud_chinese_gsdsimp/zh_gsdsimp-ud-test.conllu",
    ],
    "weibo": [
        "weibo_ner/weiboNER_2nd_conll.train",
        "weibo_ner/weiboNER_2nd_conll.dev",
        "weibo_ner/weiboNER_2nd_conll.test",
    ],
    "peoples_daily": ["peoples_daily_ner/example.test", "peoples_daily_ner/example.dev"],
    "cluener": ["cluener2020/train.json", "cluener2020/test.json"],
}

DATASETS: Dict[str, Dataset] = {
    "weibo": Dataset("weibo", "none", "Weibo NER, 8 labels"),
    "weibo_merged": Dataset("weibo", "merge", "Weibo NER, PER/LOC/ORG merged"),
    "peoples_daily": Dataset(
        "peoples_daily", "none", "People's Daily small-sample (train example.test, eval example.dev)"
    ),
    "cluener": Dataset("cluener", "none", "CLUENER2020 (eval: official dev = test.json)"),
}

# The ladder NER -> +CWS -> +POS -> +consistency uses fixed weights, so each
# step adds one thing; full_dwa changes only the weighting.
MTL_CONFIG = "cpu.cfg"
# grad_factor is the transformer listener's: those cells need the transformer config
MTL_TRF_CONFIG = "cpu_trf.cfg"


def _mtl(tasks: str, consistency: bool, weighting: str, **extra: str) -> Dict[str, str]:
    """Overrides of the zh_mtl_ner component for one rung of the ladder."""
    return {
        "components.ner.tasks": tasks,
        "components.ner.consistency": str(consistency).lower(),
        "components.ner.weighting": weighting,
        **extra,
    }


ALL_TASKS = '["ner","cws","pos"]'
SETTINGS: Dict[str, Setting] = {
    "ner": Setting(MTL_CONFIG, _mtl('["ner"]', False, "fixed"), "zh_mtl_ner: NER only"),
    "ner_cws": Setting(MTL_CONFIG, _mtl('["ner","cws"]', False, "fixed"), "zh_mtl_ner: NER+CWS"),
    "ner_cws_pos": Setting(
        MTL_CONFIG, _mtl(ALL_TASKS, False, "fixed"), "zh_mtl_ner: NER+CWS+POS, no consistency"
    ),
    "full_fixed": Setting(
        MTL_CONFIG, _mtl(ALL_TASKS, True, "fixed"), "zh_mtl_ner: full (consistency), fixed weights"
    ),
    "full_dwa": Setting(MTL_CONFIG, _mtl(ALL_TASKS, True, "dwa"), "zh_mtl_ner: full (consistency), DWA"),
    "spacy_ner": Setting("cpu_spacy_ner.cfg", {}, "spaCy built-in ner (same transformer)"),
    # the two main cells with grad_factor 1.0 (see `run --mtl-grad-factor`)
    "ner_gf1": Setting(
        MTL_TRF_CONFIG,
        _mtl('["ner"]', False, "fixed", **{"components.ner.model.grad_factor": "1.0"}),
        "zh_mtl_ner: NER only, grad_factor 1 (shipped default)",
    ),
    "full_dwa_gf1": Setting(
        MTL_TRF_CONFIG,
        _mtl(ALL_TASKS, True, "dwa", **{"components.ner.model.grad_factor": "1.0"}),
        "zh_mtl_ner: full, DWA, grad_factor 1 (shipped default)",
    ),
}
ABLATION_SETTINGS = ["ner", "ner_cws", "ner_cws_pos", "full_fixed", "full_dwa", "spacy_ner"]

Cell = Tuple[str, str, Sequence[int]]
# The matrix, in the order it runs (most important cells first): (dataset, setting, seeds).
MATRIX: List[Cell] = [
    ("weibo", "ner", (0,)),
    ("weibo", "full_dwa", (0,)),
    ("weibo", "spacy_ner", (0,)),
    ("weibo", "full_fixed", (0,)),
    ("weibo", "ner_cws", (0,)),
    ("weibo", "ner_cws_pos", (0,)),
    ("weibo", "ner", (1, 2)),
    ("weibo", "full_dwa", (1, 2)),
    ("weibo", "spacy_ner", (1, 2)),
    *[("peoples_daily", s, (0,)) for s in ABLATION_SETTINGS],
    *[("weibo_merged", s, (0,)) for s in ABLATION_SETTINGS],
    ("cluener", "full_dwa", (0,)),
    ("cluener", "ner", (0,)),
    ("cluener", "spacy_ner", (0,)),
]
# Only with `run --with-gf1-cells`: the two Weibo cells at grad_factor 1.0. The
# published matrix (docs/results.md) ran before commit 381ebd4, when zh_mtl_ner
# averaged its losses over characters, with --mtl-grad-factor 300 and these cells.
GF1_CELLS: List[Cell] = [
    ("weibo", "ner_gf1", (0,)),
    ("weibo", "full_dwa_gf1", (0,)),
]
