"""`convert`: corpus files in their source formats -> .spacy DocBin files."""
from pathlib import Path
from typing import Iterator, Optional, Tuple

import srsly
import typer
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..corpora.assets import place_assets
from ..corpora.bio import FORMATS as CHAR_FORMATS
from ..corpora.bio import SCHEME_VALUES, char_bio_to_docs
from ..corpora.cluener import cluener_to_docs
from ..corpora.conll import conll_to_docs
from ..corpora.detect import NER_FORMATS, detect_format
from ..corpora.docs import docbin_to_docs, split_docs, write_docs
from ..corpora.jsonspans import JSON_FORMATS, json_spans_to_docs
from ..corpora.labels import LABEL_MAPS, get_label_map, load_label_map
from ..corpora.presets import PRESETS, get_preset
from ..corpora.conversion_report import ON_ERROR_VALUES, ConversionReport, CorpusFormatError
from ..corpora.segmented import segmented_to_docs, word_tag_to_docs
from ..corpora.spans import OFFSET_UNITS, OVERLAP_VALUES
from . import app

FORMATS = ("auto",) + NER_FORMATS + ("conll", "word_tag", "segmented")


def convert_file(
    fmt: str,
    input_path: Path,
    vocab: Vocab,
    report: ConversionReport,
    *,
    labels: str = "none",
    label_map_path: Optional[Path] = None,
    on_error: str = "stop",
    overlap: str = "longest",
    scheme: Optional[str] = None,
    ner_tag_column: int = -1,
    offsets: str = "auto",
    tag_column: int = 5,
    upos_column: int = 4,
    spaces: str = "auto",
    fullwidth_punct: bool = False,
) -> Iterator[Doc]:
    """Dispatch to the reader of a format (see `spacy_zh_mtl.corpora`).

    fmt "auto" detects an NER format from the content (noted in the report).
    label_map_path: A JSON label map file (old -> new or null), instead of
        the named map `labels`.
    ner_tag_column: Character-per-line formats: 1-based tag column, -1 the last.
    """
    if on_error not in ON_ERROR_VALUES:
        raise ValueError(f"--on-error must be one of {ON_ERROR_VALUES}")
    if overlap not in OVERLAP_VALUES:
        raise ValueError(f"--overlap must be one of {OVERLAP_VALUES}")
    if offsets not in OFFSET_UNITS:
        raise ValueError(f"--offsets must be one of {OFFSET_UNITS}")
    if scheme is not None and scheme not in SCHEME_VALUES:
        raise ValueError(f"--scheme must be one of {SCHEME_VALUES}")
    if fmt == "auto":
        fmt = detect_format(input_path)
        report.notes["format"] = f"{fmt} (detected)"
    label_map = get_label_map(labels)
    if label_map_path is not None:
        if label_map is not None:
            raise ValueError("give either --labels or --label-map, not both")
        label_map = load_label_map(label_map_path)
    if label_map is not None and fmt not in NER_FORMATS:
        raise ValueError("--labels and --label-map apply to NER formats only")
    if scheme is not None and fmt not in CHAR_FORMATS:
        raise ValueError("--scheme applies to character-per-line formats only")
    if fmt in CHAR_FORMATS:
        column = ner_tag_column - 1 if ner_tag_column > 0 else ner_tag_column
        return char_bio_to_docs(
            input_path, fmt, vocab, report, scheme=scheme, tag_column=column,
            label_map=label_map, on_error=on_error,  # type: ignore[arg-type]
        )
    if fmt in JSON_FORMATS:
        return json_spans_to_docs(
            input_path, fmt, vocab, report, label_map=label_map, on_error=on_error,  # type: ignore[arg-type]
            overlap=overlap, units=offsets,  # type: ignore[arg-type]
        )
    if fmt == "docbin":
        return docbin_to_docs(input_path, vocab, report, label_map=label_map, on_error=on_error)  # type: ignore[arg-type]
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
    fmt: str = typer.Argument(..., metavar="FORMAT", help=f"One of: {', '.join(FORMATS)} (auto: detect an NER format)"),
    input_path: Path = typer.Argument(..., help="Corpus file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="Write a dev split here (needs --dev-fraction)"),
    dev_fraction: float = typer.Option(0.0, "--dev-fraction", help="Share of sentences for --dev-output (deterministic for --seed)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    labels: str = typer.Option("none", "--labels", help=f"Entity label map: {', '.join(LABEL_MAPS)} (merge: Weibo 8 labels -> PER/LOC/ORG)"),
    label_map: Optional[Path] = typer.Option(None, "--label-map", help="JSON file: old label -> new label, or null to drop (counted); other labels stay", exists=True, dir_okay=False),
    on_error: str = typer.Option("stop", "--on-error", help="On a line that cannot be read: stop (file:line: reason) or skip the sentence / entity (counted)"),
    overlap: str = typer.Option("longest", "--overlap", help="Span formats, overlapping or nested spans: longest (keep it, count the other) or stop"),
    scheme: Optional[str] = typer.Option(None, "--scheme", help=f"Character-per-line tags: {', '.join(SCHEME_VALUES)} (default: BIO for peoples_daily/weibo, auto for chars)"),
    ner_tag_column: int = typer.Option(-1, "--ner-tag-column", help="Character-per-line formats: 1-based tag column (-1: the last)"),
    offsets: str = typer.Option("auto", "--offsets", help="Span JSON offsets: auto (UTF-16 units detected per record), codepoints or utf16 (JavaScript tools)"),
    tag_column: int = typer.Option(5, "--tag-column", help="CoNLL: 1-based column for token.tag_ (0: none)"),
    upos_column: int = typer.Option(4, "--upos-column", help="CoNLL: 1-based column for token.pos_ (0: none; use 0 for WTB)"),
    spaces: str = typer.Option("auto", "--spaces", help="CoNLL: auto (# text, SpaceAfter, else latin), latin or none"),
    fullwidth_punct: bool = typer.Option(False, "--fullwidth-punct", help="CoNLL: map ASCII punctuation tokens (UD 1.3) to full-width"),
    max_docs: int = typer.Option(0, "--max-docs", help="Keep only the first N sentences (0: all), e.g. for smoke tests"),
    report_path: Optional[Path] = typer.Option(None, "--report", help="Also write the counts as JSON"),
) -> None:
    """Convert a corpus to .spacy, printing every repair and skip with its reason.

    NER formats: chars (`char tag`, any whitespace, BIO/IOB1/BIOES/BILOU/BMES),
    peoples_daily (`char tag`), weibo (`char+digit<TAB>tag`), cluener (JSON
    lines, inclusive ends), spacy (Prodigy/spaCy JSONL `spans`), doccano
    (JSONL `label`/`entities`), labelstudio (Label Studio JSON export),
    docbin (.spacy, as it is); auto detects one of them. Other formats:
    conll (CoNLL-U / CoNLL-X), word_tag (`word_TAG` lines), segmented
    (space-separated words). NER formats give one token per character
    (docbin keeps its tokens); the others give words.
    """
    if dev_output is not None and not 0 < dev_fraction < 1:
        msg.fail("--dev-output needs --dev-fraction between 0 and 1", exits=1)
    report = ConversionReport(name=f"{fmt}: {input_path}")
    vocab = Vocab()
    try:
        docs = list(convert_file(
            fmt, input_path, vocab, report,
            labels=labels, label_map_path=label_map, on_error=on_error, overlap=overlap,
            scheme=scheme, ner_tag_column=ner_tag_column, offsets=offsets, tag_column=tag_column,
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


def split_file(
    split: str, given: str, preset_file: Optional[str], asset_dir: Path
) -> Tuple[Optional[Path], bool]:
    """The file of one split: `given` (a file, or a directory holding the
    preset's file; "" for none) or the preset's file in asset_dir.

    RETURNS: The path (None: no file) and whether it is the preset's file.
    """
    if given:
        path = Path(given)
        if not path.is_dir():
            return path, False
        if preset_file is None:
            raise ValueError(f"--{split} {given} is a directory; give the {split} file")
        return path / preset_file, True
    return (asset_dir / preset_file, True) if preset_file is not None else (None, False)


@app.command("prepare-corpus")
def prepare_corpus_cli(
    name: str = typer.Argument(..., help=f"Corpus: {', '.join(PRESETS)}"),
    asset_dir: Path = typer.Argument(..., help="Directory with the corpus files as released (not read for files given by --train/--dev/--test)", file_okay=False),
    output_dir: Path = typer.Argument(..., help="Writes train.spacy, dev.spacy, test.spacy and report.json here"),
    train: str = typer.Option("", "--train", help="Train file (or a directory with the preset's file); required for custom"),
    dev: str = typer.Option("", "--dev", help="Dev file; none for custom: a dev split is taken from train (--dev-fraction)"),
    test: str = typer.Option("", "--test", help="Test file; required for custom"),
    fmt: str = typer.Option("", "--format", help=f"Force a format for --train/--dev/--test files: {', '.join(FORMATS)} (default: the preset's; custom detects)"),
    scheme: Optional[str] = typer.Option(None, "--scheme", help=f"Character-per-line tags: {', '.join(SCHEME_VALUES)}"),
    labels: str = typer.Option("none", "--labels", help=f"NER label map: {', '.join(LABEL_MAPS)}"),
    label_map: str = typer.Option("", "--label-map", help="JSON label map file: old -> new, or null to drop (counted)"),
    overlap: str = typer.Option("longest", "--overlap", help="Span formats, overlapping spans: longest or stop"),
    dev_fraction: float = typer.Option(0.1, "--dev-fraction", help="Share of train used as dev for corpora without a dev file"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    on_error: str = typer.Option("stop", "--on-error", help="stop (file:line: reason) or skip (counted)"),
    max_docs: int = typer.Option(0, "--max-docs", help="Keep only the first N sentences of each split (0: all)"),
) -> None:
    """Convert one corpus to train/dev/test .spacy files using its preset
    (file names, format, splits; see spacy_zh_mtl.corpora.presets). The
    preset `custom` takes your own files (--train, --dev, --test) in any NER
    format of `convert`, detected per file.
    """
    try:
        preset = get_preset(name)
        files = {
            split: split_file(split, given, getattr(preset, split), asset_dir)
            for split, given in (("train", train), ("dev", dev), ("test", test))
        }
        for split in ("train", "test"):
            if files[split][0] is None:
                raise ValueError(f"{name}: give the {split} file with --{split}")
    except ValueError as err:
        msg.fail(str(err), exits=1)
    vocab = Vocab()
    reports = {}
    splits = {}
    options = dict(preset.options)
    for split, (path, from_preset) in files.items():
        if path is None:
            continue
        if not path.is_file():
            msg.fail(f"Missing corpus file {path} (see assets/README.md)", exits=1)
        split_fmt = fmt or (preset.fmt if from_preset else "auto")
        report = ConversionReport(name=f"{name} {split}: {path}")
        try:
            docs = list(convert_file(
                split_fmt, path, vocab, report, labels=labels, label_map_path=Path(label_map) if label_map else None,
                on_error=on_error, overlap=overlap, scheme=scheme, **options,
            ))
        except CorpusFormatError as err:
            report.print()
            msg.fail(str(err), exits=1)
        except ValueError as err:
            msg.fail(str(err), exits=1)
        splits[split] = docs
        reports[split] = report
    if files["dev"][0] is None:
        train_docs, dev_docs = split_docs(splits["train"], dev_fraction, seed)
        reports["train"].count("sentences moved to dev (--dev-fraction)", len(dev_docs))
        splits["train"], splits["dev"] = train_docs, dev_docs
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
    if files["dev"][0] is None:
        msg.info(f"dev = {dev_fraction:.0%} of {files['train'][0]} (seed {seed})")
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
