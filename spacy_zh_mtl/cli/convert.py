"""`convert`: corpus files in their source formats -> .spacy DocBin files."""
from pathlib import Path
from typing import Iterator, Optional

import srsly
import typer
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..corpora.assets import place_assets
from ..corpora.bio import char_bio_to_docs
from ..corpora.cluener import cluener_to_docs
from ..corpora.conll import conll_to_docs
from ..corpora.docs import split_docs, write_docs
from ..corpora.labels import LABEL_MAPS, get_label_map
from ..corpora.presets import PRESETS, get_preset
from ..corpora.report import ON_ERROR_VALUES, ConversionReport, CorpusFormatError
from ..corpora.segmented import segmented_to_docs, word_tag_to_docs
from . import app

FORMATS = ("peoples_daily", "weibo", "cluener", "conll", "word_tag", "segmented")


def convert_file(
    fmt: str,
    input_path: Path,
    vocab: Vocab,
    report: ConversionReport,
    *,
    labels: str = "none",
    on_error: str = "stop",
    overlap: str = "longest",
    tag_column: int = 5,
    upos_column: int = 4,
    spaces: str = "auto",
    fullwidth_punct: bool = False,
) -> Iterator[Doc]:
    """Dispatch to the reader of a format (see `spacy_zh_mtl.corpora`)."""
    if on_error not in ON_ERROR_VALUES:
        raise ValueError(f"--on-error must be one of {ON_ERROR_VALUES}")
    label_map = get_label_map(labels)
    if label_map is not None and fmt not in ("peoples_daily", "weibo", "cluener"):
        raise ValueError("--labels applies to NER formats only")
    if fmt in ("peoples_daily", "weibo"):
        return char_bio_to_docs(input_path, fmt, vocab, report, label_map=label_map, on_error=on_error)  # type: ignore[arg-type]
    if fmt == "cluener":
        return cluener_to_docs(input_path, vocab, report, label_map=label_map, on_error=on_error, overlap=overlap)  # type: ignore[arg-type]
    if fmt == "conll":
        return conll_to_docs(
            input_path, vocab, report,
            tag_column=tag_column or None, upos_column=upos_column or None,
            spaces=spaces, fullwidth_punct=fullwidth_punct, on_error=on_error,  # type: ignore[arg-type]
        )
    if fmt == "word_tag":
        return word_tag_to_docs(input_path, vocab, report, on_error=on_error)  # type: ignore[arg-type]
    if fmt == "segmented":
        return segmented_to_docs(input_path, vocab, report)
    raise ValueError(f"Unknown format {fmt!r}; choose from {FORMATS}")


@app.command("convert")
def convert_cli(
    fmt: str = typer.Argument(..., metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}"),
    input_path: Path = typer.Argument(..., help="Corpus file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="Write a dev split here (needs --dev-fraction)"),
    dev_fraction: float = typer.Option(0.0, "--dev-fraction", help="Share of sentences for --dev-output (deterministic for --seed)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    labels: str = typer.Option("none", "--labels", help=f"Entity label map: {', '.join(LABEL_MAPS)} (merge: Weibo 8 labels -> PER/LOC/ORG)"),
    on_error: str = typer.Option("stop", "--on-error", help="On a line that cannot be read: stop (file:line: reason) or skip the sentence (counted)"),
    overlap: str = typer.Option("longest", "--overlap", help="CLUENER overlapping spans: longest (keep it, count the other) or stop"),
    tag_column: int = typer.Option(5, "--tag-column", help="CoNLL: 1-based column for token.tag_ (0: none)"),
    upos_column: int = typer.Option(4, "--upos-column", help="CoNLL: 1-based column for token.pos_ (0: none; use 0 for WTB)"),
    spaces: str = typer.Option("auto", "--spaces", help="CoNLL: auto (# text, SpaceAfter, else latin), latin or none"),
    fullwidth_punct: bool = typer.Option(False, "--fullwidth-punct", help="CoNLL: map ASCII punctuation tokens (UD 1.3) to full-width"),
    max_docs: int = typer.Option(0, "--max-docs", help="Keep only the first N sentences (0: all), e.g. for smoke tests"),
    report_path: Optional[Path] = typer.Option(None, "--report", help="Also write the counts as JSON"),
) -> None:
    """Convert a corpus to .spacy, printing every repair and skip with its reason.

    Formats: peoples_daily (`char tag`), weibo (`char+digit<TAB>tag`),
    cluener (JSON lines, inclusive ends), conll (CoNLL-U / CoNLL-X),
    word_tag (`word_TAG` lines), segmented (space-separated words).
    NER formats give one token per character; the others give words.
    """
    if dev_output is not None and not 0 < dev_fraction < 1:
        msg.fail("--dev-output needs --dev-fraction between 0 and 1", exits=1)
    report = ConversionReport(name=f"{fmt}: {input_path}")
    vocab = Vocab()
    try:
        docs = list(convert_file(
            fmt, input_path, vocab, report,
            labels=labels, on_error=on_error, overlap=overlap, tag_column=tag_column,
            upos_column=upos_column, spaces=spaces, fullwidth_punct=fullwidth_punct,
        ))
    except CorpusFormatError as err:
        report.print()
        msg.fail(str(err), exits=1)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    if max_docs and len(docs) > max_docs:
        report.skip(f"sentences after the first {max_docs} left out (--max-docs)", n=len(docs) - max_docs)
        docs = docs[:max_docs]
    report.print()
    if dev_output is not None:
        train, dev = split_docs(docs, dev_fraction, seed)
        write_docs(train, output_path)
        write_docs(dev, dev_output)
        msg.good(f"Wrote {len(train):,} docs to {output_path} and {len(dev):,} to {dev_output} (seed {seed})")
    else:
        write_docs(docs, output_path)
        msg.good(f"Wrote {len(docs):,} docs to {output_path}")
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(report_path, report.to_dict())


@app.command("prepare-corpus")
def prepare_corpus_cli(
    name: str = typer.Argument(..., help=f"Corpus: {', '.join(PRESETS)}"),
    asset_dir: Path = typer.Argument(..., help="Directory with the corpus files as released", exists=True, file_okay=False),
    output_dir: Path = typer.Argument(..., help="Writes train.spacy, dev.spacy, test.spacy and report.json here"),
    labels: str = typer.Option("none", "--labels", help=f"NER label map: {', '.join(LABEL_MAPS)}"),
    dev_fraction: float = typer.Option(0.1, "--dev-fraction", help="Share of train used as dev for corpora without a dev file"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    on_error: str = typer.Option("stop", "--on-error", help="stop (file:line: reason) or skip (counted)"),
    max_docs: int = typer.Option(0, "--max-docs", help="Keep only the first N sentences of each split (0: all)"),
) -> None:
    """Convert one corpus to train/dev/test .spacy files using its preset
    (file names, format, splits; see spacy_zh_mtl.corpora.presets).
    """
    try:
        preset = get_preset(name)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    vocab = Vocab()
    reports = {}
    splits = {}
    options = dict(preset.options)
    for split in ("train", "dev", "test"):
        file_name = getattr(preset, split)
        if file_name is None:
            continue
        path = asset_dir / file_name
        if not path.is_file():
            msg.fail(f"Missing corpus file {path} (see assets/README.md)", exits=1)
        report = ConversionReport(name=f"{name} {split}: {path}")
        try:
            docs = list(convert_file(preset.fmt, path, vocab, report, labels=labels, on_error=on_error, **options))
        except CorpusFormatError as err:
            report.print()
            msg.fail(str(err), exits=1)
        except ValueError as err:
            msg.fail(str(err), exits=1)
        splits[split] = docs
        reports[split] = report
    if preset.dev is None:
        train, dev = split_docs(splits["train"], dev_fraction, seed)
        reports["train"].count("sentences moved to dev (--dev-fraction)", len(dev))
        splits["train"], splits["dev"] = train, dev
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, docs in splits.items():
        if max_docs and len(docs) > max_docs:
            reports.setdefault(split, ConversionReport(name=f"{name} {split}")).skip(
                f"sentences after the first {max_docs} left out (--max-docs)", n=len(docs) - max_docs
            )
            docs = docs[:max_docs]
        write_docs(docs, output_dir / f"{split}.spacy")
        if split in reports:
            reports[split].print()
        msg.good(f"{split}: {len(docs):,} docs -> {output_dir / f'{split}.spacy'}")
    if preset.dev is None:
        msg.info(f"dev = {dev_fraction:.0%} of {preset.train} (seed {seed})")
    srsly.write_json(output_dir / "report.json", {k: r.to_dict() for k, r in reports.items()})


@app.command("place-assets")
def place_assets_cli(
    mirror: Path = typer.Argument(..., help="Local directory holding copies of the asset files (any layout)", exists=True, file_okay=False),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="Directory with project.yml"),
    extra: bool = typer.Option(True, "--extra/--no-extra", help="Also place assets marked extra"),
) -> None:
    """Copy project assets from a local mirror, matched by md5 checksum, so
    that `spacy project assets` skips them and nothing is downloaded.
    """
    placed, present, missing = place_assets(project_dir, mirror, include_extra=extra)
    for dest in placed:
        msg.good(f"Placed {dest}")
    msg.info(f"{len(placed)} placed, {len(present)} already there, {len(missing)} not in {mirror}")
    for dest in missing:
        msg.warn(f"Not found in the mirror: {dest}")
