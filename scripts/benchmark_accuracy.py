"""Accuracy benchmark: zh_mtl_ner ablations vs spaCy's built-in ner, equal budget.

Three stages, each resumable (finished outputs are kept and skipped):

  prepare  corpora -> .spacy (the data engineer's `prepare-corpus`), a pkuseg
           segmenter and a POS tagger trained on UD Chinese GSD, pre-annotated
           NER training/dev data (`preannotate`: words + tags + entities, entity
           boundaries win), and the tiny CPU transformer (`make-transformer`).
  run      the matrix: `python -m spacy train` per (dataset, setting, seed) with
           the same transformer, data, step budget and optimizer; then every
           model-last is scored on the held-out test file on exact character
           offsets (P/R/F, per type). One JSON per run under OUT/runs/.
  report   results.json / results.csv, markdown tables, a PNG plot of F1 per
           setting, and the count of gold entities spaCy's built-in ner cannot
           represent because a boundary cuts through a pkuseg token.

Usage (see docs/results.md for the exact commands used):

  python scripts/benchmark_accuracy.py prepare --out /tmp/bench
  python scripts/benchmark_accuracy.py run --out /tmp/bench --max-steps 300
  python scripts/benchmark_accuracy.py report --out /tmp/bench --docs docs

Every heavy step runs in a subprocess under `nice -n 10` (--nice to change).
"""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DEFAULT_DATA_DIR = Path(os.environ.get("ZH_MTL_DATA", ROOT.parent / "shared" / "data"))

# Asset files per corpus preset of `prepare-corpus` (spacy_zh_mtl/corpora/presets.py),
# relative to the shared data directory.
ASSETS = {
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

# dataset name -> (corpus preset, --labels map)
DATASETS = {
    "weibo": ("weibo", "none"),
    "weibo_merged": ("weibo", "merge"),
    "peoples_daily": ("peoples_daily", "none"),
    "cluener": ("cluener", "none"),
}
DATASET_TITLES = {
    "weibo": "Weibo NER, 8 labels",
    "weibo_merged": "Weibo NER, PER/LOC/ORG merged",
    "peoples_daily": "People's Daily small-sample (train example.test, eval example.dev)",
    "cluener": "CLUENER2020 (eval: official dev = test.json)",
}

# setting -> (config, overrides). The ladder NER -> +CWS -> +POS -> +consistency
# uses fixed weights, so each step adds one thing; full_dwa changes only the weighting.
SETTINGS: Dict[str, Tuple[str, Dict[str, str]]] = {
    "ner": ("cpu.cfg", {
        "components.ner.tasks": '["ner"]',
        "components.ner.consistency": "false",
        "components.ner.weighting": "fixed",
    }),
    "ner_cws": ("cpu.cfg", {
        "components.ner.tasks": '["ner","cws"]',
        "components.ner.consistency": "false",
        "components.ner.weighting": "fixed",
    }),
    "ner_cws_pos": ("cpu.cfg", {
        "components.ner.tasks": '["ner","cws","pos"]',
        "components.ner.consistency": "false",
        "components.ner.weighting": "fixed",
    }),
    "full_fixed": ("cpu.cfg", {
        "components.ner.tasks": '["ner","cws","pos"]',
        "components.ner.consistency": "true",
        "components.ner.weighting": "fixed",
    }),
    "full_dwa": ("cpu.cfg", {
        "components.ner.tasks": '["ner","cws","pos"]',
        "components.ner.consistency": "true",
        "components.ner.weighting": "dwa",
    }),
    "spacy_ner": ("cpu_spacy_ner.cfg", {}),
    # the two main cells again with the shipped grad_factor = 1.0 (see --mtl-grad-factor)
    "ner_gf1": ("cpu.cfg", {
        "components.ner.tasks": '["ner"]',
        "components.ner.consistency": "false",
        "components.ner.weighting": "fixed",
        "components.ner.model.grad_factor": "1.0",
    }),
    "full_dwa_gf1": ("cpu.cfg", {
        "components.ner.tasks": '["ner","cws","pos"]',
        "components.ner.consistency": "true",
        "components.ner.weighting": "dwa",
        "components.ner.model.grad_factor": "1.0",
    }),
}
SETTING_TITLES = {
    "ner": "zh_mtl_ner: NER only",
    "ner_cws": "zh_mtl_ner: NER+CWS",
    "ner_cws_pos": "zh_mtl_ner: NER+CWS+POS, no consistency",
    "full_fixed": "zh_mtl_ner: full (consistency), fixed weights",
    "full_dwa": "zh_mtl_ner: full (consistency), DWA",
    "spacy_ner": "spaCy built-in ner (same transformer)",
    "ner_gf1": "zh_mtl_ner: NER only, grad_factor 1 (shipped default)",
    "full_dwa_gf1": "zh_mtl_ner: full, DWA, grad_factor 1 (shipped default)",
}
ALL_SETTINGS = list(SETTINGS)
ABLATION_SETTINGS = ["ner", "ner_cws", "ner_cws_pos", "full_fixed", "full_dwa", "spacy_ner"]

# The matrix, in the order it runs (most important cells first): (dataset, setting, seeds).
MATRIX: List[Tuple[str, str, Sequence[int]]] = [
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
# Only with --with-gf1-cells: the two Weibo cells at grad_factor 1.0. The published
# matrix (docs/results.md) ran before commit 381ebd4, when zh_mtl_ner averaged its
# losses over characters, with --mtl-grad-factor 300 and these two cells.
GF1_CELLS: List[Tuple[str, str, Sequence[int]]] = [
    ("weibo", "ner_gf1", (0,)),
    ("weibo", "full_dwa_gf1", (0,)),
]


# Helpers ------------------------------------------------------------------


def log(message: str) -> None:
    print(time.strftime("[%H:%M:%S] ") + message, flush=True)


THREADS = {"n": 1}


def thread_env() -> Dict[str, str]:
    """torch/OpenMP threads for the subprocesses. On this shared 2-core machine
    more than one thread per process made training up to 50x slower (OpenMP
    spin-waiting when other jobs hold the cores), so the default is 1.
    """
    n = str(THREADS["n"])
    return dict(os.environ, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n)


def run_cmd(cmd: List[str], log_path: Optional[Path] = None, nice: int = 10) -> float:
    """Run a command (niced), tee its output to log_path; return wall seconds."""
    full = (["nice", "-n", str(nice)] if nice else []) + cmd
    log("$ " + " ".join(cmd))
    start = time.time()
    if log_path is None:
        subprocess.run(full, check=True, cwd=ROOT, env=thread_env())
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf8") as f:
            f.write("$ " + " ".join(cmd) + "\n")
            f.flush()
            proc = subprocess.run(full, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=thread_env())
        if proc.returncode != 0:
            tail = log_path.read_text(encoding="utf8")[-3000:]
            raise RuntimeError(f"Command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return time.time() - start


PY = [sys.executable, "-m"]


# prepare ------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    out: Path = args.out
    data = out / "data"
    if args.assets is not None:
        # the project's assets/ directory: assets/<preset>/<file as released>
        assets = args.assets
        for preset, files in ASSETS.items():
            for rel in files:
                if not (assets / preset / Path(rel).name).is_file():
                    sys.exit(f"Missing asset {assets / preset / Path(rel).name} (spacy project assets)")
    else:
        # link the shared raw data into OUT/assets/<preset>/
        assets = out / "assets"
        for preset, files in ASSETS.items():
            (assets / preset).mkdir(parents=True, exist_ok=True)
            for rel in files:
                src = args.data_dir / rel
                dest = assets / preset / Path(rel).name
                if not src.is_file():
                    sys.exit(f"Missing asset {src} (set --data-dir or --assets)")
                if not dest.exists():
                    dest.symlink_to(src)
    costs: Dict[str, float] = {}
    # 1. Corpora -> .spacy
    if not (data / "gsd" / "train.spacy").exists():
        costs["convert_gsd"] = run_cmd(
            PY + ["spacy_zh_mtl", "prepare-corpus", "gsd", str(assets / "gsd"), str(data / "gsd")],
            out / "logs" / "prepare_gsd.log", args.nice)
    for name, (preset, labels) in DATASETS.items():
        if not (data / name / "test.spacy").exists():
            costs[f"convert_{name}"] = run_cmd(
                PY + ["spacy_zh_mtl", "prepare-corpus", preset, str(assets / preset), str(data / name),
                      "--labels", labels, "--dev-fraction", "0.1", "--seed", "0"],
                out / "logs" / f"prepare_{name}.log", args.nice)
    # 2. pkuseg on GSD train
    pkuseg = out / "pkuseg"
    if not (pkuseg / "weights.npz").exists():
        costs["train_segmenter"] = run_cmd(
            PY + ["spacy_zh_mtl", "train-segmenter", str(data / "gsd" / "train.spacy"),
                  str(data / "gsd" / "dev.spacy"), str(pkuseg), "--n-iter", str(args.pkuseg_iter),
                  "--quiet", "--metrics", str(out / "pkuseg_metrics.json")],
            out / "logs" / "train_segmenter.log", args.nice)
    # 3. POS tagger for pre-annotation on GSD train
    tagger = out / "tagger" / "model-last"
    if not (tagger / "meta.json").exists():
        costs["train_tagger"] = run_cmd(
            PY + ["spacy", "train", str(CONFIGS / "preannotation_tagger.cfg"), "--output", str(out / "tagger"),
                  "--paths.train", str(data / "gsd" / "train.spacy"),
                  "--paths.dev", str(data / "gsd" / "dev.spacy"),
                  "--training.max_steps", str(args.tagger_steps), "--training.eval_frequency", "500"],
            out / "logs" / "train_tagger.log", args.nice)
    # 4. Pre-annotate NER train and dev (words + tags + entities)
    for name in DATASETS:
        for split in ("train", "dev"):
            dest = data / name / f"{split}.pre.spacy"
            if not dest.exists():
                costs[f"preannotate_{name}_{split}"] = run_cmd(
                    PY + ["spacy_zh_mtl", "preannotate", str(data / name / f"{split}.spacy"), str(dest),
                          "--segmenter", str(pkuseg), "--tagger", str(tagger), "--user-dict", "default",
                          "--stats", str(out / "logs" / f"preannotate_{name}_{split}.json")],
                    out / "logs" / f"preannotate_{name}_{split}.log", args.nice)
    # 5. The tiny CPU transformer, vocabulary from all NER texts
    transformer = out / "transformer"
    if not (transformer / "config.json").exists():
        corpora = [str(data / name / f"{split}.spacy") for name in ("weibo", "peoples_daily", "cluener")
                   for split in ("train", "dev", "test")]
        costs["make_transformer"] = run_cmd(
            PY + ["spacy_zh_mtl", "make-transformer", str(transformer), *corpora,
                  "--hidden-size", str(args.hidden_size), "--layers", str(args.layers),
                  "--heads", "2", "--intermediate-size", str(2 * args.hidden_size), "--seed", "0"],
            out / "logs" / "make_transformer.log", args.nice)
    costs_path = out / "prepare_costs.json"
    old = json.loads(costs_path.read_text()) if costs_path.exists() else {}
    old.update({k: round(v, 1) for k, v in costs.items()})
    costs_path.write_text(json.dumps(old, indent=2))
    log(f"prepare done: {out}")


# run ----------------------------------------------------------------------


def run_id(dataset: str, setting: str, seed: int) -> str:
    return f"{dataset}__{setting}__s{seed}"


def planned_runs(args: argparse.Namespace) -> List[Tuple[str, str, int]]:
    runs = []
    for dataset, setting, seeds in MATRIX + (GF1_CELLS if args.with_gf1_cells else []):
        if args.datasets and dataset not in args.datasets:
            continue
        if args.settings and setting not in args.settings:
            continue
        for seed in seeds:
            if args.seeds is not None and seed not in args.seeds:
                continue
            runs.append((dataset, setting, seed))
    return runs[: args.limit] if args.limit else runs


def train_overrides(args: argparse.Namespace, dataset: str, setting: str, seed: int) -> Dict[str, str]:
    data = args.out / "data" / dataset
    warmup = max(1, int(args.max_steps * args.warmup_fraction))
    overrides = {
        "paths.train": str(data / "train.pre.spacy"),
        "paths.dev": str(data / "dev.pre.spacy"),
        "paths.transformer": str(args.out / "transformer"),
        "paths.pkuseg_model": str(args.out / "pkuseg"),
        "system.seed": str(seed),
        "training.max_steps": str(args.max_steps),
        # evaluate on dev only at the end: model-last is what gets scored
        "training.eval_frequency": str(args.max_steps),
        "training.optimizer.learn_rate.warmup_steps": str(warmup),
        "corpora.dev.limit": str(args.dev_limit),
    }
    if SETTINGS[setting][0] == "cpu.cfg" and args.mtl_grad_factor is not None:
        # Before commit 381ebd4 zh_mtl_ner averaged its loss over characters while
        # spaCy's tagger sums its loss, so with grad_factor 1 the shared transformer
        # was trained almost only by the tagger; 300 restored a sum-like scale.
        # Since 381ebd4 the losses are summed: leave the config's value.
        overrides["components.ner.model.grad_factor"] = str(args.mtl_grad_factor)
    overrides.update(SETTINGS[setting][1])
    return overrides


def run_matrix(args: argparse.Namespace) -> None:
    runs_dir = args.out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    todo = planned_runs(args)
    log(f"{len(todo)} runs planned, max_steps={args.max_steps}")
    if args.dry_run:
        for run in todo:
            print("  " + run_id(*run))
        return
    for i, (dataset, setting, seed) in enumerate(todo, 1):
        rid = run_id(dataset, setting, seed)
        result_path = runs_dir / f"{rid}.json"
        if result_path.exists() and not args.force:
            log(f"[{i}/{len(todo)}] {rid}: done already")
            continue
        log(f"[{i}/{len(todo)}] {rid}")
        model_dir = args.out / "models" / rid
        if model_dir.exists():
            shutil.rmtree(model_dir)
        config = CONFIGS / SETTINGS[setting][0]
        overrides = train_overrides(args, dataset, setting, seed)
        cmd = PY + ["spacy", "train", str(config), "--output", str(model_dir)]
        for key, value in overrides.items():
            cmd += [f"--{key}", value]
        load_before = os.getloadavg()[0]
        train_seconds = run_cmd(cmd, args.out / "logs" / f"{rid}.train.log", args.nice)
        steps = last_logged_step(args.out / "logs" / f"{rid}.train.log")
        eval_cmd = [sys.executable, str(Path(__file__).resolve()), "evaluate",
                    str(model_dir / "model-last"), str(args.out / "data" / dataset / "test.spacy"),
                    "--output", str(runs_dir / f"{rid}.eval.json")]
        eval_seconds = run_cmd(eval_cmd, args.out / "logs" / f"{rid}.eval.log", args.nice)
        scores = json.loads((runs_dir / f"{rid}.eval.json").read_text())
        result = {
            "run": rid, "dataset": dataset, "setting": setting, "seed": seed,
            "config": SETTINGS[setting][0], "overrides": overrides,
            "max_steps": args.max_steps, "steps": steps, "threads": args.threads,
            "code_commit": git_commit(),
            "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1),
            "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2),
            **scores,
        }
        result_path.write_text(json.dumps(result, indent=2))
        log(f"    F={scores['f']:.4f} P={scores['p']:.4f} R={scores['r']:.4f} "
            f"train {train_seconds:.0f}s, eval {eval_seconds:.0f}s")
        if not args.keep_models:
            # keep only model-last's meta; the weights are not needed for the tables
            shutil.rmtree(model_dir / "model-best", ignore_errors=True)


def git_commit() -> Optional[str]:
    """The repository's HEAD commit (and '+dirty' with uncommitted changes), for the record."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "spacy_zh_mtl", "configs"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def last_logged_step(log_path: Path) -> Optional[int]:
    """The last step in spaCy's console training table (E  # ...)."""
    step = None
    for line in log_path.read_text(encoding="utf8").splitlines():
        match = re.match(r"^\s*(\d+)\s+(\d+)\s+[\d.]", line)
        if match:
            step = int(match.group(2))
    return step


# evaluate (a subprocess per run) --------------------------------------------


def char_prf(golds: Iterable[set], preds: Iterable[set]) -> Dict[str, Any]:
    """Micro P/R/F over (start_char, end_char, label) triples and per label."""
    tp = fp = fn = 0
    per: Dict[str, List[int]] = defaultdict(lambda: [0, 0, 0])
    for gold, pred in zip(golds, preds):
        for span in pred:
            if span in gold:
                tp += 1
                per[span[2]][0] += 1
            else:
                fp += 1
                per[span[2]][1] += 1
        for span in gold - pred:
            fn += 1
            per[span[2]][2] += 1

    def prf(t: int, p: int, n: int) -> Dict[str, float]:
        precision = t / (t + p) if t + p else 0.0
        recall = t / (t + n) if t + n else 0.0
        f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"p": precision, "r": recall, "f": f, "tp": t, "fp": p, "fn": n}

    result = prf(tp, fp, fn)
    result["per_type"] = {label: prf(*counts) for label, counts in sorted(per.items())}
    return result


def evaluate(args: argparse.Namespace) -> None:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(args.model)
    gold_docs = list(DocBin().from_disk(args.data).get_docs(nlp.vocab))
    texts = [doc.text for doc in gold_docs]
    start = time.time()
    pred_docs = list(nlp.pipe(texts, batch_size=64))
    seconds = time.time() - start
    golds = [{(e.start_char, e.end_char, e.label_) for e in doc.ents} for doc in gold_docs]
    preds = [{(e.start_char, e.end_char, e.label_) for e in doc.ents} for doc in pred_docs]
    scores = char_prf(golds, preds)
    # Gold entities the pipeline's tokens cannot represent (a boundary inside a token).
    unrepresentable = sum(
        1 for doc, gold in zip((nlp.make_doc(t) for t in texts), golds)
        for s, e, _ in gold if doc.char_span(s, e) is None
    )
    scores.update({
        "n_docs": len(texts), "n_chars": sum(map(len, texts)), "n_gold": sum(map(len, golds)),
        "predict_seconds": round(seconds, 2), "gold_not_token_aligned": unrepresentable,
    })
    Path(args.output).write_text(json.dumps(scores, indent=2))
    print(json.dumps({k: v for k, v in scores.items() if k != "per_type"}))


# report -------------------------------------------------------------------


def misaligned_entities(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    """Per dataset: gold entities whose boundary falls inside a pkuseg token,
    on the eval (test) data and on the pre-annotated training data, with the
    pipeline's tokenizer (trained pkuseg + spaCy's default user dictionary).
    """
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    from spacy.util import get_words_and_spaces

    from spacy_zh_mtl.corpora.segmenter import load_pkuseg

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model=str(args.out / "pkuseg"), pkuseg_user_dict="default")
    # the same pkuseg model without spaCy's default user dictionary, for comparison
    model_only = load_pkuseg(args.out / "pkuseg", user_dict=None)

    def boundaries(text: str) -> set:
        words, spaces = get_words_and_spaces(model_only.cut(text), text)
        cuts, offset = {0}, 0
        for word, space in zip(words, spaces):
            offset += len(word)
            cuts.add(offset)
            offset += int(space)
            cuts.add(offset)
        return cuts

    out = {}
    for dataset in DATASETS:
        entry: Dict[str, Any] = {}
        for split, fname in (("test", "test.spacy"), ("train", "train.pre.spacy")):
            path = args.out / "data" / dataset / fname
            if not path.exists():
                continue
            total = lost = lost_model_only = 0
            by_label: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
            examples = []
            for gold in DocBin().from_disk(path).get_docs(nlp.vocab):
                doc = nlp.make_doc(gold.text)
                cuts = boundaries(gold.text)
                lost_model_only += sum(
                    1 for ent in gold.ents if ent.start_char not in cuts or ent.end_char not in cuts)
                for ent in gold.ents:
                    total += 1
                    by_label[ent.label_][0] += 1
                    if doc.char_span(ent.start_char, ent.end_char) is None:
                        lost += 1
                        by_label[ent.label_][1] += 1
                if split == "train":
                    examples.append(Example(doc, gold))
            entry[split] = {
                "entities": total, "not_token_aligned": lost,
                "not_token_aligned_without_user_dict": lost_model_only,
                "share": lost / total if total else 0.0,
                "by_label": {k: {"entities": v[0], "not_token_aligned": v[1]} for k, v in sorted(by_label.items())},
            }
            if split == "train":
                # what spaCy's ner actually sees: BILUO tags, None (missing) where
                # the gold entity cannot be aligned to the predicted tokens (W030)
                missing = sum(tag in (None, "-") for eg in examples for tag in eg.get_aligned_ner())
                entry[split]["tokens_with_missing_ner_tag"] = missing
        out[dataset] = entry
    return out


def load_results(out: Path) -> List[Dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*__s*.json"))
            if not p.name.endswith(".eval.json")]


def aggregate(results: List[Dict[str, Any]]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    cells: Dict[Tuple[str, str], List[Dict[str, Any]]] = defaultdict(list)
    for r in results:
        cells[(r["dataset"], r["setting"])].append(r)
    agg = {}
    for key, runs in cells.items():
        runs.sort(key=lambda r: r["seed"])

        def stat(values: List[float]) -> Tuple[float, Optional[float]]:
            return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)

        labels = sorted({lab for r in runs for lab in r["per_type"]})
        agg[key] = {
            "n": len(runs), "seeds": [r["seed"] for r in runs],
            "p": stat([r["p"] for r in runs]), "r": stat([r["r"] for r in runs]),
            "f": stat([r["f"] for r in runs]),
            "per_type_f": {lab: stat([r["per_type"].get(lab, {"f": 0.0})["f"] for r in runs]) for lab in labels},
            "train_seconds": stat([r["train_seconds"] for r in runs]),
            "eval_seconds": stat([r["eval_seconds"] for r in runs]),
            "steps": sorted({r["steps"] for r in runs if r["steps"] is not None}),
            "max_steps": sorted({r["max_steps"] for r in runs}),
        }
    return agg


def fmt(value: Tuple[float, Optional[float]], scale: float = 100.0, digits: int = 2) -> str:
    mean, std = value
    text = f"{mean * scale:.{digits}f}"
    return text + (f" ± {std * scale:.{digits}f}" if std is not None else "")


def report(args: argparse.Namespace) -> None:
    out: Path = args.out
    results = load_results(out)
    if not results:
        sys.exit(f"No results under {out / 'runs'}")
    agg = aggregate(results)
    docs: Path = args.docs
    docs.mkdir(parents=True, exist_ok=True)
    bench = out / "report"
    bench.mkdir(parents=True, exist_ok=True)
    # raw per-run results
    (bench / "results.json").write_text(json.dumps(results, indent=2))
    with (bench / "results.csv").open("w", newline="", encoding="utf8") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "setting", "seed", "p", "r", "f", "steps", "max_steps",
                         "train_seconds", "eval_seconds", "per_type_f"])
        for r in results:
            writer.writerow([r["dataset"], r["setting"], r["seed"], f"{r['p']:.4f}", f"{r['r']:.4f}",
                             f"{r['f']:.4f}", r["steps"], r["max_steps"], r["train_seconds"],
                             r["eval_seconds"],
                             ";".join(f"{k}={v['f']:.4f}" for k, v in r["per_type"].items())])
    lines: List[str] = []
    for dataset in DATASETS:
        cells = [(s, agg[(dataset, s)]) for s in ALL_SETTINGS if (dataset, s) in agg]
        if not cells:
            continue
        lines += [f"#### {DATASET_TITLES[dataset]}", "",
                  "| setting | seeds | P | R | F | steps | train s/run | eval s/run |",
                  "|---|---|---|---|---|---|---|---|"]
        for setting, a in cells:
            lines.append(
                f"| {SETTING_TITLES[setting]} | {','.join(map(str, a['seeds']))} | {fmt(a['p'])} | "
                f"{fmt(a['r'])} | **{fmt(a['f'])}** | {'/'.join(map(str, a['steps']))} | "
                f"{fmt(a['train_seconds'], 1, 0)} | {fmt(a['eval_seconds'], 1, 0)} |")
        labels = sorted({lab for _, a in cells for lab in a["per_type_f"]})
        lines += ["", "Per-type F:", "",
                  "| setting | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for setting, a in cells:
            lines.append(f"| {setting} | " + " | ".join(
                fmt(a["per_type_f"][lab], digits=1) if lab in a["per_type_f"] else "-" for lab in labels) + " |")
        lines.append("")
    mis = misaligned_entities(args)
    (bench / "misaligned.json").write_text(json.dumps(mis, indent=2))
    lines += ["#### Gold entities spaCy's built-in ner cannot represent (a boundary inside a pkuseg token)", "",
              "| dataset | eval entities | not token-aligned | share | (pkuseg without spaCy's default user dict) | train entities | not token-aligned | train tokens with missing NER tag |",
              "|---|---|---|---|---|---|---|---|"]
    for dataset, entry in mis.items():
        te, tr = entry.get("test", {}), entry.get("train", {})
        lines.append(
            f"| {dataset} | {te.get('entities', '-')} | {te.get('not_token_aligned', '-')} | "
            f"{te.get('share', 0) * 100:.1f} % | {te.get('not_token_aligned_without_user_dict', '-')} | "
            f"{tr.get('entities', '-')} | {tr.get('not_token_aligned', '-')} | "
            f"{tr.get('tokens_with_missing_ner_tag', '-')} |")
    lines.append("")
    (bench / "tables.md").write_text("\n".join(lines), encoding="utf8")
    plot(agg, docs / "accuracy_f1.png")
    print("\n".join(lines))
    log(f"wrote {bench}/(results.json, results.csv, tables.md, misaligned.json) and {docs / 'accuracy_f1.png'}")


def plot(agg: Dict[Tuple[str, str], Dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install matplotlib): no plot")
        return
    datasets = [d for d in DATASETS if any((d, s) in agg for s in ALL_SETTINGS)]
    settings = [s for s in ALL_SETTINGS if any((d, s) in agg for d in datasets)]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(settings)
    colors = plt.get_cmap("tab10")
    for j, setting in enumerate(settings):
        xs, ys, errs = [], [], []
        for i, dataset in enumerate(datasets):
            a = agg.get((dataset, setting))
            if a is None:
                continue
            xs.append(i + (j - (len(settings) - 1) / 2) * width)
            ys.append(a["f"][0] * 100)
            errs.append((a["f"][1] or 0.0) * 100)
        bars = ax.bar(xs, ys, width, yerr=errs, capsize=2, label=SETTING_TITLES[setting], color=colors(j))
        for x, y in zip(xs, ys):
            ax.text(x, y + 0.5, f"{y:.1f}", ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels([DATASET_TITLES[d].split(" (")[0] for d in datasets], fontsize=8)
    ax.set_ylabel("entity F1 (%), exact character offsets")
    steps = sorted({s for a in agg.values() for s in a["max_steps"]})
    ax.set_title(f"Test F1 per setting, tiny CPU transformer, {'/'.join(map(str, steps))} steps "
                 "(error bars: std over 3 seeds where run)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, max(a["f"][0] for a in agg.values()) * 100 + 12)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# CLI ----------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", type=Path, default=Path("/tmp/bench"), help="Scratch directory for data, models, logs")
        p.add_argument("--nice", type=int, default=10, help="nice level of the subprocesses (0: not niced)")
        p.add_argument("--threads", type=int, default=1, help="OMP/MKL threads of the subprocesses")

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
    p.add_argument("--max-steps", type=int, default=1000)
    p.add_argument("--mtl-grad-factor", type=float, default=None,
                   help="Override components.ner.model.grad_factor of the zh_mtl_ner settings (default: the "
                        "config's). The published matrix used 300 with the pre-381ebd4 averaged losses")
    p.add_argument("--with-gf1-cells", action="store_true",
                   help="Also run the two Weibo cells with grad_factor 1.0 (see GF1_CELLS)")
    p.add_argument("--warmup-fraction", type=float, default=0.1)
    p.add_argument("--dev-limit", type=int, default=200, help="Dev docs for spaCy's end-of-training eval (0: all)")
    p.add_argument("--datasets", nargs="*", choices=list(DATASETS))
    p.add_argument("--settings", nargs="*", choices=ALL_SETTINGS)
    p.add_argument("--seeds", nargs="*", type=int)
    p.add_argument("--limit", type=int, default=0, help="Run only the first N planned runs")
    p.add_argument("--force", action="store_true", help="Re-run finished runs")
    p.add_argument("--dry-run", action="store_true", help="List the planned runs only")
    p.add_argument("--keep-models", action="store_true", help="Keep model-best too")
    p.set_defaults(func=run_matrix)

    p = sub.add_parser("evaluate", help="Score one pipeline on a .spacy file (character offsets)")
    p.add_argument("model", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=evaluate)

    p = sub.add_parser("report", help="Tables, CSV/JSON, plot, misaligned-entity counts")
    common(p)
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    p.set_defaults(func=report)

    args = parser.parse_args(argv)
    THREADS["n"] = getattr(args, "threads", 1)
    args.func(args)


if __name__ == "__main__":
    main()
