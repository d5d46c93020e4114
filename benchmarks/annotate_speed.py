"""Throughput of `spacy-zh-mtl annotate` against plain `nlp.pipe`, same settings.

  python -m benchmarks.annotate_speed --model PIPELINE --input corpus.jsonl --lines 20000

times, in one process with one loaded pipeline, after a warm-up pass:

1. `nlp.pipe` over the first --lines texts (held in memory), docs consumed;
2. `annotate_file` (what the CLI runs after loading the pipeline) over the
   same texts, read from a file and written as JSONL (flush per batch,
   fsync at most once a second) to a temporary folder;

alternating, --repeats times, and prints the best and median times and
the ratios annotate / pipe (target: at most 1.10), also of CPU time with
--n-process 1 (steadier when other processes share the cores). Without --model, a blank zh pipeline
with an entity_ruler is built; without --input, synthetic sentences are used.
"""
import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import spacy
from spacy.language import Language

from spacy_zh_mtl.annotate import annotate_file, read_records

NAMES = ["王小明", "李华", "张伟", "刘洋", "陈静"]
PLACES = ["北京", "上海", "南京", "广州", "杭州"]
ORGS = ["北京大学", "华为公司", "清华大学"]
FILLER = "今天天气很好我们一起去看看新的发展情况会议讨论了相关问题并提出建议"


def synthetic_texts(n: int, seed: int = 0) -> List[str]:
    """n sentences of 10 to 120 characters with names, places and organisations."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = []
        while sum(map(len, parts)) < rng.randint(10, 120):
            parts.append(rng.choice(NAMES + PLACES + ORGS))
            start = rng.randrange(len(FILLER) - 8)
            parts.append(FILLER[start:start + rng.randint(2, 8)])
        texts.append("".join(parts) + "。")
    return texts


def ruler_pipeline() -> Language:
    """Blank zh (one token per character) with an entity_ruler for the synthetic names."""
    nlp = spacy.blank("zh")
    patterns = [{"label": "PER", "pattern": p} for p in NAMES]
    patterns += [{"label": "LOC", "pattern": p} for p in PLACES]
    patterns += [{"label": "ORG", "pattern": p} for p in ORGS]
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    return nlp


def load_texts(input_path: Optional[Path], n: int) -> List[str]:
    """The first n texts of a text/JSONL/.spacy file, or n synthetic ones."""
    if input_path is None:
        return synthetic_texts(n)
    texts = []
    for text, _ in read_records(input_path):
        texts.append(text)
        if len(texts) == n:
            break
    return texts


def write_input(texts: List[str], folder: Path) -> Path:
    """Texts as text lines, or as JSONL where a text holds a line break."""
    if any("\n" in t or "\r" in t for t in texts):
        path = folder / "input.jsonl"
        path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf8")
    else:
        path = folder / "input.txt"
        path.write_text("".join(t + "\n" for t in texts), encoding="utf8")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Pipeline (package name or folder); default: blank zh + entity_ruler")
    parser.add_argument("--input", type=Path, help="Text lines, JSONL or .spacy; default: synthetic sentences")
    parser.add_argument("--lines", type=int, default=20000, help="Texts to annotate")
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="Alternating runs of each")
    parser.add_argument("--progress", action="store_true", help="Show annotate's progress bar (as the CLI does)")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()

    nlp = spacy.load(args.model) if args.model else ruler_pipeline()
    texts = load_texts(args.input, args.lines)
    n_chars = sum(map(len, texts))
    print(f"pipeline: {args.model or 'blank zh + entity_ruler'} {nlp.pipe_names}")
    print(f"texts: {len(texts):,} ({n_chars:,} chars); n_process {args.n_process}, batch_size {args.batch_size}")
    pipe_times, annotate_times, pipe_cpu, annotate_cpu = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = write_input(texts, folder)
        # Warm-up: lazy initialisation and file caches before anything is timed.
        for _ in nlp.pipe(texts[:500], batch_size=args.batch_size):
            pass
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            for _ in nlp.pipe(texts, n_process=args.n_process, batch_size=args.batch_size):
                pass
            pipe_times.append(time.perf_counter() - start)
            pipe_cpu.append(time.process_time() - cpu)
            start, cpu = time.perf_counter(), time.process_time()
            result = annotate_file(
                nlp, src, folder / "output.jsonl", n_process=args.n_process,
                batch_size=args.batch_size, overwrite=True, progress=args.progress,
            )
            annotate_times.append(time.perf_counter() - start)
            annotate_cpu.append(time.process_time() - cpu)
            assert result.written == len(texts), (result.written, len(texts))
    for name, times in (("nlp.pipe", pipe_times), ("annotate", annotate_times)):
        best, median = min(times), statistics.median(times)
        print(
            f"{name + ':':10s} best {best:7.3f} s {n_chars / best:11,.0f} chars/s; median {median:7.3f} s "
            f"(runs: {', '.join(f'{t:.3f}' for t in times)})"
        )
    # The best run is the one least slowed by other processes. CPU time (this
    # process only) is steadier on a busy machine but misses --n-process workers.
    ratios = [("wall, best", min(annotate_times) / min(pipe_times)),
              ("wall, median", statistics.median(annotate_times) / statistics.median(pipe_times))]
    if args.n_process == 1:
        ratios.append(("CPU, median", statistics.median(annotate_cpu) / statistics.median(pipe_cpu)))
    # What annotate adds per record, for estimating the ratio of slower pipelines.
    extra_us = (statistics.median(annotate_times) - statistics.median(pipe_times)) / len(texts) * 1e6
    print(f"annotate adds {extra_us:.1f} us per record (wall, medians); nlp.pipe takes "
          f"{statistics.median(pipe_times) / len(texts) * 1e6:.1f} us per record")
    for name, ratio in ratios:
        print(f"ratio annotate/pipe ({name}): {ratio:.3f} ({(ratio - 1) * 100:+.1f} %; target <= +10 %)")

if __name__ == "__main__":
    main()
