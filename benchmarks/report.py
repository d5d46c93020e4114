"""Accuracy report: mean ± std over seeds per (dataset, setting) from the run
JSON files of `benchmarks.accuracy run`, as CSV/JSON, markdown tables and a plot.
"""
import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .cells import DATASETS, SETTINGS
from .process import log

Stat = Tuple[float, Optional[float]]
Cells = Dict[Tuple[str, str], Dict[str, Any]]


def load_results(runs_dir: Path) -> List[Dict[str, Any]]:
    """The per-run records (DATASET__SETTING__sSEED.json), without the .eval.json files."""
    return [json.loads(p.read_text()) for p in sorted(runs_dir.glob("*__s*.json"))
            if not p.name.endswith(".eval.json")]


def stat(values: List[float]) -> Stat:
    """Mean and sample standard deviation (None for a single value)."""
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


def aggregate(results: List[Dict[str, Any]]) -> Cells:
    """Per (dataset, setting): seeds, mean ± std of P/R/F, per-type F and times."""
    cells: Dict[Tuple[str, str], List[Dict[str, Any]]] = defaultdict(list)
    for r in results:
        cells[(r["dataset"], r["setting"])].append(r)
    agg = {}
    for key, runs in cells.items():
        runs.sort(key=lambda r: r["seed"])
        labels = sorted({lab for r in runs for lab in r["per_type"]})
        agg[key] = {
            "n": len(runs), "seeds": [r["seed"] for r in runs],
            "p": stat([r["p"] for r in runs]), "r": stat([r["r"] for r in runs]),
            "f": stat([r["f"] for r in runs]),
            "per_type_f": {lab: stat([r["per_type"].get(lab, {"f": 0.0})["f"] for r in runs]) for lab in labels},
            "train_seconds": stat([r["train_seconds"] for r in runs]),
            "eval_seconds": stat([r["eval_seconds"] for r in runs]),
            "steps": sorted({r["steps"] for r in runs if r["steps"] is not None}),
            "max_steps": sorted({r["max_steps"] for r in runs if r["max_steps"] is not None}),
        }
    return agg


def fmt(value: Stat, scale: float = 100.0, digits: int = 2) -> str:
    mean, std = value
    text = f"{mean * scale:.{digits}f}"
    return text + (f" ± {std * scale:.{digits}f}" if std is not None else "")


def _title(table: Dict[str, Any], name: str) -> str:
    """A dataset's or setting's title; the name for one no longer in cells.py."""
    return table[name].title if name in table else name


def ordered_cells(agg: Cells) -> Dict[str, List[Tuple[str, Dict[str, Any]]]]:
    """Per dataset, its settings' aggregates in the order of benchmarks/cells.py
    (datasets and settings unknown to cells.py last, by name).
    """
    def order(names: Set[str], known: Dict[str, Any]) -> List[str]:
        return [n for n in known if n in names] + sorted(names - set(known))

    datasets = order({d for d, _ in agg}, DATASETS)
    settings = order({s for _, s in agg}, SETTINGS)
    return {d: [(s, agg[(d, s)]) for s in settings if (d, s) in agg] for d in datasets}


def accuracy_tables(agg: Cells) -> List[str]:
    """Markdown: per dataset, P/R/F (mean ± std over seeds) and per-type F per setting."""
    lines: List[str] = []
    for dataset, cells in ordered_cells(agg).items():
        lines += [f"#### {_title(DATASETS, dataset)}", "",
                  "| setting | seeds | P | R | F | steps | train s/run | eval s/run |",
                  "|---|---|---|---|---|---|---|---|"]
        for setting, a in cells:
            lines.append(
                f"| {_title(SETTINGS, setting)} | {','.join(map(str, a['seeds']))} | {fmt(a['p'])} | "
                f"{fmt(a['r'])} | **{fmt(a['f'])}** | {'/'.join(map(str, a['steps']))} | "
                f"{fmt(a['train_seconds'], 1, 0)} | {fmt(a['eval_seconds'], 1, 0)} |")
        labels = sorted({lab for _, a in cells for lab in a["per_type_f"]})
        lines += ["", "Per-type F:", "",
                  "| setting | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for setting, a in cells:
            lines.append(f"| {setting} | " + " | ".join(
                fmt(a["per_type_f"][lab], digits=1) if lab in a["per_type_f"] else "-" for lab in labels) + " |")
        lines.append("")
    return lines


def write_csv(results: List[Dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf8") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "setting", "seed", "p", "r", "f", "steps", "max_steps",
                         "train_seconds", "eval_seconds", "per_type_f"])
        for r in results:
            writer.writerow([r["dataset"], r["setting"], r["seed"], f"{r['p']:.4f}", f"{r['r']:.4f}",
                             f"{r['f']:.4f}", r["steps"], r["max_steps"], r["train_seconds"],
                             r["eval_seconds"],
                             ";".join(f"{k}={v['f']:.4f}" for k, v in r["per_type"].items())])


def misaligned_entities(out: Path) -> Dict[str, Dict[str, Any]]:
    """Per dataset: gold entities whose boundary falls inside a pkuseg token,
    on the eval (test) data and on the pre-annotated training data, with the
    pipeline's tokenizer (trained pkuseg + spaCy's default user dictionary).
    """
    import spacy

    from spacy_zh_mtl.prep.pkuseg_training import load_pkuseg

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model=str(out / "pkuseg"), pkuseg_user_dict="default")
    # the same pkuseg model without spaCy's default user dictionary, for comparison
    model_only = load_pkuseg(out / "pkuseg", user_dict=None)
    result = {}
    for dataset in DATASETS:
        entry: Dict[str, Any] = {}
        for split, fname in (("test", "test.spacy"), ("train", "train.pre.spacy")):
            path = out / "data" / dataset / fname
            if path.exists():
                entry[split] = count_misaligned(path, nlp, model_only.cut, with_ner_tags=split == "train")
        result[dataset] = entry
    return result


def word_boundaries(cut: Callable[[str], List[str]], text: str) -> Set[int]:
    """The character offsets where `cut`'s words (and the spaces between
    them) start or end."""
    from spacy.util import get_words_and_spaces

    words, spaces = get_words_and_spaces(cut(text), text)
    cuts, offset = {0}, 0
    for word, space in zip(words, spaces):
        offset += len(word)
        cuts.add(offset)
        offset += int(space)
        cuts.add(offset)
    return cuts


def count_misaligned(
    path: Path, nlp: Any, model_only_cut: Callable[[str], List[str]], with_ner_tags: bool
) -> Dict[str, Any]:
    """The gold entities of a .spacy file that are not token spans of
    `nlp`'s tokenizer (overall, per label, and with `model_only_cut`'s words);
    with_ner_tags: also the tokens whose aligned NER tag is missing."""
    from spacy.training import Example

    from spacy_zh_mtl.corpora.docs import read_docs

    total = lost = lost_model_only = 0
    by_label: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    examples = []
    for gold in read_docs(path, nlp.vocab):
        doc = nlp.make_doc(gold.text)
        cuts = word_boundaries(model_only_cut, gold.text)
        lost_model_only += sum(
            1 for ent in gold.ents if ent.start_char not in cuts or ent.end_char not in cuts)
        for ent in gold.ents:
            total += 1
            by_label[ent.label_][0] += 1
            if doc.char_span(ent.start_char, ent.end_char) is None:
                lost += 1
                by_label[ent.label_][1] += 1
        if with_ner_tags:
            examples.append(Example(doc, gold))
    counts: Dict[str, Any] = {
        "entities": total, "not_token_aligned": lost,
        "not_token_aligned_without_user_dict": lost_model_only,
        "share": lost / total if total else 0.0,
        "by_label": {k: {"entities": v[0], "not_token_aligned": v[1]} for k, v in sorted(by_label.items())},
    }
    if with_ner_tags:
        # what spaCy's ner actually sees: BILUO tags, None (missing) where
        # the gold entity cannot be aligned to the predicted tokens (W030)
        missing = sum(tag in (None, "-") for eg in examples for tag in eg.get_aligned_ner())
        counts["tokens_with_missing_ner_tag"] = missing
    return counts


def misaligned_table(mis: Dict[str, Dict[str, Any]]) -> List[str]:
    lines = ["#### Gold entities spaCy's built-in ner cannot represent (a boundary inside a pkuseg token)", "",
             "| dataset | eval entities | not token-aligned | share | (pkuseg without spaCy's default user dict) | train entities | not token-aligned | train tokens with missing NER tag |",
             "|---|---|---|---|---|---|---|---|"]
    for dataset, entry in mis.items():
        te, tr = entry.get("test", {}), entry.get("train", {})
        lines.append(
            f"| {dataset} | {te.get('entities', '-')} | {te.get('not_token_aligned', '-')} | "
            f"{te.get('share', 0) * 100:.1f} % | {te.get('not_token_aligned_without_user_dict', '-')} | "
            f"{tr.get('entities', '-')} | {tr.get('not_token_aligned', '-')} | "
            f"{tr.get('tokens_with_missing_ner_tag', '-')} |")
    return lines + [""]


def plot(agg: Cells, path: Path) -> None:
    """Bar chart of test F1 per setting and dataset, error bars = std over seeds."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install matplotlib): no plot")
        return
    per_dataset = ordered_cells(agg)
    datasets = list(per_dataset)
    settings = list(dict.fromkeys(s for cells in per_dataset.values() for s, _ in cells))
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
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=_title(SETTINGS, setting), color=colors(j))
        for x, y in zip(xs, ys):
            ax.text(x, y + 0.5, f"{y:.1f}", ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels([_title(DATASETS, d).split(" (")[0] for d in datasets], fontsize=8)
    ax.set_ylabel("entity F1 (%), exact character offsets")
    steps = sorted({s for a in agg.values() for s in a["steps"]})
    ax.set_title(f"Test F1 per setting, CPU, {'/'.join(map(str, steps))} steps "
                 "(error bars: std over 3 seeds where run)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, max(a["f"][0] for a in agg.values()) * 100 + 12)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(out: Path, docs: Path) -> List[str]:
    """OUT/report/(results.json, results.csv, tables.md[, misaligned.json]) and
    DOCS/accuracy_f1.png from OUT/runs. The misaligned-entity table needs
    OUT/pkuseg (from `prepare`) and is left out without it. Returns the tables.
    """
    results = load_results(out / "runs")
    if not results:
        raise SystemExit(f"No results under {out / 'runs'}")
    agg = aggregate(results)
    bench = out / "report"
    bench.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    (bench / "results.json").write_text(json.dumps(results, indent=2))
    write_csv(results, bench / "results.csv")
    lines = accuracy_tables(agg)
    if (out / "pkuseg").exists():
        mis = misaligned_entities(out)
        (bench / "misaligned.json").write_text(json.dumps(mis, indent=2))
        lines += misaligned_table(mis)
    (bench / "tables.md").write_text("\n".join(lines), encoding="utf8")
    plot(agg, docs / "accuracy_f1.png")
    print("\n".join(lines))
    log(f"wrote {bench} and {docs / 'accuracy_f1.png'}")
    return lines
