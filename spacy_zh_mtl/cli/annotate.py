"""`annotate`: run any spaCy pipeline over a corpus into JSONL or .spacy, resumably."""
from pathlib import Path

import typer
from wasabi import msg

from ..annotate import INPUT_FORMATS, AnnotateError, annotate_file, workers_die_with_this_process
from . import app


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or directory", metavar="MODEL"),
    input_path: Path = typer.Argument(..., help="Text lines, JSONL (.jsonl/.ndjson) or .spacy; UTF-8", exists=True, dir_okay=False, metavar="INPUT"),
    output_path: Path = typer.Argument(..., help="JSONL file, or a .spacy path for a DocBin", metavar="OUTPUT"),
    input_format: str = typer.Option("auto", "--input-format", help=f"{'|'.join(INPUT_FORMATS)}; auto: by the suffix (.jsonl/.ndjson, .spacy, else text lines)"),
    text_key: str = typer.Option("text", "--text-key", help="JSONL field with the text; the other fields go to the output's meta"),
    tokens: bool = typer.Option(False, "--tokens", help="JSONL output: also tokens with offsets and tags"),
    n_process: int = typer.Option(1, "--n-process", min=1, help="Worker processes (nlp.pipe n_process)"),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Docs per batch (nlp.pipe batch_size); output is flushed every batch"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh instead of resuming an existing output"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar (chars/s) on stderr"),
) -> None:
    """Annotate a corpus with a spaCy pipeline: one output record per input record,
    in input order. Rerun the same command after an interruption to resume.
    """
    import spacy

    if output_path.is_dir():
        msg.fail(f"The output {output_path} is a folder; give a file path (.jsonl or .spacy)", exits=1)
    if tokens and output_path.suffix.lower() == ".spacy":
        msg.warn("--tokens applies to JSONL output only (a .spacy output holds the tokens anyway)")
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        # spaCy's messages (E050 no such package or folder, E002 unknown factory...) say why.
        msg.fail(f"Cannot load the pipeline {model!r}", str(err).splitlines()[0], exits=1)
    if n_process > 1:
        workers_die_with_this_process()
    try:
        result = annotate_file(
            nlp, input_path, output_path, input_format=input_format, text_key=text_key,
            tokens=tokens, n_process=n_process, batch_size=batch_size, overwrite=overwrite,
            progress=progress,
        )
    except AnnotateError as err:
        msg.fail(str(err), exits=1)
    except OSError as err:  # e.g. no permission to write OUTPUT, a full disk
        msg.fail(f"{type(err).__name__}: {err}", exits=1)
    except KeyboardInterrupt:
        msg.warn("Interrupted; run the same command again to continue")
        raise typer.Exit(130) from None
    report = result.report
    if report.n_bad:
        first, *examples = report.bad_lines_summary()
        msg.warn(first)
        for line in examples:
            print(line)
    if result.resumed:
        msg.info(f"Resumed: {result.resumed:,} records were already in {output_path}")
    if report.records == 0:
        if report.n_bad:
            msg.fail(f"No good record in {input_path}: all {report.n_bad:,} lines were bad", exits=1)
        msg.warn(f"{input_path} has no records; wrote an empty {output_path}")
        return
    rate = result.chars / result.seconds if result.seconds > 0 else 0.0
    msg.good(
        f"Wrote {result.written:,} records to {output_path} "
        f"({result.resumed + result.written:,} in all; {result.seconds:.1f}s, {rate:,.0f} chars/s)"
    )
