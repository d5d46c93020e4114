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
    # prepared corpora whose train split joins the NER training data (the
    # paper's auxiliary corpora: gold segmentation and POS, no entities)
    train_with: Tuple[str, ...] = ()
    # the dataset's dev split joins the training data (all labelled data, as
    # the paper trains on all of People's Daily example.test); model-last is
    # then scored, since dev no longer measures generalisation
    train_on_dev: bool = False

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

# The settings: configs/cpu.cfg (no transformer; LAC + jieba character
# features) as shipped, the multitask ladder on it, one ablation row per feature
# source, spaCy's built-in ner on the same tok2vec, and the transformer configs.
MTL_CONFIG = "cpu.cfg"
NER_ONLY = {"components.ner.tasks": '["ner"]', "components.ner.consistency": "false"}
FULL = {"components.ner.tasks": '["ner","cws","pos"]', "components.ner.consistency": "true"}
AUX_1 = {f"components.ner.task_weights.{term}": "1.0" for term in ("cws", "pos", "consistency")}
AUX_02 = {f"components.ner.task_weights.{term}": "0.2" for term in ("cws", "pos", "consistency")}
SOURCES = "components.ner.model.char_features.sources"
# cpu.cfg's budget, evaluated five times; the ablations run 600 steps
# (--max-steps 600), enough to rank feature sources at a lower cost
LONG = {"training.max_steps": "1500", "training.eval_frequency": "300"}
# twice that, for corpora whose dev F still rises at the end of LONG
# (docs/results.md: CLUENER gains from it, People's Daily does not)
LONGER = {"training.max_steps": "3000", "training.eval_frequency": "500"}
# LAC's two BiGRU layers trained with the rest (LacStates.v1 fine_tune), as
# the shipped cpu.cfg does; the other cells set fine_tune = false explicitly,
# so a change of the config's default does not change what they measure
TUNE_LAC = {f"{SOURCES}.lac.fine_tune": "true"}
FROZEN_LAC = {f"{SOURCES}.lac.fine_tune": "false"}


def _without(source: str) -> Dict[str, str]:
    """NER alone without one character feature source (the ablation rows)."""
    frozen = FROZEN_LAC if source != "lac" else {}
    return {**NER_ONLY, **frozen, f"{SOURCES}.{source}": "null"}


SETTINGS: Dict[str, Setting] = {
    "ner": Setting(MTL_CONFIG, {**NER_ONLY, **FROZEN_LAC}, "zh_mtl_ner: NER only"),
    "full": Setting(MTL_CONFIG, {**FULL, **AUX_1, **FROZEN_LAC}, "zh_mtl_ner: NER+CWS+POS+consistency, DWA, normalised, weights 1"),
    "full_aux02": Setting(MTL_CONFIG, {**FULL, **AUX_02, **FROZEN_LAC}, "zh_mtl_ner: full, auxiliary weights 0.2"),
    "ner_cws02": Setting(
        MTL_CONFIG,
        {
            **FULL, "components.ner.tasks": '["ner","cws"]', **FROZEN_LAC,
            **{k: v for k, v in AUX_02.items() if "pos" not in k},
        },
        "zh_mtl_ner: NER+CWS+consistency, auxiliary weights 0.2",
    ),
    "full_no_norm": Setting(
        MTL_CONFIG, {**FULL, **AUX_1, "components.ner.normalize_losses": "false", **FROZEN_LAC},
        "zh_mtl_ner: full, weights 1, losses not normalised",
    ),
    "full_aux02_gsd": Setting(
        MTL_CONFIG, {**FULL, **AUX_02, **FROZEN_LAC}, "zh_mtl_ner: full, weights 0.2, UD GSD train (gold words + POS) mixed in",
        train_with=("gsd",),
    ),
    "ner_1500": Setting(MTL_CONFIG, {**NER_ONLY, **LONG, **FROZEN_LAC}, "zh_mtl_ner: NER only, 1,500 steps"),
    "full_aux02_1500": Setting(
        MTL_CONFIG, {**FULL, **AUX_02, **LONG, **FROZEN_LAC}, "zh_mtl_ner: full, auxiliary weights 0.2, 1,500 steps"
    ),
    "full_aux02_3000": Setting(
        MTL_CONFIG, {**FULL, **AUX_02, **LONGER, **FROZEN_LAC}, "zh_mtl_ner: full, auxiliary weights 0.2, 3,000 steps"
    ),
    "full_aux02_1500_idrop03": Setting(
        MTL_CONFIG,
        {**FULL, **AUX_02, **LONG, "components.ner.model.input_dropout": "0.3", **FROZEN_LAC},
        "zh_mtl_ner: full, auxiliary weights 0.2, 1,500 steps, input dropout 0.3",
    ),
    "full_aux02_1500_all": Setting(
        MTL_CONFIG, {**FULL, **AUX_02, **LONG, **FROZEN_LAC},
        "zh_mtl_ner: full, auxiliary weights 0.2, 1,500 steps, dev split trained on (model-last)",
        train_on_dev=True,
    ),
    "full_aux02_1500_tunelac_all": Setting(
        MTL_CONFIG,
        {**FULL, **AUX_02, **LONG, **TUNE_LAC},
        "zh_mtl_ner: full, auxiliary weights 0.2, 1,500 steps, LAC's encoder fine-tuned, "
        "dev split trained on (model-last)",
        train_on_dev=True,
    ),
    "full_aux02_1500_tunelac": Setting(
        MTL_CONFIG, {**FULL, **AUX_02, **LONG, **TUNE_LAC},
        "zh_mtl_ner: full, auxiliary weights 0.2, 1,500 steps, LAC's encoder fine-tuned",
    ),
    "ner_1500_tunelac": Setting(
        MTL_CONFIG, {**NER_ONLY, **LONG, **TUNE_LAC}, "zh_mtl_ner: NER only, 1,500 steps, LAC's encoder fine-tuned"
    ),
    "ner_1500_tunelac_all": Setting(
        MTL_CONFIG, {**NER_ONLY, **LONG, **TUNE_LAC},
        "zh_mtl_ner: NER only, 1,500 steps, LAC's encoder fine-tuned, dev split trained on (model-last)",
        train_on_dev=True,
    ),
    "ner_1500_all": Setting(
        MTL_CONFIG, {**NER_ONLY, **LONG, **FROZEN_LAC}, "zh_mtl_ner: NER only, 1,500 steps, dev split trained on (model-last)",
        train_on_dev=True,
    ),
    "no_vectors": Setting(MTL_CONFIG, _without("vectors"), "NER only, without LAC's character vectors"),
    "no_lexicon": Setting(MTL_CONFIG, _without("lexicon"), "NER only, without jieba lexicon features"),
    "no_lac": Setting(MTL_CONFIG, _without("lac"), "NER only, without LAC's BiGRU states"),
    "spacy_ner": Setting("cpu_spacy_ner.cfg", {}, "spaCy built-in ner (same tok2vec and tagger)"),
    "trf": Setting("cpu_trf.cfg", {}, "tiny transformer + the pretrained sources"),
    "trf_only": Setting(
        "cpu_trf.cfg", {"components.ner.model.char_features": "null"}, "tiny transformer only (spacy-zh-mtl 0.1)"
    ),
}

Cell = Tuple[str, str, Sequence[int]]
# The matrix, in the order it runs (most important cells first): (dataset, setting, seeds).
# The ablations compare sources at 600 steps (NER only); the headline cells
# use cpu.cfg's budget (LONG).
MATRIX: List[Cell] = [
    ("weibo_merged", "ner", (0, 1, 2)),
    ("peoples_daily", "ner", (0, 1, 2)),
    ("peoples_daily", "ner_1500", (0,)),
    ("weibo_merged", "ner_1500", (0,)),
    ("weibo_merged", "full_aux02_1500", (0,)),
    ("peoples_daily", "full_aux02_1500", (0,)),
    ("weibo_merged", "no_lac", (0,)),
    ("weibo_merged", "no_lexicon", (0,)),
    ("weibo_merged", "no_vectors", (0,)),
    ("weibo_merged", "spacy_ner", (0,)),
    ("weibo_merged", "full_aux02_1500", (1,)),
    ("peoples_daily", "full_aux02_1500", (1,)),
    ("cluener", "full_aux02_1500", (0,)),
    ("weibo_merged", "ner_1500", (1,)),
    ("weibo_merged", "full_aux02_1500", (2,)),
    ("peoples_daily", "full_aux02_1500", (2,)),
    ("peoples_daily", "no_lexicon", (0,)),
    ("cluener", "full_aux02_3000", (0,)),
    ("peoples_daily", "full_aux02_3000", (0,)),
    ("weibo_merged", "full_aux02", (0,)),
    ("weibo_merged", "full_aux02_gsd", (0,)),
    ("weibo_merged", "ner_1500", (2,)),
    ("peoples_daily", "ner_1500", (1, 2)),
    ("cluener", "ner_1500", (0,)),
    ("weibo_merged", "full", (0,)),
    ("weibo_merged", "ner_cws02", (0,)),
    ("weibo_merged", "full_no_norm", (0,)),
    ("weibo_merged", "trf", (0,)),
    ("weibo_merged", "trf_only", (0,)),
    ("peoples_daily", "full_aux02_1500_idrop03", (0,)),
    ("peoples_daily", "full_aux02_1500_all", (0, 1, 2)),
    ("peoples_daily", "ner_1500_all", (0, 1, 2)),
    ("peoples_daily", "full_aux02_1500_tunelac_all", (0, 1, 2)),
    ("peoples_daily", "ner_1500_tunelac_all", (0,)),
    ("weibo_merged", "full_aux02_1500_tunelac", (0,)),
    ("peoples_daily", "ner_1500_tunelac_all", (1, 2)),
    ("weibo_merged", "full_aux02_1500_tunelac", (1, 2)),
    ("weibo_merged", "ner_1500_tunelac", (0, 1, 2)),
    ("cluener", "full_aux02_1500_tunelac", (0,)),
]
