"""Reading corpus files line by line: BOM, CRLF and blank-line blocks."""
from pathlib import Path
from typing import Iterator, List, Tuple, Union

from .conversion_report import ConversionReport, where

BOM = "\ufeff"
Line = Tuple[int, str]


def read_lines(path: Union[str, Path], report: ConversionReport) -> Iterator[Line]:
    """Yield (line number, line) with the line end removed, 1-based numbers.

    A UTF-8 BOM at the start of the file is removed and CRLF line ends are
    read as LF; both are counted as repairs. The file must be UTF-8.
    """
    path = Path(path)
    n_crlf = 0
    with path.open("r", encoding="utf8", newline="") as f:
        for i, line in enumerate(f, start=1):
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


def read_blocks(
    path: Union[str, Path], report: ConversionReport
) -> Iterator[Tuple[int, List[Line]]]:
    """Yield (first line number, lines) per blank-line-separated block.

    Lines that are empty or whitespace only separate blocks. A whitespace-only
    separator and an empty block (two separators in a row) are counted.
    """
    block: List[Line] = []
    start = 0
    for i, line in read_lines(path, report):
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
