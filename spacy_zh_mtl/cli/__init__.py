"""Command line: `python -m spacy_zh_mtl COMMAND` (also installed as `spacy-zh-mtl`)."""
import functools
from typing import Any, Callable

import typer

app = typer.Typer(
    name="spacy-zh-mtl",
    help="Data preparation and helpers for the zh_mtl_ner spaCy project.",
    no_args_is_help=True,
    add_completion=False,
)

# Each command module registers itself on `app` when imported.
from . import make_transformer  # noqa: E402,F401
from . import convert  # noqa: E402,F401
from . import train_segmenter  # noqa: E402,F401
from . import preannotate  # noqa: E402,F401
from . import report  # noqa: E402,F401
from . import corpus_stats  # noqa: E402,F401
from . import annotate  # noqa: E402,F401
from .errors import clear_errors  # noqa: E402


def _with_clear_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The command, with bad input (ValueError, OSError) ending in a message
    and exit code 1 instead of a traceback (`errors.clear_errors`)."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        with clear_errors():
            return callback(*args, **kwargs)

    return run


for _command in app.registered_commands:
    _command.callback = _with_clear_errors(_command.callback)
