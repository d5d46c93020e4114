"""`convert`, `prepare-corpus`, `place-assets`: corpus files -> .spacy DocBin files.

The formats, their readers and options come from `corpora.formats.FORMATS`.
"""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import srsly
import typer
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..prep.assets import place_assets
from ..corpora.conversion_report import ConversionReport
from ..corpora.docs import split_docs, write_docs
from ..corpora.formats import FORMATS, OPTION_VALUES, convert_file
from ..corpora.labels import LABEL_MAPS
from ..corpora.presets import PRESETS, get_preset
from . import app
from .errors import Choice, check_output_file, choices, clear_errors

if TYPE_CHECKING:  # see Choice
    Format = Choice
    Labels = Choice
    Scheme = Choice
    OnError = Choice
    Overlap = Choice
    Offsets = Choice
    Spaces = Choice
    Preset = Choice
else:
    Format = choices("Format", ("auto", *FORMATS))
    Labels = choices("Labels", LABEL_MAPS)
    Scheme = choices("Scheme", OPTION_VALUES["scheme"])
    OnError = choices("OnError", OPTION_VALUES["on_error"])
    Overlap = choices("Overlap", OPTION_VALUES["overlap"])
    Offsets = choices("Offsets", OPTION_VALUES["offsets"])
    Spaces = choices("Spaces", OPTION_VALUES["spaces"])
    Preset = choices("Preset", PRESETS)

ENCODING_HELP = "Encoding of the input (e.g. gbk, big5, utf-16-le); default: detect UTF-8, UTF-16/32 with a BOM or GB18030"
NO_ENTITIES_HELP = "Accept an NER file without any entity (raw text); without it, no entities is an error"


def _value(choice: Optional[Choice]) -> Optional[str]:
    """The string of a choice (None: not given)."""
    return None if choice is None else choice.value


def _limit(docs: List[Doc], max_docs: int, report: ConversionReport) -> List[Doc]:
    """The first max_docs Docs (0: all), the rest counted as skipped."""
    if max_docs and len(docs) > max_docs:
        report.skip(f"sentences after the first {max_docs} left out (--max-docs)", n=len(docs) - max_docs)
        return docs[:max_docs]
    return docs


@app.command("convert")
def convert_cli(
    fmt: Format = typer.Argument(..., metavar="FORMAT", help="Corpus format (auto: detect an NER format)"),
    input_path: Path = typer.Argument(..., help="Corpus file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="Write a dev split here (needs --dev-fraction)"),
    dev_fraction: float = typer.Option(0.0, "--dev-fraction", help="Share of sentences for --dev-output (deterministic for --seed)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    labels: Labels = typer.Option("none", "--labels", help="Entity label map (merge: Weibo 8 labels -> PER/LOC/ORG)"),
    label_map: Optional[Path] = typer.Option(None, "--label-map", help="JSON file: old label -> new label, or null to drop (counted); other labels stay", exists=True, dir_okay=False),
    encoding: Optional[str] = typer.Option(None, "--encoding", help=ENCODING_HELP),
    allow_no_entities: bool = typer.Option(False, "--allow-no-entities", help=NO_ENTITIES_HELP),
    on_error: Optional[OnError] = typer.Option(None, "--on-error", help="On a line that cannot be read: stop (default; file:line: reason) or skip the sentence / entity (counted)"),
    overlap: Optional[Overlap] = typer.Option(None, "--overlap", help="Span formats, overlapping or nested spans: longest (default; keep it, count the other) or stop"),
    scheme: Optional[Scheme] = typer.Option(None, "--scheme", help="Character-per-line tags (default: BIO for peoples_daily/weibo, auto for chars)"),
    ner_tag_column: Optional[int] = typer.Option(None, "--ner-tag-column", help="Character-per-line formats: 1-based tag column (default -1: the last)"),
    offsets: Optional[Offsets] = typer.Option(None, "--offsets", help="Span JSON offsets: auto (default; UTF-16 units detected per record), codepoints or utf16 (JavaScript tools)"),
    tag_column: Optional[int] = typer.Option(None, "--tag-column", help="CoNLL: 1-based column for token.tag_ (default 5; 0: none)"),
    upos_column: Optional[int] = typer.Option(None, "--upos-column", help="CoNLL: 1-based column for token.pos_ (default 4; 0: none; use 0 for WTB)"),
    spaces: Optional[Spaces] = typer.Option(None, "--spaces", help="CoNLL: auto (default; # text, SpaceAfter, else latin), latin or none"),
    fullwidth_punct: Optional[bool] = typer.Option(None, "--fullwidth-punct", help="CoNLL: map ASCII punctuation tokens (UD 1.3) to full-width"),
    max_docs: int = typer.Option(0, "--max-docs", min=0, help="Keep only the first N sentences (0: all), e.g. for smoke tests"),
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
    (docbin keeps its tokens); the others give words. Files in UTF-8,
    UTF-16 (BOM) or GB18030/GBK are decoded (--encoding for others).
    """
    report = ConversionReport(name=f"{fmt.value}: {input_path}")
    with clear_errors(report):
        _check_outputs(output_path, dev_output, dev_fraction)
        options: Dict[str, Any] = dict(
            encoding=encoding, on_error=_value(on_error), overlap=_value(overlap), scheme=_value(scheme),
            ner_tag_column=ner_tag_column, offsets=_value(offsets), tag_column=tag_column,
            upos_column=upos_column, spaces=_value(spaces), fullwidth_punct=fullwidth_punct,
        )
        docs = convert_file(
            fmt.value, input_path, Vocab(), report, labels=labels.value, label_map_path=label_map,
            allow_no_entities=allow_no_entities, **options,
        )
        docs = _limit(docs, max_docs, report)
        report.print()
        _write_with_dev_split(docs, output_path, dev_output, dev_fraction, seed)
        if report_path is not None:
            report_path.parent.mkdir(parents=True, exist_ok=True)
            srsly.write_json(report_path, report.to_dict())


def _check_outputs(output_path: Path, dev_output: Optional[Path], dev_fraction: float) -> None:
    """RAISES (ValueError): --dev-output without a usable --dev-fraction, or
    an output path that is a folder (checked before a long conversion)."""
    if dev_output is not None and not 0 < dev_fraction < 1:
        raise ValueError("--dev-output needs --dev-fraction between 0 and 1")
    for path in (output_path, dev_output):
        if path is not None:
            check_output_file(path)


def _write_with_dev_split(
    docs: List[Doc], output_path: Path, dev_output: Optional[Path], dev_fraction: float, seed: int
) -> None:
    """Write the Docs to output_path; with dev_output, a dev_fraction of them
    (chosen by seed) go there instead."""
    if dev_output is None:
        write_docs(docs, output_path)
        msg.good(f"Wrote {len(docs):,} docs to {output_path}")
        return
    train, dev = split_docs(docs, dev_fraction, seed)
    write_docs(train, output_path)
    write_docs(dev, dev_output)
    msg.good(f"Wrote {len(train):,} docs to {output_path} and {len(dev):,} to {dev_output} (seed {seed})")


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
    name: Preset = typer.Argument(..., help="Corpus preset"),
    asset_dir: Path = typer.Argument(..., help="Directory with the corpus files as released (not read for files given by --train/--dev/--test)", file_okay=False),
    output_dir: Path = typer.Argument(..., help="Writes train.spacy, dev.spacy, test.spacy and report.json here"),
    train: str = typer.Option("", "--train", help="Train file (or a directory with the preset's file); required for custom"),
    dev: str = typer.Option("", "--dev", help="Dev file; none for custom: a dev split is taken from train (--dev-fraction)"),
    test: str = typer.Option("", "--test", help="Test file; required for custom"),
    fmt: Optional[Format] = typer.Option(None, "--format", help="Force a format for --train/--dev/--test files (default: the preset's; custom detects)"),
    encoding: Optional[str] = typer.Option(None, "--encoding", help=ENCODING_HELP),
    allow_no_entities: bool = typer.Option(False, "--allow-no-entities", help=NO_ENTITIES_HELP),
    scheme: Optional[Scheme] = typer.Option(None, "--scheme", help="Character-per-line tags"),
    labels: Labels = typer.Option("none", "--labels", help="NER label map"),
    label_map: str = typer.Option("", "--label-map", help="JSON label map file: old -> new, or null to drop (counted)"),
    overlap: Optional[Overlap] = typer.Option(None, "--overlap", help="Span formats, overlapping spans: longest (default) or stop"),
    dev_fraction: float = typer.Option(0.1, "--dev-fraction", help="Share of train used as dev for corpora without a dev file"),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split"),
    on_error: Optional[OnError] = typer.Option(None, "--on-error", help="stop (default; file:line: reason) or skip (counted)"),
    max_docs: int = typer.Option(0, "--max-docs", min=0, help="Keep only the first N sentences of each split (0: all)"),
) -> None:
    """Convert one corpus to train/dev/test .spacy files using its preset
    (file names, format, splits; see spacy_zh_mtl.corpora.presets). The
    preset `custom` takes your own files (--train, --dev, --test) in any NER
    format of `convert`, detected per file.
    """
    preset = get_preset(name.value)
    files = preset_files(name.value, asset_dir, output_dir, {"train": train, "dev": dev, "test": test})
    options = {**preset.options, "encoding": encoding, "on_error": _value(on_error),
               "overlap": _value(overlap), "scheme": _value(scheme)}
    label_options = {"labels": labels.value, "label_map_path": Path(label_map) if label_map else None,
                     "allow_no_entities": allow_no_entities}
    vocab = Vocab()
    reports: Dict[str, ConversionReport] = {}
    splits: Dict[str, List[Doc]] = {}
    for split, (path, from_preset) in files.items():
        if path is None:
            continue
        split_fmt = fmt.value if fmt is not None else (preset.fmt if from_preset else "auto")
        reports[split] = ConversionReport(name=f"{name.value} {split}: {path}")
        splits[split] = _convert_split(path, split_fmt, vocab, reports[split], options, label_options)
    if files["dev"][0] is None:
        train_docs, dev_docs = split_docs(splits["train"], dev_fraction, seed)
        reports["train"].count("sentences moved to dev (--dev-fraction)", len(dev_docs))
        splits["train"], splits["dev"] = train_docs, dev_docs
    _write_splits(name.value, splits, reports, output_dir, max_docs)
    if files["dev"][0] is None:
        msg.info(f"dev = {dev_fraction:.0%} of {files['train'][0]} (seed {seed})")
    srsly.write_json(output_dir / "report.json", {k: r.to_dict() for k, r in reports.items()})


def preset_files(
    name: str, asset_dir: Path, output_dir: Path, given: Dict[str, str]
) -> Dict[str, Tuple[Optional[Path], bool]]:
    """The file of each split (`split_file`) of the preset `name`.

    given: split -> the file or folder given on the command line ("" for none).
    RAISES (ValueError): No train or test file, or output_dir is a file.
    """
    preset = get_preset(name)
    files = {
        split: split_file(split, given[split], getattr(preset, split), asset_dir)
        for split in ("train", "dev", "test")
    }
    for split in ("train", "test"):
        if files[split][0] is None:
            raise ValueError(f"{name}: give the {split} file with --{split}")
    if output_dir.is_file():
        raise ValueError(f"output {output_dir} is a file; give a folder for train.spacy, dev.spacy and test.spacy")
    return files


def _convert_split(
    path: Path,
    fmt: str,
    vocab: Vocab,
    report: ConversionReport,
    options: Dict[str, Any],
    label_options: Dict[str, Any],
) -> List[Doc]:
    """The Docs of one split's file; bad input ends in a message after the
    report of what was read."""
    with clear_errors(report):
        if not path.is_file():
            raise ValueError(f"Missing corpus file {path} (see assets/README.md)")
        return convert_file(fmt, path, vocab, report, **label_options, **options)


def _write_splits(
    name: str,
    splits: Dict[str, List[Doc]],
    reports: Dict[str, ConversionReport],
    output_dir: Path,
    max_docs: int,
) -> None:
    """Write each split to OUTPUT_DIR/SPLIT.spacy (the first max_docs Docs;
    0: all) and print its report (one is added for a split without)."""
    for split, docs in splits.items():
        report = reports.setdefault(split, ConversionReport(name=f"{name} {split}"))
        docs = _limit(docs, max_docs, report)
        write_docs(docs, output_dir / f"{split}.spacy")
        report.print()
        msg.good(f"{split}: {len(docs):,} docs -> {output_dir / f'{split}.spacy'}")


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
