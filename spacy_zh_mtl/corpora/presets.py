"""Corpus presets: which asset files make train/dev/test, in which format.

Used by `python -m spacy_zh_mtl prepare-corpus NAME ASSET_DIR OUTPUT_DIR`
(the project's convert steps). File names are those of the sources (see
project.yml assets and ../shared/data/README.md):

- weibo: train/dev/test as released (8 labels; --labels merge for PER/LOC/ORG).
- peoples_daily: only example.dev and example.test exist offline; as the
  design note says, train on example.test (dev split off it, --dev-fraction)
  and test on example.dev (2,318 sentences, the paper's test size).
- cluener: train.json (dev split off it); test.json is the official dev set
  with labels, used as test.
- gsd: UD Chinese GSD train from hankcs' Simplified copy of UD 1.3 (ASCII
  punctuation made full-width), dev/test from UD_Chinese-GSDSimp: same
  sentences, word boundaries and XPOS as the UD 1.3 dev/test (12,663 of 12,663
  dev XPOS equal), with the better Simplified conversion. XPOS -> tag_, UPOS -> pos_.
- sxu: train.txt (dev split off it) and test.txt; words only.
- zhuxian: train/dev/test word_TAG lines, CTB tags.
- custom: your own NER corpus; the files come from prepare-corpus's --train,
  --dev and --test (any NER format of `convert`, detected per file); no dev
  file: a dev split is taken from train.
- wtb: Weibo treebank CoNLL-X, column 5 (CTB) as tag; no punctuation tokens
  in this corpus and its POS tags are automatic (Stanford tagger).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class CorpusPreset:
    """Files and format of one corpus.

    kind: "ner", "seg" (words only) or "pos" (words and tags).
    fmt: A format of `python -m spacy_zh_mtl convert`.
    train, dev, test: File names inside the asset directory; dev None means a
        dev split is taken from train (--dev-fraction). None for train/test:
        the file must be given (--train/--test).
    options: Options of the format's reader (`formats.CorpusFormat.options`;
        a column 0 is no column).
    """

    kind: str
    fmt: str
    train: Optional[str]
    dev: Optional[str]
    test: Optional[str]
    options: Dict[str, Any] = field(default_factory=dict)


PRESETS: Dict[str, CorpusPreset] = {
    "weibo": CorpusPreset(
        "ner", "weibo", "weiboNER_2nd_conll.train", "weiboNER_2nd_conll.dev", "weiboNER_2nd_conll.test"
    ),
    "peoples_daily": CorpusPreset("ner", "peoples_daily", "example.test", None, "example.dev"),
    "cluener": CorpusPreset("ner", "cluener", "train.json", None, "test.json"),
    "custom": CorpusPreset("ner", "auto", None, None, None),
    "gsd": CorpusPreset(
        "pos", "conll", "train.conll", "zh_gsdsimp-ud-dev.conllu", "zh_gsdsimp-ud-test.conllu",
        {"fullwidth_punct": True, "tag_column": 5, "upos_column": 4},
    ),
    "sxu": CorpusPreset("seg", "segmented", "train.txt", None, "test.txt"),
    "zhuxian": CorpusPreset(
        "pos", "word_tag", "train.zhuxian.wordpos", "dev.zhuxian.wordpos", "test.zhuxian.wordpos"
    ),
    "wtb": CorpusPreset(
        "pos", "conll", "train.conll", "dev.conll", "test.conll",
        {"tag_column": 5, "upos_column": 0},
    ),
}


def get_preset(name: str) -> CorpusPreset:
    """Look up a corpus preset by name."""
    if name not in PRESETS:
        raise ValueError(f"Unknown corpus {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name]
