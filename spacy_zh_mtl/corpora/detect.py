"""What format detection looks at in a corpus file (`formats.detect_format`).

- `.spacy` files, or content that starts a zlib stream of a msgpack map (what
  `DocBin.to_bytes` writes): a DocBin.
- JSON (a line or an array starting with `{` / `[`): the records are read in
  order until one has a shape that decides (`jsonspans.record_format`);
  records with a text only do not decide, and a file of them is "spacy". The
  whole file is read, so a long record is no problem.
- anything else is character-per-line: "weibo" when every first column of the
  first sentences is TAB-separated and a character followed by position
  digits, else "chars" (spaces or tabs, scheme detected).
"""
import zlib
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import List, Optional, Union

from .conversion_report import ConversionReport, CorpusFormatError
from .encoding import decode_file
from .jsonspans import iter_json_text, record_format, shape_problem
from .lines import BOM, iter_lines

SAMPLE_LINES = 200
# first bytes of a msgpack map: fixmap, map 16, map 32
MSGPACK_MAPS = {bytes([b]) for b in range(0x80, 0x90)} | {b"\xde", b"\xdf"}


class Sample:
    """A corpus file as format detection sees it; each part is read when first asked for.

    path: The file.
    encoding: Its encoding; None detects it (`corpora.encoding`).
    """

    def __init__(self, path: Union[str, Path], encoding: Optional[str] = None) -> None:
        self.path = Path(path)
        self.encoding = encoding

    @cached_property
    def is_docbin(self) -> bool:
        """A .spacy file, or bytes that start a zlib stream of a msgpack map."""
        if self.path.suffix == ".spacy":
            return True
        with self.path.open("rb") as f:
            head = f.read(256)
        try:
            # a text file fails at once: its first two bytes are no zlib header
            start = zlib.decompressobj().decompress(head)
        except zlib.error:
            return False
        return start[:1] in MSGPACK_MAPS

    @cached_property
    def text(self) -> str:
        """The decoded text, BOM and leading whitespace removed.

        RAISES (CorpusFormatError): The file cannot be decoded, or is empty.
        """
        text = decode_file(self.path, self.encoding).text.lstrip(BOM).lstrip()
        if not text:
            raise CorpusFormatError(self.path, None, "empty file, no format to detect (and nothing to convert)")
        return text

    @cached_property
    def json_format(self) -> Optional[str]:
        """The span JSON format of the records, None if the file is not JSON.

        RAISES (CorpusFormatError): Invalid JSON, or a record of no known shape.
        """
        if self.text[0] not in "[{":
            return None
        for line, record in iter_json_text(self.path, self.text, ConversionReport(), "stop"):
            fmt = record_format(record)
            if fmt is None:
                problem = shape_problem(record) if isinstance(record, dict) else "record is not a JSON object"
                raise CorpusFormatError(self.path, line, f"JSON of an unknown shape: {problem}")
            if fmt != "plain":
                return fmt
        return "spacy"

    @cached_property
    def first_lines(self) -> List[str]:
        """The first non-empty lines of the text."""
        lines = (line for _, line in iter_lines(self.path, self.text, ConversionReport()) if line.strip())
        return list(islice(lines, SAMPLE_LINES))

    def is_weibo(self) -> bool:
        """Every first column is TAB-separated: a character (or two U+FFFD)
        followed by its position digits.
        """
        items = [line.split("\t")[0] if "\t" in line else "" for line in self.first_lines]
        return bool(items) and all(len(item) >= 2 and item[-1] in "0123456789" for item in items)
