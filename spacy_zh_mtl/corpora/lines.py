"""Reading corpus files line by line: encoding, BOM, CRLF and blank-line blocks."""
import io
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from .conversion_report import ConversionReport, where
from .encoding import decode_file

BOM = "\ufeff"
Line = Tuple[int, str]


def read_text(path: Union[str, Path], report: ConversionReport, encoding: Optional[str] = None) -> str:
    """The decoded text of a corpus file (`encoding.decode_file`; None detects).

    An encoding other than plain UTF-8 is noted in the report.
    RAISES (CorpusFormatError): The file cannot be decoded.
    """
    decoded = decode_file(path, encoding)
    if decoded.encoding != "utf-8" or decoded.how == "given":
        report.notes["encoding"] = f"{decoded.encoding} ({decoded.how})"
    return decoded.text


def iter_lines(path: Union[str, Path], text: str, report: ConversionReport) -> Iterator[Line]:
    """Yield (line number, line) of a file's text, line ends removed, 1-based.

    A BOM at the start is removed and CRLF line ends are read as LF; both are
    counted as repairs.
    """
    n_crlf = 0
    # newline="": split on any line end but keep it, so CRLF can be counted
    for i, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.endswith("\r\n"):
            line = line[:-2]
            n_crlf += 1
        elif line.endswith("\n") or line.endswith("\r"):
            line = line[:-1]
        if i == 1 and line.startswith(BOM):
            line = line[1:]
            report.repair("UTF-8 BOM removed", where(path, 1))
        yield i, line
    if n_crlf:
        report.repair("CRLF line end read as LF", str(path), n=n_crlf)


def read_lines(
    path: Union[str, Path], report: ConversionReport, encoding: Optional[str] = None
) -> Iterator[Line]:
    """Yield (line number, line) of a corpus file (see `read_text`, `iter_lines`)."""
    yield from iter_lines(path, read_text(path, report, encoding), report)


def read_blocks(
    path: Union[str, Path], report: ConversionReport, encoding: Optional[str] = None
) -> Iterator[Tuple[int, List[Line]]]:
    """Yield (first line number, lines) per blank-line-separated block.

    Lines that are empty or whitespace only separate blocks. A whitespace-only
    separator and an empty block (two separators in a row) are counted.
    """
    block: List[Line] = []
    start = 0
    for i, line in read_lines(path, report, encoding):
        if line.strip() == "":
            if line:
                report.repair("whitespace-only line read as a sentence break", where(path, i))
            if block:
                yield start, block
                block = []
            else:
                report.skip("empty sentence (extra blank line)", where(path, i))
            continue
        if not block:
            start = i
        block.append((i, line))
    if block:
        yield start, block
