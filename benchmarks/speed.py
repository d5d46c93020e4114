"""Speed and memory: a zh_mtl_ner pipeline vs the same transformer + tagger with
spaCy's built-in `ner`, on the same texts, in one session.

  python -m benchmarks.speed all --mtl MTL_MODEL --ref REF_MODEL \
      --data test.spacy --out /tmp/bench/speed --docs docs

does, each measurement in its own subprocess (so ru_maxrss is that pipeline's
peak memory), alternating the two pipelines:

1. `python -m spacy benchmark speed` on both (its words/s counts tokens after
   processing, so zh_mtl_ner's entity splits add a few "words");
2. an own timing loop: nlp.pipe over the texts after one warm-up pass,
   words = pkuseg tokens before any component ran (the same count for both),
   plus characters/s; median of --repeats alternating runs; peak RSS;
3. a breakdown of the time per component (each component's `pipe`) and,
   inside zh_mtl_ner, per stage: cumulative cProfile time of the named
   package functions of benchmarks/stages.py (a missing one is an error), and
   a cProfile listing;
4. time vs text length: docs of 100, 1,000, 5,000 and 20,000 characters cut
   from the same texts.

Outputs: OUT/speed.json (everything), OUT/speed_tables.md (the markdown tables
of docs/results.md), OUT/cprofile_*.txt, DOCS/speed_length.png. Subprocesses
run under `nice -n 10` (--nice).
"""
import argparse
import io
import json
import re
import resource
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .cells import ROOT
from .process import PY, log, run_cmd
from .stages import profile, stage_times, stages_for

LENGTHS = (100, 1000, 5000, 20000)
STEPS = ["spacy", "pipe", "breakdown", "cprofile", "length"]
VITERBI = "ner:   CRF Viterbi (models/viterbi.py)"


def rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# measure (one subprocess) -----------------------------------------------------


def read_texts(path: Path) -> List[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf8").splitlines() if line]


def breakdown(nlp: Any, texts: List[str], batch_size: int) -> Dict[str, Any]:
    """One pass, component by component through their `pipe`, under cProfile:
    seconds per component and per zh_mtl_ner stage, and the profile.
    """
    from spacy_zh_mtl.pipeline.zh_mtl_ner import ZhMtlNer

    seconds: Dict[str, float] = {}

    def run() -> List[Any]:
        t = time.perf_counter()
        docs = [nlp.make_doc(text) for text in texts]
        seconds["tokenizer (pkuseg)"] = time.perf_counter() - t
        for name, proc in nlp.pipeline:
            t = time.perf_counter()
            docs = list(proc.pipe(docs, batch_size=batch_size))
            seconds[f"component {name}"] = time.perf_counter() - t
        return docs

    start = time.perf_counter()
    docs, stats = profile(run)
    total = time.perf_counter() - start
    mtl = [name for name, proc in nlp.pipeline if isinstance(proc, ZhMtlNer)]
    stages: Dict[str, str] = {}
    for name in mtl:
        stages.update(stages_for(nlp.config["components"][name]))
    times = stage_times(stats, stages)
    seconds.update({label: t["seconds"] for label, t in times.items()})
    return {
        "seconds": total, "docs": docs, "stats": stats, "has_zh_mtl_ner": bool(mtl),
        "stages": {k: round(v, 4) for k, v in seconds.items()},
        "stage_calls": {label: t["calls"] for label, t in times.items()},
    }


def measure(args: argparse.Namespace) -> None:
    import spacy
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
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
    else:
        bd = breakdown(nlp, texts, args.batch_size)
        docs, seconds = bd.pop("docs"), bd["seconds"]
        stats = bd.pop("stats")
        result.update(bd)
        if args.profile_output:
            stream = io.StringIO()
            stats.stream = stream
            stats.strip_dirs()
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            Path(args.profile_output).write_text(stream.getvalue(), encoding="utf8")
            result["profile"] = str(args.profile_output)
    result.update({
        "seconds": seconds, "words_per_second": n_words / seconds, "chars_per_second": n_chars / seconds,
        "n_tokens_after": sum(len(d) for d in docs), "n_ents": sum(len(d.ents) for d in docs),
        "rss_peak_mb": round(peak_rss_mb(), 1),
    })
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}))


# orchestration ------------------------------------------------------------------


def run_measure(args: argparse.Namespace, model: Path, texts: Path, mode: str, tag: str,
                warmup_docs: Optional[int] = None, profile_output: Optional[Path] = None) -> Dict[str, Any]:
    """One `measure` in its own subprocess; its result."""
    output = args.out / "raw" / f"{tag}.json"
    cmd = PY + ["benchmarks.speed", "measure", str(model), str(texts), "--mode", mode, "--output", str(output),
                "--batch-size", str(args.batch_size), "--threads", str(args.threads),
                "--warmup-docs", str(args.warmup_docs if warmup_docs is None else warmup_docs)]
    if profile_output is not None:
        cmd += ["--profile-output", str(profile_output)]
    run_cmd(cmd, args.out / "raw" / f"{tag}.log", args.nice, args.threads)
    result = json.loads(output.read_text())
    log(f"{tag}: {result['words_per_second']:.0f} words/s, "
        f"{result['chars_per_second']:.0f} chars/s, peak {result['rss_peak_mb']:.0f} MiB")
    return result


def spacy_benchmark_speed(args: argparse.Namespace, model: Path, data: Path, tag: str) -> Dict[str, Any]:
    """`python -m spacy benchmark speed` on one pipeline; its mean words/s and CI."""
    cmd = PY + ["spacy", "benchmark", "speed", str(model), str(data), "--batch-size", str(args.batch_size),
                "--no-shuffle", "--batches", str(args.spacy_batches), "--warmup", "1"]
    log_path = args.out / "raw" / f"{tag}.log"
    seconds = run_cmd(cmd, log_path, args.nice, args.threads)
    out = log_path.read_text(encoding="utf8")
    match = re.search(r"Mean: ([\d.]+) words/s \(95% CI: ([-\d.]+) \+([\d.]+)\)", out)
    if not match:
        raise RuntimeError(f"spacy benchmark speed printed no mean:\n{out[-3000:]}")
    mean, low, high = (float(g) for g in match.groups())
    log(f"  spacy benchmark speed: {mean:.1f} words/s (95% CI {low:+.1f} +{high:.1f})")
    return {"command": " ".join(cmd), "words_per_second": mean, "ci_low": low, "ci_high": high,
            "wall_seconds": round(seconds, 1)}


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
    """Every step of args.steps, each measurement in its own subprocess, then
    the report; OUT/speed.json is saved after each step."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_zh_mtl.corpora.docs import read_docs

    args.out.mkdir(parents=True, exist_ok=True)
    all_texts = [d.text for d in read_docs(args.data)]
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
        results["spacy_benchmark_speed"] = alternate(args.spacy_repeats, pipelines, lambda name, model, rep: (
            spacy_benchmark_speed(args, model, bench_spacy, f"spacy_{name}_{rep}")))
        save(args, results)
    if "pipe" in args.steps:
        results["pipe"] = alternate(args.repeats, pipelines, lambda name, model, rep: (
            run_measure(args, model, texts_path, "pipe", f"pipe_{name}_{rep}")))
        save(args, results)
    if "breakdown" in args.steps:
        results["breakdown"] = {
            name: run_measure(args, model, texts_path, "breakdown", f"breakdown_{name}")
            for name, model in pipelines.items()
        }
        save(args, results)
    if "cprofile" in args.steps:
        run_measure(args, args.mtl, texts_path, "breakdown", "cprofile_zh_mtl_ner",
                    profile_output=args.out / "cprofile_zh_mtl_ner.txt")
    if "length" in args.steps:
        results["length"] = {str(length): run_length(args, pipelines, all_texts, length) for length in args.lengths}
        save(args, results)
    write_report(args, results)


def alternate(
    repeats: int, pipelines: Dict[str, Path], run: Callable[[str, Path, int], Dict[str, Any]]
) -> Dict[str, List[Dict[str, Any]]]:
    """`run(name, model, repeat)` `repeats` times for each pipeline, the
    pipelines alternating; the results per pipeline."""
    runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name in pipelines}
    for rep in range(repeats):
        for name, model in pipelines.items():
            runs[name].append(run(name, model, rep))
    return runs


def run_length(
    args: argparse.Namespace, pipelines: Dict[str, Path], all_texts: List[str], length: int
) -> Dict[str, Dict[str, Any]]:
    """The breakdown of each pipeline on docs of `length` characters: per
    pipeline, the run with the median time, with the times of all runs."""
    ltexts = write_texts(args.out / f"texts_{length}.jsonl", length_texts(all_texts, length, args.length_chars))
    runs = alternate(args.repeats, pipelines, lambda name, model, rep: run_measure(
        args, model, ltexts, "breakdown", f"length{length}_{name}_{rep}", warmup_docs=2))
    # the run with the median time stands for the condition; all times are kept
    return {
        name: dict(sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2],
                   all_seconds=[round(r["seconds"], 3) for r in rs])
        for name, rs in runs.items()
    }


def save(args: argparse.Namespace, results: Dict[str, Any]) -> None:
    (args.out / "speed.json").write_text(json.dumps(results, indent=2))


def machine_info() -> Dict[str, Any]:
    import os
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


NAMES = ("zh_mtl_ner", "spacy_ner")


def write_report(args: argparse.Namespace, results: Dict[str, Any]) -> None:
    """OUT/speed_tables.md (printed too) with a table per measured section,
    the summary ratios added to OUT/speed.json, and DOCS/speed_length.png."""
    lines: List[str] = []
    if "spacy_benchmark_speed" in results:
        lines += spacy_speed_table(results)
    if "pipe" in results:
        lines += pipe_table(results)
    if "breakdown" in results:
        lines += breakdown_table(results)
    if "length" in results:
        lines += length_table(results)
        args.docs.mkdir(parents=True, exist_ok=True)
        plot_lengths(results, args.docs / "speed_length.png")
    save(args, results)
    (args.out / "speed_tables.md").write_text("\n".join(lines), encoding="utf8")
    print("\n".join(lines))


def spacy_speed_table(results: Dict[str, Any]) -> List[str]:
    """`spacy benchmark speed` per pipeline; sets results["summary_spacy_ratio"]."""
    sbs = results["spacy_benchmark_speed"]
    wps = {n: statistics.median([r["words_per_second"] for r in sbs[n]]) for n in NAMES}
    lines = ["#### `python -m spacy benchmark speed`", "",
             "| pipeline | words/s (median of runs; each: mean, 95 % CI) |", "|---|---|"]
    for n in NAMES:
        runs = "; ".join(f"{r['words_per_second']:.0f} ({r['ci_low']:+.0f}/+{r['ci_high']:.0f})" for r in sbs[n])
        lines.append(f"| {n} | **{wps[n]:.0f}** — {runs} |")
    lines += ["", f"Ratio zh_mtl_ner / spacy_ner: **{wps['zh_mtl_ner'] / wps['spacy_ner']:.3f}**", ""]
    results["summary_spacy_ratio"] = wps["zh_mtl_ner"] / wps["spacy_ner"]
    return lines


def pipe_table(results: Dict[str, Any]) -> List[str]:
    """The own timing loop per pipeline; sets results["summary_pipe_ratio"]."""
    median = statistics.median
    pipe = results["pipe"]
    lines = ["#### Own timing loop (`nlp.pipe`, words = pkuseg tokens before processing)", "",
             "| pipeline | words/s | chars/s | s per pass (runs) | tokens after / before | peak RSS MiB | RSS after load MiB |",
             "|---|---|---|---|---|---|---|"]
    summary = {}
    for n in NAMES:
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
    return lines + ["", f"Ratio zh_mtl_ner / spacy_ner words/s: **{ratio:.3f}** (target ≥ 0.85)", ""]


def breakdown_table(results: Dict[str, Any]) -> List[str]:
    """Seconds and share per stage of both pipelines; sets
    results["summary_viterbi_share"]."""
    lines = ["#### Where the time goes (one pass under cProfile; stages: cumulative time of package functions)", "",
             "| stage | zh_mtl_ner pipeline s | % | spacy_ner pipeline s | % |", "|---|---|---|---|---|"]
    bd = results["breakdown"]
    keys = list(dict.fromkeys(list(bd["zh_mtl_ner"]["stages"]) + list(bd["spacy_ner"]["stages"])))
    for key in keys:
        cells = []
        for n in NAMES:
            s = bd[n]["stages"].get(key)
            cells += ["-", "-"] if s is None else [f"{s:.3f}", f"{100 * s / bd[n]['seconds']:.1f}"]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines.append(f"| **pipeline total** | {bd['zh_mtl_ner']['seconds']:.3f} | 100 | {bd['spacy_ner']['seconds']:.3f} | 100 |")
    results["summary_viterbi_share"] = bd["zh_mtl_ner"]["stages"].get(VITERBI, 0.0) / bd["zh_mtl_ner"]["seconds"]
    return lines + ["", f"CRF Viterbi share of zh_mtl_ner pipeline time: **{100 * results['summary_viterbi_share']:.2f} %** (target < 5 %)", ""]


def length_table(results: Dict[str, Any]) -> List[str]:
    """Throughput, latency, stage shares and memory per text length."""
    lines = ["#### Time vs text length (chars per doc)", "",
             "| chars/doc | docs | zh_mtl_ner chars/s | spacy_ner chars/s | ratio | zh_mtl ms/doc | spacy ms/doc | Viterbi % | char_alignment % | BiGRU % | splitting % | zh_mtl peak MiB | spacy peak MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for length, pair in results["length"].items():
        m, s = pair["zh_mtl_ner"], pair["spacy_ner"]

        def share(key_start: str) -> str:
            value = sum(v for k, v in m["stages"].items() if k.startswith(key_start))
            return f"{100 * value / m['seconds']:.1f}"

        lines.append(
            f"| {int(length):,} | {m['n_docs']} | {m['chars_per_second']:.0f} | {s['chars_per_second']:.0f} | "
            f"{m['chars_per_second'] / s['chars_per_second']:.3f} | {1000 * m['seconds'] / m['n_docs']:.1f} | "
            f"{1000 * s['seconds'] / s['n_docs']:.1f} | {share('ner:   CRF Viterbi')} | {share('ner:   char_alignment')} | "
            f"{share('ner:   BiGRU')} | {share('ner:   token splitting')} | {m['rss_peak_mb']:.0f} | {s['rss_peak_mb']:.0f} |")
    return lines + [""]


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
        runs = [results["length"][str(n)][name] for n in lengths]
        axes[0].plot(lengths, [r["chars_per_second"] for r in runs], marker="o", label=name)
        axes[1].plot(lengths, [1000 * r["seconds"] / r["n_docs"] for r in runs], marker="o", label=name)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("all", help="Run every measurement and write the report")
    p.add_argument("--mtl", type=Path, required=True, help="Trained pipeline with zh_mtl_ner")
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
    p.add_argument("--steps", nargs="*", default=STEPS, choices=STEPS)
    p.add_argument("--nice", type=int, default=10)
    p.set_defaults(func=run_all)

    p = sub.add_parser("measure", help="(internal) one measurement in this process")
    p.add_argument("model", type=Path)
    p.add_argument("texts", type=Path)
    p.add_argument("--mode", choices=["pipe", "breakdown"], default="pipe")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup-docs", type=int, default=200)
    p.add_argument("--profile-output", type=Path, default=None, help="Write a cProfile listing (breakdown mode)")
    p.set_defaults(func=measure)

    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
