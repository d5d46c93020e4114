"""Speed and memory: a zh_mtl_ner pipeline vs the same transformer + tagger with
spaCy's built-in `ner`, on the same texts, in one session.

  python scripts/benchmark_speed.py all --mtl MTL_MODEL --ref REF_MODEL \
      --data test.spacy --out /tmp/bench/speed --docs docs

does, each measurement in its own subprocess (so ru_maxrss is that pipeline's
peak memory), alternating the two pipelines:

1. `python -m spacy benchmark speed` on both (its words/s counts tokens after
   processing, so zh_mtl_ner's entity splits add a few "words"; the inflation
   is reported);
2. an own timing loop: nlp.pipe over the texts after one warm-up pass,
   words = pkuseg tokens before any component ran (the same count for both),
   plus characters/s; median of --repeats alternating runs; peak RSS;
3. a breakdown of the time per component and, inside zh_mtl_ner, per stage
   (timing hooks: wordpieces_to_chars with char_alignment, BiGRU head, CRF
   Viterbi, tag decoding, token splitting), and a cProfile listing;
4. time vs text length: docs of 100, 1,000, 5,000 and 20,000 characters cut
   from the same texts.

Outputs: OUT/speed.json (everything), OUT/speed_tables.md (the markdown tables
of docs/results.md), OUT/cprofile_*.txt, DOCS/speed_length.png. Subprocesses run under `nice -n 10` (--nice).
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
LENGTHS = (100, 1000, 5000, 20000)


def log(message: str) -> None:
    print(time.strftime("[%H:%M:%S] ") + message, flush=True)


def rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Timing hooks ---------------------------------------------------------------


class Timers:
    def __init__(self) -> None:
        self.seconds: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)

    def wrap(self, key: str, func: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - start
                self.calls[key] += 1

        timed.__wrapped__ = func  # type: ignore[attr-defined]
        return timed


def install_mtl_hooks(nlp: Any, timers: Timers) -> bool:
    """Time the stages inside every zh_mtl_ner component. Returns whether one was found."""
    from spacy_zh_mtl.models import char_features
    from spacy_zh_mtl.models.multitask_head import MultitaskCrfHead
    from spacy_zh_mtl.pipeline import char_labels, zh_mtl_ner

    found = False
    for _, proc in nlp.pipeline:
        if not isinstance(proc, zh_mtl_ner.ZhMtlNer):
            continue
        found = True
        model = proc.model
        # thinc Models call self._func(model, X, is_train): wrap per instance
        cf = model.get_ref("char_features")
        cf._func = timers.wrap("ner: wordpieces_to_chars (total)", cf._func)
        head = model.get_ref("head")
        head._func = timers.wrap("ner: head (pad + BiGRU + emissions, thinc wrapper)", head._func)
        proc.predict = timers.wrap("ner: predict (total)", proc.predict)
        proc.set_annotations = timers.wrap("ner: set_annotations (total)", proc.set_annotations)
    if found:
        char_features.char_alignment = timers.wrap(
            "ner:   char_alignment (spacy-alignments, numpy)", char_features.char_alignment)
        char_features.apply_alignment = timers.wrap(
            "ner:   apply_alignment (gather rows)", char_features.apply_alignment)
        MultitaskCrfHead.forward = timers.wrap(
            "ner:   BiGRU + linear emissions (torch forward)", MultitaskCrfHead.forward)
        zh_mtl_ner.viterbi_decode = timers.wrap("ner:   CRF Viterbi (models/viterbi.py)", zh_mtl_ner.viterbi_decode)
        char_labels.EntityTagScheme.decode = timers.wrap(
            "ner:   tag ids -> spans (EntityTagScheme.decode)", char_labels.EntityTagScheme.decode)
        zh_mtl_ner.set_char_entities = timers.wrap(
            "ner:   token splitting + set_ents (entity_tokens.py)", zh_mtl_ner.set_char_entities)
    return found


def use_kernels_from(directory: Path) -> None:
    """Swap in `viterbi_decode` and `char_alignment` from other versions of
    models/viterbi.py and models/char_features.py (e.g. `git show REV:...`),
    to measure an optimisation inside the same pipeline (A/B).
    """
    import importlib.util

    from spacy_zh_mtl.models import char_features
    from spacy_zh_mtl.pipeline import zh_mtl_ner

    def load(name: str) -> Any:
        spec = importlib.util.spec_from_file_location(f"spacy_zh_mtl.models._ab_{name}", directory / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    zh_mtl_ner.viterbi_decode = load("viterbi").viterbi_decode
    char_features.char_alignment = load("char_features").char_alignment


# measure (one subprocess) -----------------------------------------------------


def read_texts(path: Path) -> List[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf8").splitlines() if line]


def measure(args: argparse.Namespace) -> None:
    import spacy
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.kernels:
        use_kernels_from(args.kernels)
    rss_start = rss_mb()
    t0 = time.perf_counter()
    nlp = spacy.load(args.model)
    load_seconds = time.perf_counter() - t0
    rss_loaded = rss_mb()
    texts = read_texts(args.texts)
    n_chars = sum(map(len, texts))
    n_words = sum(len(nlp.make_doc(t)) for t in texts)
    result: Dict[str, Any] = {
        "model": str(args.model), "pipeline": nlp.pipe_names,
        "ner_factory": nlp.get_pipe_meta("ner").factory if "ner" in nlp.pipe_names else None,
        "texts": str(args.texts), "n_docs": len(texts), "n_chars": n_chars, "n_words": n_words,
        "batch_size": args.batch_size, "torch_threads": torch.get_num_threads(),
        "load_seconds": round(load_seconds, 2),
        "rss_start_mb": round(rss_start, 1), "rss_loaded_mb": round(rss_loaded, 1),
    }
    # warm-up pass
    for _ in nlp.pipe(texts[: max(1, min(len(texts), args.warmup_docs))], batch_size=args.batch_size):
        pass
    if args.mode == "pipe":
        start = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=args.batch_size))
        seconds = time.perf_counter() - start
        result.update({
            "seconds": seconds, "words_per_second": n_words / seconds, "chars_per_second": n_chars / seconds,
            "n_tokens_after": sum(len(d) for d in docs), "n_ents": sum(len(d.ents) for d in docs),
        })
    elif args.mode == "breakdown":
        timers = Timers()
        has_mtl = install_mtl_hooks(nlp, timers)
        start = time.perf_counter()
        t = time.perf_counter()
        docs = [nlp.make_doc(text) for text in texts]
        timers.seconds["tokenizer (pkuseg)"] += time.perf_counter() - t
        for name, proc in nlp.pipeline:
            t = time.perf_counter()
            docs = list(proc.pipe(docs, batch_size=args.batch_size))
            timers.seconds[f"component {name}"] += time.perf_counter() - t
        seconds = time.perf_counter() - start
        result.update({
            "seconds": seconds, "words_per_second": n_words / seconds, "chars_per_second": n_chars / seconds,
            "stages": {k: round(v, 4) for k, v in timers.seconds.items()},
            "stage_calls": dict(timers.calls), "has_zh_mtl_ner": has_mtl,
            "n_tokens_after": sum(len(d) for d in docs), "n_ents": sum(len(d.ents) for d in docs),
        })
    elif args.mode == "cprofile":
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        docs = list(nlp.pipe(texts, batch_size=args.batch_size))
        profiler.disable()
        seconds = time.perf_counter() - start
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        Path(args.profile_output).write_text(stream.getvalue(), encoding="utf8")
        result.update({"seconds": seconds, "profile": str(args.profile_output)})
    result["rss_peak_mb"] = round(peak_rss_mb(), 1)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}))


# orchestration ------------------------------------------------------------------


def thread_env(threads: int) -> Dict[str, str]:
    env = dict(os.environ, TQDM_DISABLE="1")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def subprocess_json(cmd: List[str], output: Path, nice: int, env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    full = (["nice", "-n", str(nice)] if nice else []) + cmd
    proc = subprocess.run(full, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(output.read_text())


def run_measure(args: argparse.Namespace, model: Path, texts: Path, mode: str, tag: str, **extra: Any) -> Dict[str, Any]:
    output = args.out / "raw" / f"{tag}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "measure", str(model), str(texts),
           "--mode", mode, "--output", str(output), "--batch-size", str(args.batch_size),
           "--warmup-docs", str(extra.get("warmup_docs", args.warmup_docs))]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if mode == "cprofile":
        cmd += ["--profile-output", str(args.out / f"cprofile_{tag}.txt")]
    if extra.get("kernels"):
        cmd += ["--kernels", str(extra["kernels"])]
    result = subprocess_json(cmd, output, args.nice, thread_env(args.threads))
    log(f"{tag}: {result.get('words_per_second', 0):.0f} words/s, "
        f"{result.get('chars_per_second', 0):.0f} chars/s, peak {result['rss_peak_mb']:.0f} MiB")
    return result


def spacy_benchmark_speed(args: argparse.Namespace, model: Path, data: Path) -> Dict[str, Any]:
    cmd = [sys.executable, "-m", "spacy", "benchmark", "speed", str(model), str(data),
           "--batch-size", str(args.batch_size), "--no-shuffle", "--batches", str(args.spacy_batches),
           "--warmup", "1"]
    full = (["nice", "-n", str(args.nice)] if args.nice else []) + cmd
    log("$ " + " ".join(cmd))
    env = thread_env(args.threads)
    start = time.time()
    proc = subprocess.run(full, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.time() - start
    out = proc.stdout + proc.stderr
    match = re.search(r"Mean: ([\d.]+) words/s \(95% CI: ([-\d.]+) \+([\d.]+)\)", out)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"spacy benchmark speed failed:\n{out[-3000:]}")
    mean, low, high = (float(g) for g in match.groups())
    log(f"  spacy benchmark speed: {mean:.1f} words/s (95% CI {low:+.1f} +{high:.1f})")
    return {"command": " ".join(cmd), "words_per_second": mean, "ci_low": low, "ci_high": high,
            "wall_seconds": round(seconds, 1), "output_tail": out[-600:]}


def write_texts(path: Path, texts: List[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf8")
    return path


def length_texts(texts: List[str], length: int, total_chars: int) -> List[str]:
    """Docs of exactly `length` characters cut from the concatenated texts."""
    joined = "".join(texts)
    n_docs = max(2, total_chars // length)
    while len(joined) < n_docs * length:
        joined += joined
    return [joined[i * length:(i + 1) * length] for i in range(n_docs)]


def run_all(args: argparse.Namespace) -> None:
    import spacy
    from spacy.tokens import DocBin

    args.out.mkdir(parents=True, exist_ok=True)
    vocab = spacy.blank("zh").vocab
    all_texts = [d.text for d in DocBin().from_disk(args.data).get_docs(vocab)]
    texts = all_texts[: args.n_docs] if args.n_docs else all_texts
    # the same docs as a .spacy file for `spacy benchmark speed`
    bench_spacy = args.out / "bench_docs.spacy"
    DocBin(docs=[spacy.blank("zh").make_doc(t) for t in texts]).to_disk(bench_spacy)
    texts_path = write_texts(args.out / "texts.jsonl", texts)
    pipelines = {"zh_mtl_ner": args.mtl, "spacy_ner": args.ref}
    previous = args.out / "speed.json"
    # sections not re-run this time are kept from the last run
    results: Dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    results.update({
        "machine": machine_info(), "data": str(args.data), "n_docs": len(texts),
        "n_chars": sum(map(len, texts)), "batch_size": args.batch_size, "threads": args.threads or "torch default",
        "models": {k: str(v) for k, v in pipelines.items()},
    })
    if "spacy" in args.steps:
        results["spacy_benchmark_speed"] = {name: [] for name in pipelines}
        for rep in range(args.spacy_repeats):
            for name, model in pipelines.items():
                results["spacy_benchmark_speed"][name].append(spacy_benchmark_speed(args, model, bench_spacy))
        save(args, results)
    if "pipe" in args.steps:
        results["pipe"] = {name: [] for name in pipelines}
        for rep in range(args.repeats):
            for name, model in pipelines.items():
                results["pipe"][name].append(run_measure(args, model, texts_path, "pipe", f"pipe_{name}_{rep}"))
        save(args, results)
    if "breakdown" in args.steps:
        results["breakdown"] = {}
        for name, model in pipelines.items():
            results["breakdown"][name] = run_measure(args, model, texts_path, "breakdown", f"breakdown_{name}")
        save(args, results)
    if "ab" in args.steps:
        # the same zh_mtl_ner pipeline with the kernels of an older commit
        base = args.out / f"kernels_{args.ab_rev}"
        base.mkdir(parents=True, exist_ok=True)
        for name in ("viterbi", "char_features"):
            source = subprocess.run(["git", "show", f"{args.ab_rev}:spacy_zh_mtl/models/{name}.py"],
                                    cwd=ROOT, capture_output=True, text=True, check=True).stdout
            (base / f"{name}.py").write_text(source, encoding="utf8")
        results["ab"] = {"baseline_rev": args.ab_rev, "runs": {"baseline": [], "current": []}}
        ab_sets = {"texts": texts_path}
        for length in args.ab_lengths:
            ab_sets[f"len{length}"] = write_texts(args.out / f"texts_ab_{length}.jsonl",
                                                  length_texts(all_texts, length, args.length_chars))
        for set_name, path in ab_sets.items():
            for rep in range(args.repeats):
                for label, kernels in (("baseline", base), ("current", None)):
                    r = run_measure(args, args.mtl, path, "breakdown", f"ab_{set_name}_{label}_{rep}",
                                    kernels=kernels, warmup_docs=20)
                    r["set"] = set_name
                    results["ab"]["runs"][label].append(r)
        save(args, results)
    if "cprofile" in args.steps:
        run_measure(args, args.mtl, texts_path, "cprofile", "zh_mtl_ner")
    if "length" in args.steps:
        results["length"] = {}
        for length in args.lengths:
            ltexts = write_texts(args.out / f"texts_{length}.jsonl", length_texts(all_texts, length, args.length_chars))
            runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name in pipelines}
            for rep in range(args.repeats):
                for name, model in pipelines.items():
                    runs[name].append(run_measure(args, model, ltexts, "breakdown",
                                                  f"length{length}_{name}_{rep}", warmup_docs=2))
            # the run with the median time stands for the condition; all times are kept
            results["length"][str(length)] = {
                name: dict(sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2],
                           all_seconds=[round(r["seconds"], 3) for r in rs])
                for name, rs in runs.items()
            }
        save(args, results)
    write_report(args, results)


def save(args: argparse.Namespace, results: Dict[str, Any]) -> None:
    (args.out / "speed.json").write_text(json.dumps(results, indent=2))


def machine_info() -> Dict[str, Any]:
    import platform

    import torch

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads_default": torch.get_num_threads(),
            "load_avg_at_start": os.getloadavg()}


def median(values: List[float]) -> float:
    return statistics.median(values)


def write_report(args: argparse.Namespace, results: Dict[str, Any]) -> None:
    lines: List[str] = []
    names = ("zh_mtl_ner", "spacy_ner")
    if "spacy_benchmark_speed" in results:
        sbs = results["spacy_benchmark_speed"]
        wps = {n: median([r["words_per_second"] for r in sbs[n]]) for n in names}
        lines += ["#### `python -m spacy benchmark speed`", "",
                  "| pipeline | words/s (median of runs; each: mean, 95 % CI) |", "|---|---|"]
        for n in names:
            runs = "; ".join(f"{r['words_per_second']:.0f} ({r['ci_low']:+.0f}/+{r['ci_high']:.0f})" for r in sbs[n])
            lines.append(f"| {n} | **{wps[n]:.0f}** — {runs} |")
        lines += ["", f"Ratio zh_mtl_ner / spacy_ner: **{wps['zh_mtl_ner'] / wps['spacy_ner']:.3f}**", ""]
        results["summary_spacy_ratio"] = wps["zh_mtl_ner"] / wps["spacy_ner"]
    if "pipe" in results:
        pipe = results["pipe"]
        lines += ["#### Own timing loop (`nlp.pipe`, words = pkuseg tokens before processing)", "",
                  "| pipeline | words/s | chars/s | s per pass (runs) | tokens after / before | peak RSS MiB | RSS after load MiB |",
                  "|---|---|---|---|---|---|---|"]
        summary = {}
        for n in names:
            runs = pipe[n]
            w = median([r["words_per_second"] for r in runs])
            c = median([r["chars_per_second"] for r in runs])
            summary[n] = w
            lines.append(
                f"| {n} | **{w:.0f}** | {c:.0f} | {', '.join('%.2f' % r['seconds'] for r in runs)} | "
                f"{runs[0]['n_tokens_after'] / runs[0]['n_words']:.4f} | "
                f"{max(r['rss_peak_mb'] for r in runs):.0f} | {median([r['rss_loaded_mb'] for r in runs]):.0f} |")
        ratio = summary["zh_mtl_ner"] / summary["spacy_ner"]
        results["summary_pipe_ratio"] = ratio
        lines += ["", f"Ratio zh_mtl_ner / spacy_ner words/s: **{ratio:.3f}** (target ≥ 0.85)", ""]
    if "breakdown" in results:
        lines += ["#### Where the time goes (timing hooks, one pass)", "",
                  "| stage | zh_mtl_ner pipeline s | % | spacy_ner pipeline s | % |", "|---|---|---|---|---|"]
        bd = results["breakdown"]
        keys = list(dict.fromkeys(list(bd["zh_mtl_ner"]["stages"]) + list(bd["spacy_ner"]["stages"])))
        for key in keys:
            cells = []
            for n in names:
                s = bd[n]["stages"].get(key)
                cells += ["-", "-"] if s is None else [f"{s:.3f}", f"{100 * s / bd[n]['seconds']:.1f}"]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append(f"| **pipeline total** | {bd['zh_mtl_ner']['seconds']:.3f} | 100 | {bd['spacy_ner']['seconds']:.3f} | 100 |")
        vit = bd["zh_mtl_ner"]["stages"].get("ner:   CRF Viterbi (models/viterbi.py)", 0.0)
        results["summary_viterbi_share"] = vit / bd["zh_mtl_ner"]["seconds"]
        lines += ["", f"CRF Viterbi share of zh_mtl_ner pipeline time: **{100 * results['summary_viterbi_share']:.2f} %** (target < 5 %)", ""]
    if "length" in results:
        lines += ["#### Time vs text length (chars per doc)", "",
                  "| chars/doc | docs | zh_mtl_ner chars/s | spacy_ner chars/s | ratio | zh_mtl ms/doc | spacy ms/doc | Viterbi % | char_alignment % | BiGRU % | splitting % | zh_mtl peak MiB | spacy peak MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for length, pair in results["length"].items():
            m, s = pair["zh_mtl_ner"], pair["spacy_ner"]
            st = m["stages"]

            def share(key_start: str) -> str:
                value = sum(v for k, v in st.items() if k.startswith(key_start))
                return f"{100 * value / m['seconds']:.1f}"

            lines.append(
                f"| {int(length):,} | {m['n_docs']} | {m['chars_per_second']:.0f} | {s['chars_per_second']:.0f} | "
                f"{m['chars_per_second'] / s['chars_per_second']:.3f} | {1000 * m['seconds'] / m['n_docs']:.1f} | "
                f"{1000 * s['seconds'] / s['n_docs']:.1f} | {share('ner:   CRF Viterbi')} | {share('ner:   char_alignment')} | "
                f"{share('ner:   BiGRU')} | {share('ner:   token splitting')} | {m['rss_peak_mb']:.0f} | {s['rss_peak_mb']:.0f} |")
        lines.append("")
        args.docs.mkdir(parents=True, exist_ok=True)
        plot_lengths(results, args.docs / "speed_length.png")
    if "ab" in results:
        ab = results["ab"]
        keys = ("ner:   CRF Viterbi (models/viterbi.py)", "ner:   char_alignment (spacy-alignments, numpy)")
        lines += [f"#### A/B: kernels of {ab['baseline_rev']} vs current (same pipeline, same texts; median of runs)", "",
                  "| texts | Viterbi s (base → now) | char_alignment s (base → now) | pipeline s (base → now) | Viterbi % of pipeline (base → now) |",
                  "|---|---|---|---|---|"]
        sets = list(dict.fromkeys(r["set"] for r in ab["runs"]["current"]))
        for set_name in sets:
            def med(label: str, key: Optional[str]) -> float:
                runs = [r for r in ab["runs"][label] if r["set"] == set_name]
                return median([r["stages"].get(key, 0.0) if key else r["seconds"] for r in runs])
            vb, vc = med("baseline", keys[0]), med("current", keys[0])
            ab_, ac = med("baseline", keys[1]), med("current", keys[1])
            pb, pc = med("baseline", None), med("current", None)
            lines.append(f"| {set_name} | {vb:.3f} → {vc:.3f} (×{vb / max(vc, 1e-9):.2f}) | {ab_:.3f} → {ac:.3f} (×{ab_ / max(ac, 1e-9):.2f}) | "
                         f"{pb:.2f} → {pc:.2f} | {100 * vb / pb:.1f} → {100 * vc / pc:.1f} |")
        lines.append("")
    save(args, results)
    (args.out / "speed_tables.md").write_text("\n".join(lines), encoding="utf8")
    (args.out / "speed_summary.json").write_text(json.dumps(strip_raw(results), indent=2))
    print("\n".join(lines))


def strip_raw(results: Dict[str, Any]) -> Dict[str, Any]:
    """The results without the bulky command output tails."""
    clean = json.loads(json.dumps(results))
    for runs in clean.get("spacy_benchmark_speed", {}).values():
        for r in runs:
            r.pop("output_tail", None)
    return clean


def plot_lengths(results: Dict[str, Any], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed: no plot")
        return
    lengths = [int(k) for k in results["length"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("zh_mtl_ner", "spacy_ner"):
        cps = [results["length"][str(n)][name]["chars_per_second"] for n in lengths]
        ms = [1000 * results["length"][str(n)][name]["seconds"] / results["length"][str(n)][name]["n_docs"] for n in lengths]
        axes[0].plot(lengths, cps, marker="o", label=name)
        axes[1].plot(lengths, ms, marker="o", label=name)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("characters per doc")
    axes[0].set_ylabel("characters / second")
    axes[0].set_ylim(bottom=0)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("characters per doc")
    axes[1].set_ylabel("ms per doc")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("Throughput and latency vs text length (CPU, tiny transformer)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("all", help="Run every measurement and write the report")
    p.add_argument("--mtl", type=Path, required=True, help="Trained pipeline with zh_mtl_ner (configs/cpu.cfg)")
    p.add_argument("--ref", type=Path, required=True, help="Trained pipeline with spaCy's ner (configs/cpu_spacy_ner.cfg)")
    p.add_argument("--data", type=Path, required=True, help=".spacy file whose texts are processed")
    p.add_argument("--out", type=Path, default=Path("/tmp/bench/speed"))
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    p.add_argument("--n-docs", type=int, default=1000, help="Use the first N texts (0: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1,
                   help="torch/OpenMP threads per process (0: torch's default). 1 by default: on a shared "
                        "2-core machine more threads made torch many times slower (spin-waiting)")
    p.add_argument("--repeats", type=int, default=3, help="Alternating own-loop runs per pipeline")
    p.add_argument("--spacy-repeats", type=int, default=1)
    p.add_argument("--spacy-batches", type=int, default=30)
    p.add_argument("--warmup-docs", type=int, default=200)
    p.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS))
    p.add_argument("--length-chars", type=int, default=40000, help="Characters per length condition")
    p.add_argument("--steps", nargs="*", default=["spacy", "pipe", "breakdown", "cprofile", "length", "ab"],
                   choices=["spacy", "pipe", "breakdown", "cprofile", "length", "ab"])
    p.add_argument("--ab-rev", default="c99b7f6",
                   help="Commit whose models/viterbi.py and models/char_features.py are the A/B baseline")
    p.add_argument("--ab-lengths", type=int, nargs="*", default=[1000, 20000])
    p.add_argument("--nice", type=int, default=10)
    p.set_defaults(func=run_all)

    p = sub.add_parser("measure", help="(internal) one measurement in this process")
    p.add_argument("model", type=Path)
    p.add_argument("texts", type=Path)
    p.add_argument("--mode", choices=["pipe", "breakdown", "cprofile"], default="pipe")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup-docs", type=int, default=200)
    p.add_argument("--profile-output", type=Path, default=Path("cprofile.txt"))
    p.add_argument("--kernels", type=Path, default=None, help="Directory with viterbi.py and char_features.py to use instead")
    p.set_defaults(func=measure)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
