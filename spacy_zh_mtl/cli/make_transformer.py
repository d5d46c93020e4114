"""`make-transformer`: write a tiny random BERT with a vocabulary from a corpus."""
from pathlib import Path
from typing import List

import typer

from ..prep.tiny_transformer import make_tiny_transformer, read_texts
from . import app


@app.command("make-transformer")
def make_transformer_cli(
    output_dir: Path = typer.Argument(..., help="Directory to write the model and tokenizer to", file_okay=False),
    corpus: List[Path] = typer.Argument(..., help="Corpus files: .spacy, .jsonl/.json with a 'text' field, or text with one text per line", exists=True, dir_okay=False),
    hidden_size: int = typer.Option(128, "--hidden-size", help="Width of the hidden layers"),
    layers: int = typer.Option(2, "--layers", help="Number of transformer layers"),
    heads: int = typer.Option(2, "--heads", help="Number of attention heads"),
    intermediate_size: int = typer.Option(256, "--intermediate-size", help="Width of the feed-forward layers"),
    max_positions: int = typer.Option(512, "--max-positions", help="Maximum sequence length in wordpieces"),
    vocab_size: int = typer.Option(8000, "--vocab-size", help="Target vocabulary size (all corpus characters are always kept)"),
    min_frequency: int = typer.Option(1, "--min-frequency", help="Minimum frequency of a merged subword"),
    seed: int = typer.Option(0, "--seed", help="Seed for the random initialisation"),
) -> None:
    """Make a small randomly initialised BERT, fully offline, for tests and smoke runs.

    Every character of the corpus gets its own vocabulary entry, so Chinese
    characters are never [UNK]. Load it with the spacy-transformers component
    by setting `name` to OUTPUT_DIR.
    """
    try:
        make_tiny_transformer(
            output_dir,
            read_texts(corpus),
            hidden_size=hidden_size,
            num_layers=layers,
            num_heads=heads,
            intermediate_size=intermediate_size,
            max_position_embeddings=max_positions,
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            seed=seed,
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
