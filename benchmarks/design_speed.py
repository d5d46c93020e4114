"""Prediction speed of untrained pipelines built from one config and its
variants, alternating in one process: what a design costs before training it.

  python -m benchmarks.design_speed TEXTS configs/cpu_joint_tower.cfg \\
      --init corpus/ner/peoples_daily/dev.pre.spacy --init corpus/pos/gsd/train.spacy \\
      --variant no_tower='{"components.ner.model.char_features.sources.lac.word_layer": false}'

Each variant is NAME=JSON: an object of dotted config keys and their values
(null removes a block). The config itself runs as "base". Every pipeline is
initialized on the first 100 Docs of each --init corpus (entity and POS
corpora, so that every task has its labels) and predicts with the config's
settings (`int8` included). Every round times each pipeline once over the
texts, after a warm-up; the table has each pipeline's median chars/s and the
median of its per-round ratios to "base". Run it with nothing else on the
machine (torch is set to one thread).
"""
import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from .pipeline_speed import read_texts

N_INIT_DOCS = 100
N_WARMUP_TEXTS = 200


def parse_variant(spec: str) -> Tuple[str, Dict[str, Any]]:
    """NAME=JSON object -> (name, {dotted key: value})."""
    name, sep, overrides = spec.partition("=")
    try:
        values = json.loads(overrides) if sep and name else None
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"--variant {spec!r}: the overrides are not JSON ({err})")
    if not isinstance(values, dict) or name == "base":
        raise argparse.ArgumentTypeError(
            f"--variant {spec!r}: expected NAME=JSON, a JSON object of dotted config keys, NAME not 'base'"
        )
    return name, values


def apply_overrides(config: Any, overrides: Dict[str, Any]) -> None:
    """Set (or, for None, remove) each dotted key of a spaCy config."""
    for key, value in overrides.items():
        *path, last = key.split(".")
        node = config
        for part in path:
            if part not in node:
                raise KeyError(f"{key}: the config has no block {part!r}")
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value


def build(config_path: Path, overrides: Dict[str, Any], init_paths: List[Path]):
    """An initialized, untrained pipeline from the config with the overrides."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example
    from thinc.api import Config

    config = Config().from_disk(config_path, interpolate=False)
    # the corpus readers want paths to resolve; nothing here reads them
    config["paths"].update(train=str(init_paths[0]), dev=str(init_paths[0]))
    apply_overrides(config, overrides)
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    refs = [doc for path in init_paths
            for doc in list(DocBin().from_disk(path).get_docs(nlp.vocab))[:N_INIT_DOCS]]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in refs]
    nlp.initialize(lambda: examples)
    return nlp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path, help="one text per line, or JSONL with a \"text\" field")
    parser.add_argument("config", type=Path)
    parser.add_argument("--init", dest="init_paths", type=Path, action="append", required=True,
                        help=".spacy corpus whose first Docs initialize the pipelines (repeatable)")
    parser.add_argument("--variant", dest="variants", type=parse_variant, action="append", default=[])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    import torch

    import spacy_zh_mtl  # noqa: F401  (registers the architectures)

    torch.set_num_threads(1)
    texts = read_texts(args.texts)
    n_chars = sum(len(text) for text in texts)
    designs = [("base", {}), *args.variants]
    pipelines = {name: build(args.config, overrides, args.init_paths) for name, overrides in designs}
    speeds: Dict[str, List[float]] = {name: [] for name in pipelines}
    for round_i in range(args.rounds):
        for name, nlp in pipelines.items():
            list(nlp.pipe(texts[:N_WARMUP_TEXTS], batch_size=args.batch_size))
            start = time.perf_counter()
            for _ in nlp.pipe(texts, batch_size=args.batch_size):
                pass
            speeds[name].append(n_chars / (time.perf_counter() - start))
            print(f"round {round_i + 1}: {name:20} {speeds[name][-1]:10,.0f} chars/s", flush=True)
    print(f"\n| design | chars/s (median of {args.rounds}) | ÷ base (median of per-round ratios) |")
    print("|---|---|---|")
    for name, values in speeds.items():
        ratios = [value / base for value, base in zip(values, speeds["base"])]
        print(f"| {name} | {statistics.median(values):,.0f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}–{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
