"""How the commands fail: a clear message and exit code 1, never a traceback."""
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterable, Iterator, Optional, Type, cast

from wasabi import msg

from ..corpora.conversion_report import ConversionReport, CorpusFormatError


@contextmanager
def clear_errors(report: Optional[ConversionReport] = None) -> Iterator[None]:
    """Turn the errors of bad input into a message and exit code 1.

    report: Printed before a CorpusFormatError, to show what was read up to it.
    Caught: CorpusFormatError and ValueError (bad content or options), OSError
    (missing files, folders where files are expected, permissions). Other
    exceptions are bugs and keep their traceback.
    """
    try:
        yield
    except CorpusFormatError as err:
        if report is not None:
            report.print()
        msg.fail(str(err), exits=1)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    except OSError as err:
        # "[Errno 21] Is a directory: 'x'" -> "x: Is a directory"
        text = f"{err.filename}: {err.strerror}" if err.filename and err.strerror else str(err)
        msg.fail(text, exits=1)


def check_output_file(path: Path) -> None:
    """RAISES (ValueError): The output path is a folder (checked before a long conversion)."""
    if path.is_dir():
        raise ValueError(f"output {path} is a folder; give a file name such as {path / 'train.spacy'}")


class Choice(str, Enum):
    """A command-line choice: typer checks it and lists the members in --help.

    The subclasses, made by `choices`, get their members from the tables in
    `corpora`, so that each name is written once. Type checkers cannot see
    members made at run time: the commands declare them as Choice under
    TYPE_CHECKING.
    """


def choices(name: str, values: Iterable[str]) -> Type[Choice]:
    """A Choice subclass with one member per value."""
    return cast(Type[Choice], Enum(name, {value: value for value in values}, type=Choice))
