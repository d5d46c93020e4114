"""`report`: a per-type P/R/F markdown table from `spacy evaluate --output` JSON."""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer
from wasabi import msg

from . import app

# token_acc is left out: the NER test sets are one token per character, so it
# only measures how far pkuseg's words are from single characters.
OTHER_METRICS = (
    ("tag_acc", "tag accuracy"),
    ("pos_acc", "POS accuracy"),
    ("speed", "speed (words/s)"),
)


def _pct(value: Any) -> str:
    return f"{value * 100:.2f}" if isinstance(value, (int, float)) else "-"


def count_gold_entities(path: Path) -> Counter:
    """Count entities per label in a .spacy file."""
    from ..corpora.docs import read_docs

    return Counter(ent.label_ for doc in read_docs(path) for ent in doc.ents)


def metrics_table(
    metrics: Dict[str, Any], gold_counts: Optional[Counter] = None, title: Optional[str] = None
) -> str:
    """Format entity scores as a markdown table: one row per type, then all types.

    metrics: The JSON written by `spacy evaluate --output` (scores in 0..1).
    gold_counts: Gold entities per type, for an "n" column.
    """
    per_type: Dict[str, Dict[str, float]] = metrics.get("ents_per_type") or {}
    n_col = gold_counts is not None
    lines: List[str] = []
    if title:
        lines += [f"### {title}", ""]
    header = "| type | P | R | F |" + (" n |" if n_col else "")
    lines += [header, "|---|---:|---:|---:|" + ("---:|" if n_col else "")]
    labels = sorted(set(per_type) | set(gold_counts or {}))
    for label in labels:
        s = per_type.get(label, {})
        row = f"| {label} | {_pct(s.get('p'))} | {_pct(s.get('r'))} | {_pct(s.get('f'))} |"
        if n_col:
            row += f" {gold_counts.get(label, 0):,} |"  # type: ignore[union-attr]
        lines.append(row)
    row = f"| **all** | {_pct(metrics.get('ents_p'))} | {_pct(metrics.get('ents_r'))} | **{_pct(metrics.get('ents_f'))}** |"
    if n_col:
        row += f" {sum(gold_counts.values()):,} |"  # type: ignore[union-attr]
    lines.append(row)
    others = []
    for key, name in OTHER_METRICS:
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            others.append(f"{name} {value:,.0f}" if key == "speed" else f"{name} {_pct(value)}")
    if others:
        lines += ["", "; ".join(others)]
    return "\n".join(lines) + "\n"


@app.command("report")
def report_cli(
    metrics_path: Path = typer.Argument(..., help="JSON written by `spacy evaluate --output`", exists=True, dir_okay=False),
    output_path: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the markdown table here"),
    gold: Optional[Path] = typer.Option(None, "--gold", help="The evaluated .spacy file, to add gold entity counts"),
    title: Optional[str] = typer.Option(None, "--title", help="Heading above the table"),
) -> None:
    """Print (and write) a per-type P/R/F markdown table of NER scores."""
    try:
        metrics = srsly.read_json(metrics_path)
    except ValueError as err:
        raise ValueError(f"{metrics_path} is not JSON ({err})") from None
    if not isinstance(metrics, dict) or "ents_f" not in metrics:
        raise ValueError(f"No NER scores (ents_f) in {metrics_path}")
    table = metrics_table(metrics, count_gold_entities(gold) if gold else None, title)
    print(table)
    if output_path is not None:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(table, encoding="utf8")
        msg.good(f"Wrote {output_path}")


CHECK_TEXTS = [
    "王小明在北京大学读书。",
    "南京市长江大桥于1968年建成通车。",
    "李华和张伟去上海参加了华为公司的会议。",
]


@app.command("check-pipeline")
def check_pipeline_cli(
    name: str = typer.Argument(..., help="Installed package name (e.g. zh_mtl_ner) or pipeline directory"),
    texts: Optional[List[str]] = typer.Argument(None, help="Texts to run (default: a few examples)"),
) -> None:
    """Load a pipeline with spacy.load and show tokens, tags and entities.

    Fails if the tokenizer has no pkuseg model, a token has no tag, or the
    pipeline has no tagger / ner.
    """
    import spacy

    nlp = spacy.load(name)
    msg.info(f"Loaded {nlp.meta.get('lang')}_{nlp.meta.get('name')} {nlp.meta.get('version')}: {nlp.pipe_names}")
    problems = []
    if getattr(nlp.tokenizer, "pkuseg_seg", None) is None:
        problems.append("the tokenizer has no pkuseg model")
    for pipe in ("tagger", "ner"):
        if pipe not in nlp.pipe_names:
            problems.append(f"no {pipe} in the pipeline")
    for doc in nlp.pipe(texts or CHECK_TEXTS):
        print(" ".join(f"{t.text}/{t.tag_}" for t in doc))
        print("  ents: " + (", ".join(f"{e.text} {e.label_}" for e in doc.ents) or "(none)"))
        if any(not t.tag_ for t in doc if not t.is_space):
            problems.append(f"untagged tokens in {doc.text!r}")
    for problem in problems:
        msg.fail(problem)
    if problems:
        raise typer.Exit(1)
    msg.good("spacy.load works; tokens have tags; entities are token spans")
