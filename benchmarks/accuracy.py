"""Accuracy benchmark: zh_mtl_ner ablations vs spaCy's built-in ner, equal budget.

Stages, each resumable (finished outputs are kept and skipped):

  prepare  corpora -> .spacy (`python -m spacy_zh_mtl prepare-corpus`), a pkuseg
           segmenter and a POS tagger trained on UD Chinese GSD, pre-annotated
           NER training/dev data (`preannotate`), and the tiny CPU transformer
           (`make-transformer`).
  run      the cells of benchmarks/cells.py: `python -m spacy train` per
           (dataset, setting, seed), then model-best scored on the held-out
           test file with the package's character-offset scorer. One JSON per
           run under OUT/runs/ (P/R/F per type, wall times, commit, command).
  report   mean ± std over seeds per (dataset, setting): see benchmarks/report.py.

  python -m benchmarks.accuracy prepare --out /tmp/bench
  python -m benchmarks.accuracy run --out /tmp/bench --max-steps 300 \
      --datasets weibo --settings ner full_dwa --seeds 0 1 2
  python -m benchmarks.accuracy report --out /tmp/bench --docs docs

Every heavy step runs in a subprocess under `nice -n 10` (--nice to change).
"""
import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .cells import ASSETS, CONFIGS, DATASETS, MATRIX, ROOT, SETTINGS, Setting
from .process import PY, git_commit, log, run_cmd

DEFAULT_DATA_DIR = Path(os.environ.get("ZH_MTL_DATA", ROOT.parent / "shared" / "data"))
Run = Tuple[str, str, int]


# prepare ------------------------------------------------------------------


def link_assets(args: argparse.Namespace) -> Path:
    """The assets directory (assets/<preset>/<file>): the project's, checked,
    or the shared raw data linked into OUT/assets.
    """
    if args.assets is not None:
        for preset, files in ASSETS.items():
            for rel in files:
                if not (args.assets / preset / Path(rel).name).is_file():
                    sys.exit(f"Missing asset {args.assets / preset / Path(rel).name} (spacy project assets)")
        return args.assets
    assets = args.out / "assets"
    for preset, files in ASSETS.items():
        (assets / preset).mkdir(parents=True, exist_ok=True)
        for rel in files:
            src, dest = args.data_dir / rel, assets / preset / Path(rel).name
            if not src.is_file():
                sys.exit(f"Missing asset {src} (set --data-dir or --assets)")
            if not dest.exists():
                dest.symlink_to(src)
    return assets


def prepare(args: argparse.Namespace) -> None:
    out: Path = args.out
    data, logs = out / "data", out / "logs"
    assets = link_assets(args)
    costs: Dict[str, float] = {}

    def step(name: str, done: Path, cmd: List[str], log_name: str = "") -> None:
        if not done.exists():
            costs[name] = run_cmd(PY + cmd, logs / f"{log_name or name}.log", args.nice, args.threads)

    # 1. Corpora -> .spacy
    step("convert_gsd", data / "gsd" / "train.spacy",
         ["spacy_zh_mtl", "prepare-corpus", "gsd", str(assets / "gsd"), str(data / "gsd")], "prepare_gsd")
    for name, dataset in DATASETS.items():
        step(f"convert_{name}", data / name / "test.spacy",
             ["spacy_zh_mtl", "prepare-corpus", dataset.preset, str(assets / dataset.preset), str(data / name),
              "--labels", dataset.labels, "--dev-fraction", "0.1", "--seed", "0"], f"prepare_{name}")
    # 2. pkuseg on GSD train
    pkuseg = out / "pkuseg"
    step("train_segmenter", pkuseg / "weights.npz",
         ["spacy_zh_mtl", "train-segmenter", str(data / "gsd" / "train.spacy"), str(data / "gsd" / "dev.spacy"),
          str(pkuseg), "--n-iter", str(args.pkuseg_iter), "--quiet", "--metrics", str(out / "pkuseg_metrics.json")])
    # 3. POS tagger for pre-annotation on GSD train
    tagger = out / "tagger" / "model-last"
    step("train_tagger", tagger / "meta.json",
         ["spacy", "train", str(CONFIGS / "preannotation_tagger.cfg"), "--output", str(out / "tagger"),
          "--paths.train", str(data / "gsd" / "train.spacy"), "--paths.dev", str(data / "gsd" / "dev.spacy"),
          "--training.max_steps", str(args.tagger_steps), "--training.eval_frequency", "500"])
    # 4. Pre-annotate NER train and dev (words + tags + entities)
    for name in DATASETS:
        for split in ("train", "dev"):
            step(f"preannotate_{name}_{split}", data / name / f"{split}.pre.spacy",
                 ["spacy_zh_mtl", "preannotate", str(data / name / f"{split}.spacy"),
                  str(data / name / f"{split}.pre.spacy"), "--segmenter", str(pkuseg), "--tagger", str(tagger),
                  "--user-dict", "default", "--stats", str(logs / f"preannotate_{name}_{split}.json")])
    # 5. The tiny CPU transformer, vocabulary from all NER texts
    corpora = [str(data / name / f"{split}.spacy") for name in ("weibo", "peoples_daily", "cluener")
               for split in ("train", "dev", "test")]
    step("make_transformer", out / "transformer" / "config.json",
         ["spacy_zh_mtl", "make-transformer", str(out / "transformer"), *corpora,
          "--hidden-size", str(args.hidden_size), "--layers", str(args.layers),
          "--heads", "2", "--intermediate-size", str(2 * args.hidden_size), "--seed", "0"])
    costs_path = out / "prepare_costs.json"
    old = json.loads(costs_path.read_text()) if costs_path.exists() else {}
    old.update({k: round(v, 1) for k, v in costs.items()})
    costs_path.write_text(json.dumps(old, indent=2))
    log(f"prepare done: {out}")


# run ----------------------------------------------------------------------


def run_id(dataset: str, setting: str, seed: int) -> str:
    return f"{dataset}__{setting}__s{seed}"


def planned_runs(args: argparse.Namespace) -> List[Run]:
    """The runs of the matrix that match --datasets/--settings/--seeds/--limit."""
    runs = []
    for dataset, setting, seeds in MATRIX:
        if args.datasets and dataset not in args.datasets:
            continue
        if args.settings and setting not in args.settings:
            continue
        runs += [(dataset, setting, seed) for seed in seeds if args.seeds is None or seed in args.seeds]
    return runs[: args.limit] if args.limit else runs


def train_overrides(args: argparse.Namespace, dataset: str, setting: str, seed: int) -> Dict[str, str]:
    """`spacy train` overrides of one run: data, budget, seed, then the setting's own."""
    data = args.out / "data" / dataset
    overrides = {
        "paths.train": str(training_data(args.out / "data", dataset, SETTINGS[setting])),
        "paths.dev": str(data / "dev.pre.spacy"),
        "paths.transformer": str(args.out / "transformer"),
        "paths.pkuseg_model": str(args.out / "pkuseg"),
        "system.seed": str(seed),
    }
    # budget and evaluation: the config's unless given
    optional = {
        "training.max_steps": args.max_steps,
        "training.max_epochs": args.max_epochs,
        "training.eval_frequency": args.eval_frequency,
        "training.optimizer.learn_rate.warmup_steps": args.warmup_steps,
        "corpora.dev.limit": args.dev_limit,
    }
    overrides.update({key: str(value) for key, value in optional.items() if value is not None})
    overrides.update(SETTINGS[setting].overrides)
    return overrides


def training_data(data: Path, dataset: str, setting: Setting) -> Path:
    """The NER training file, or a folder of it, its dev split (`train_on_dev`)
    and the train splits of the `train_with` corpora (spaCy's Corpus reads
    every .spacy file in a folder)."""
    parts = [(dataset, data / dataset / "train.pre.spacy")]
    if setting.train_on_dev:
        parts.append((f"{dataset}_dev", data / dataset / "dev.pre.spacy"))
    parts += [(other, data / other / "train.spacy") for other in setting.train_with]
    if len(parts) == 1:
        return parts[0][1]
    mixed = data / "+".join(name for name, _ in parts)
    mixed.mkdir(exist_ok=True)
    for name, path in parts:
        link = mixed / f"{name}.spacy"
        if not link.exists():
            link.symlink_to(path)
    return mixed


def train_command(args: argparse.Namespace, run: Run, overrides: Dict[str, str]) -> List[str]:
    """The exact `python -m spacy train` command line of one run."""
    cmd = PY + ["spacy", "train", str(SETTINGS[run[1]].config_path),
                "--output", str(args.out / "models" / run_id(*run))]
    for key, value in overrides.items():
        cmd += [f"--{key}", value]
    return cmd


def last_logged_step(log_path: Path) -> Optional[int]:
    """The last step in spaCy's console training table (E  # ...)."""
    step = None
    for line in log_path.read_text(encoding="utf8").splitlines():
        match = re.match(r"^\s*(\d+)\s+(\d+)\s+[\d.]", line)
        if match:
            step = int(match.group(2))
    return step


def train_and_score(args: argparse.Namespace, run: Run) -> Dict[str, Any]:
    """Train one run, score model-best (the best dev score; model-last when dev
    is trained on) on the test file; the run's record."""
    dataset, setting, seed = run
    rid = run_id(*run)
    runs_dir, logs = args.out / "runs", args.out / "logs"
    model_dir = args.out / "models" / rid
    shutil.rmtree(model_dir, ignore_errors=True)
    overrides = train_overrides(args, dataset, setting, seed)
    cmd = train_command(args, run, overrides)
    load_before = os.getloadavg()[0]
    train_seconds = run_cmd(cmd, logs / f"{rid}.train.log", args.nice, args.threads)
    eval_path = runs_dir / f"{rid}.eval.json"
    scored, other = ("model-last", "model-best") if SETTINGS[setting].train_on_dev else ("model-best", "model-last")
    eval_seconds = run_cmd(
        PY + ["benchmarks.accuracy", "evaluate", str(model_dir / scored),
              str(args.out / "data" / dataset / "test.spacy"), "--output", str(eval_path)],
        logs / f"{rid}.eval.log", args.nice, args.threads)
    if not args.keep_models:
        # keep only the scored model
        shutil.rmtree(model_dir / other, ignore_errors=True)
    return {
        "run": rid, "dataset": dataset, "setting": setting, "seed": seed,
        "config": SETTINGS[setting].config, "overrides": overrides, "scored_model": scored,
        "train_command": " ".join(cmd),
        # the budget the run had: the setting's, else --max-steps (None: the config's)
        "max_steps": int(overrides["training.max_steps"]) if "training.max_steps" in overrides else None,
        "max_epochs": args.max_epochs,
        "steps": last_logged_step(logs / f"{rid}.train.log"), "threads": args.threads,
        "code_commit": git_commit(),
        "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2),
        **json.loads(eval_path.read_text()),
    }


def run_matrix(args: argparse.Namespace) -> None:
    runs_dir = args.out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    todo = planned_runs(args)
    log(f"{len(todo)} runs planned, max_steps={args.max_steps}")
    for i, run in enumerate(todo, 1):
        rid = run_id(*run)
        result_path = runs_dir / f"{rid}.json"
        if args.dry_run or (result_path.exists() and not args.force):
            log(f"[{i}/{len(todo)}] {rid}" + ("" if args.dry_run else ": done already"))
            continue
        log(f"[{i}/{len(todo)}] {rid}")
        result = train_and_score(args, run)
        result_path.write_text(json.dumps(result, indent=2))
        log(f"    F={result['f']:.4f} P={result['p']:.4f} R={result['r']:.4f} "
            f"train {result['train_seconds']:.0f}s, eval {result['eval_seconds']:.0f}s")


# evaluate (a subprocess per run) --------------------------------------------


def evaluate(args: argparse.Namespace) -> None:
    """Score a pipeline on a .spacy file with the package's character-offset scorer."""
    from spacy.training import Example

    from spacy_zh_mtl.corpora.docs import read_docs
    from spacy_zh_mtl.pipeline.scoring import score_char_ents

    from .pipeline_speed import load_pipeline

    nlp = load_pipeline(str(args.model), joint=args.joint, int8=args.int8)
    gold_docs = read_docs(args.data, nlp.vocab)
    texts = [doc.text for doc in gold_docs]
    start = time.time()
    pred_docs = list(nlp.pipe(texts, batch_size=64))
    seconds = time.time() - start
    scores = score_char_ents([Example(pred, gold) for pred, gold in zip(pred_docs, gold_docs)])
    # Gold entities the pipeline's tokens cannot represent (a boundary inside a token).
    unrepresentable = sum(
        1 for gold, doc in zip(gold_docs, map(nlp.make_doc, texts)) for ent in gold.ents
        if doc.char_span(ent.start_char, ent.end_char) is None
    )
    result = {
        "p": scores["ents_p"], "r": scores["ents_r"], "f": scores["ents_f"],
        "per_type": scores["ents_per_type"] or {},
        "n_docs": len(texts), "n_chars": sum(map(len, texts)), "n_gold": sum(len(d.ents) for d in gold_docs),
        "predict_seconds": round(seconds, 2), "gold_not_token_aligned": unrepresentable,
    }
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "per_type"}))


def report(args: argparse.Namespace) -> None:
    from .report import write_report

    write_report(args.out, args.docs)


# CLI ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", type=Path, default=Path("/tmp/bench"), help="Scratch directory for data, models, logs")
        p.add_argument("--nice", type=int, default=10, help="nice level of the subprocesses (0: not niced)")
        p.add_argument("--threads", type=int, default=1, help="OMP/MKL threads of the subprocesses (0: default)")

    p = sub.add_parser("prepare", help="Convert corpora, train pkuseg + tagger, pre-annotate, make the transformer")
    common(p)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="The shared raw data (see its README.md)")
    p.add_argument("--assets", type=Path, default=None,
                   help="Use the project's assets/ directory (assets/<corpus>/<file>) instead of --data-dir")
    p.add_argument("--pkuseg-iter", type=int, default=10)
    p.add_argument("--tagger-steps", type=int, default=1500)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.set_defaults(func=prepare)

    p = sub.add_parser("run", help="Train and evaluate the matrix (skips finished runs)")
    common(p)
    p.add_argument("--max-steps", type=int, default=None, help="training.max_steps (default: the config's)")
    p.add_argument("--max-epochs", type=int, default=None, help="training.max_epochs (default: the config's)")
    p.add_argument("--eval-frequency", type=int, default=None, help="training.eval_frequency (default: the config's)")
    p.add_argument("--warmup-steps", type=int, default=None, help="learn-rate warm-up steps (default: the config's)")
    p.add_argument("--dev-limit", type=int, default=None, help="corpora.dev.limit (default: the config's, all)")
    p.add_argument("--datasets", nargs="*", choices=list(DATASETS))
    p.add_argument("--settings", nargs="*", choices=list(SETTINGS))
    p.add_argument("--seeds", nargs="*", type=int)
    p.add_argument("--limit", type=int, default=0, help="Run only the first N planned runs")
    p.add_argument("--force", action="store_true", help="Re-run finished runs")
    p.add_argument("--dry-run", action="store_true", help="List the planned runs only")
    p.add_argument("--keep-models", action="store_true", help="Keep model-last too")
    p.set_defaults(func=run_matrix)

    p = sub.add_parser("evaluate", help="Score one pipeline on a .spacy file (character offsets)")
    p.add_argument("model", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--joint", action="store_true", help="load with spacy_zh_mtl.load_joint")
    p.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None,
                   help="zh_mtl_ner with (or without) int8 BiGRUs on CPU; default: as saved")
    p.set_defaults(func=evaluate)

    p = sub.add_parser("report", help="Tables, CSV/JSON, plot, misaligned-entity counts")
    common(p)
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    p.set_defaults(func=report)

    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
