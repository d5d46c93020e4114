"""`corpus-stats`: know your NER corpus (labels, lengths, window, duplicates, pkuseg)."""
from pathlib import Path
from typing import Any, Dict, Optional

import srsly
import typer
from wasabi import msg

from ..corpora.docs import read_docs
from ..prep.pkuseg_training import load_pkuseg
from ..prep.stats import LENGTH_BUCKETS, corpus_stats
from . import app

SPLITS = ("train", "dev", "test")


def print_stats(stats: Dict[str, Any]) -> None:
    """Print the tables of `corpus_stats`."""
    splits = stats["splits"]
    names = list(splits)
    labels = sorted({label for s in splits.values() for label in s["labels"]})
    msg.divider("labels per split")
    rows = [[label] + [splits[n]["labels"].get(label, 0) for n in names] for label in labels]
    rows.append(["all"] + [splits[n]["entities"] for n in names])
    msg.table(rows, header=["label"] + names, divider=True)
    msg.divider("entity length (characters)")
    rows = [[b] + [splits[n]["entity_lengths"][b] for n in names] for b in LENGTH_BUCKETS]
    msg.table(rows, header=["length"] + names, divider=True)
    msg.divider("sentences")
    rows = [
        ["sentences"] + [splits[n]["sentences"] for n in names],
        ["characters"] + [splits[n]["characters"] for n in names],
        ["longest (chars)"] + [splits[n]["max_chars"] for n in names],
        [f"longer than {stats['window']} chars"] + [splits[n]["longer_than_window"] for n in names],
    ]
    if all("crossing_pkuseg" in splits[n] for n in names):
        rows.append(["entities crossing pkuseg words"] + [
            f"{splits[n]['crossing_pkuseg']} ({splits[n]['crossing_pkuseg_share']:.1%})" for n in names
        ])
    for name, shared in stats.get("shared_with_train", {}).items():
        rows.append([f"{name} sentences also in train", ""] + [""] * (len(names) - 1))
        rows[-1][names.index(name) + 1] = f"{shared['sentences']} ({shared['share']:.1%})"
    msg.table(rows, header=["", *names], divider=True)


@app.command("corpus-stats")
def corpus_stats_cli(
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy, dev.spacy, test.spacy (those present are read)", exists=True, file_okay=False),
    segmenter: Optional[Path] = typer.Option(None, "--segmenter", help="pkuseg model folder: count gold entities crossing its word boundaries"),
    user_dict: str = typer.Option("default", "--user-dict", help="pkuseg dictionary post-processing: default (as spaCy's tokenizer) or none"),
    window: int = typer.Option(512, "--window", help="Transformer window in characters; longer sentences are counted"),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the numbers as JSON"),
) -> None:
    """Labels and counts per split, entity length histogram, sentences longer
    than the window, dev/test sentences also in train, and gold entities that
    cross pkuseg word boundaries (what spaCy's token-based ner would lose).
    """
    splits = {name: read_docs(corpus_dir / f"{name}.spacy") for name in SPLITS if (corpus_dir / f"{name}.spacy").is_file()}
    if not splits:
        msg.fail(f"No train/dev/test .spacy file in {corpus_dir}", exits=1)
    cut = None
    if segmenter is not None:
        cut = load_pkuseg(segmenter, user_dict=None if user_dict == "none" else user_dict).cut
    stats = corpus_stats(splits, max_chars=window, cut=cut)
    stats["segmenter"] = None if segmenter is None else {"model": str(segmenter), "user_dict": user_dict}
    print_stats(stats)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, stats)
        msg.good(f"Wrote {output}")
