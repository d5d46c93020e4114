"""`train-segmenter`: train pkuseg on segmented .spacy files, print dev P/R/F."""
import time
from pathlib import Path
from typing import List, Optional

import srsly
import typer
from spacy.vocab import Vocab
from wasabi import msg

from ..corpora.docs import read_docs
from ..corpora.conversion_report import ConversionReport
from ..prep.pkuseg_training import evaluate_segmenter, load_pkuseg, train_pkuseg
from . import app


@app.command("train-segmenter")
def train_segmenter_cli(
    train_path: List[Path] = typer.Argument(..., help="Segmented training .spacy file(s), then the dev .spacy file and the output directory", metavar="TRAIN... DEV OUTPUT_DIR"),
    n_iter: int = typer.Option(10, "--n-iter", help="pkuseg training iterations"),
    max_sentences: int = typer.Option(0, "--max-sentences", help="Use only the first N training sentences (0: all)"),
    user_dict: str = typer.Option("default", "--user-dict", help="Dictionary for evaluation, as spaCy loads it: 'default' or a file; 'none' for the model alone"),
    metrics_path: Optional[Path] = typer.Option(None, "--metrics", help="Write the dev scores as JSON"),
    seed: int = typer.Option(0, "--seed", help="Seed of pkuseg's shuffling"),
    quiet: bool = typer.Option(False, "--quiet", help="Hide pkuseg's per-iteration output"),
) -> None:
    """Train the pkuseg segmenter for the ChineseTokenizer.

    Writes OUTPUT_DIR (features.msgpack, weights.npz) for
    `[initialize.tokenizer] pkuseg_model`, then prints word-level
    precision/recall/F1 on DEV, with the dictionary post-processing that
    spaCy applies and without it.
    """
    if len(train_path) < 3:
        msg.fail("Give TRAIN... DEV OUTPUT_DIR", exits=1)
    *train_files, dev_file, output_dir = train_path
    for path in [*train_files, dev_file]:
        if not path.is_file():
            msg.fail(f"Not a file: {path}", exits=1)
    vocab = Vocab()
    train_docs = [doc for path in train_files for doc in read_docs(path, vocab)]
    dev_docs = read_docs(dev_file, vocab)
    if max_sentences:
        train_docs = train_docs[:max_sentences]
    report = ConversionReport(f"pkuseg training input ({len(train_files)} file(s))")
    msg.info(f"Training pkuseg on {len(train_docs):,} sentences, dev {len(dev_docs):,}, {n_iter} iterations")
    seconds = train_pkuseg(train_docs, dev_docs, output_dir, n_iter=n_iter, seed=seed, report=report, quiet=quiet)
    report.print()
    msg.good(f"Trained in {seconds:.0f}s -> {output_dir}")
    results = {"train_seconds": round(seconds, 1), "n_iter": n_iter, "train_sentences": len(train_docs)}
    for name, ud in (("spacy", None if user_dict == "none" else user_dict), ("model_only", None)):
        if name == "model_only" and user_dict == "none":
            continue
        seg = load_pkuseg(output_dir, user_dict=ud)
        start = time.time()
        scores = evaluate_segmenter(seg.cut, dev_docs)
        scores["seconds"] = round(time.time() - start, 1)
        results[name] = scores
        label = f"user_dict={ud!r}" + (" (as in the spaCy pipeline)" if name == "spacy" else "")
        _print_scores("dev", scores, label)
    _write_metrics(metrics_path, results)


@app.command("evaluate-segmenter")
def evaluate_segmenter_cli(
    model_dir: Path = typer.Argument(..., help="pkuseg model directory", exists=True, file_okay=False),
    data: List[Path] = typer.Argument(..., help=".spacy files (token boundaries) or text files with space-separated words", exists=True, dir_okay=False),
    user_dict: str = typer.Option("none", "--user-dict", help="'none' (the model alone), 'default' (as spaCy loads it) or a file"),
    metrics_path: Optional[Path] = typer.Option(None, "--metrics", help="Write the scores as JSON"),
) -> None:
    """Word-level P/R/F of a pkuseg model on segmented data."""
    from ..corpora.segmented import segmented_to_docs

    seg = load_pkuseg(model_dir, user_dict=None if user_dict == "none" else user_dict)
    vocab = Vocab()
    results = {}
    for path in data:
        if path.suffix == ".spacy":
            docs = read_docs(path, vocab)
        else:
            docs = list(segmented_to_docs(path, vocab, ConversionReport(str(path))))
        scores = evaluate_segmenter(seg.cut, docs)
        results[str(path)] = scores
        _print_scores(f"{path}:", scores, f"user_dict={user_dict}")
    _write_metrics(metrics_path, results)


def _print_scores(prefix: str, scores: dict, label: str) -> None:
    msg.info(
        f"{prefix} word P {scores['p'] * 100:.2f}  R {scores['r'] * 100:.2f}  "
        f"F {scores['f'] * 100:.2f}  ({scores['sentences']:,} sentences, {label})"
    )


def _write_metrics(path: Optional[Path], results: dict) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path, results)
