"""Decoding corpus files: UTF-8 (with or without BOM), UTF-16/UTF-32 (BOM) and GB18030.

Chinese corpora come in UTF-8, in GBK/GB2312 (both subsets of GB18030) from
older Windows tools, and in UTF-16 with a BOM from Windows "Unicode" saves.
`decode_file` detects the encoding in this order, or uses the one given:

1. a byte order mark: UTF-8, UTF-16 LE/BE, UTF-32 LE/BE (exact);
2. the whole file is valid UTF-8: UTF-8. Text in another encoding with bytes
   above 0x7F is almost never valid UTF-8, whose multi-byte sequences follow
   strict rules, so this test is reliable;
3. the whole file is valid GB18030 and looks like text (no control
   characters but tab, CR, LF and form feed, no private-use or unassigned
   code points): GB18030. The check turns away binary files and most
   mojibake, since GB18030 accepts many byte sequences;
4. otherwise `CorpusFormatError` names the file, the line of the first byte
   that is not UTF-8 and the encodings tried.

Why no detector library (charset-normalizer, chardet): the candidates are
these few, BOMs and strict UTF-8 are exact, and GB18030 is the one legacy
encoding of Simplified Chinese. A statistical detector chooses among dozens
of codecs, can pick Big5, Shift-JIS or cp1252 for a short Chinese file and
may change its guess between versions; a wrong guess turns a corpus into
mojibake without an error. Other encodings (Big5 …) are given with
`--encoding`.

A UTF-8 file with NUL characters (UTF-16 without a BOM, or binary data) is
rejected with a hint rather than read as text.
"""
import codecs
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

from .conversion_report import CorpusFormatError

# UTF-32 first: its LE BOM starts with the UTF-16 LE BOM
BOMS: Tuple[Tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DETECTED = ("utf-8", "utf-16 (BOM)", "utf-32 (BOM)", "gb18030")
_TEXT_CONTROLS = set("\t\n\r\x0c")


@dataclass(frozen=True)
class DecodedFile:
    """The text of a file and how it was decoded.

    encoding: The codec used ("utf-8", "utf-16", "gb18030" or the one given).
    how: "detected", "BOM" or "given".
    """

    text: str
    encoding: str
    how: str


def check_encoding(name: str) -> str:
    """Return the normalized codec name. RAISES (ValueError): unknown codec."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, gb18030, gbk, utf-16, big5)") from None


def looks_like_text(text: str) -> bool:
    """No control characters (but tab, CR, LF, FF), private-use or unassigned code points."""
    for char in set(text):
        if char in _TEXT_CONTROLS:
            continue
        if unicodedata.category(char) in ("Cc", "Co", "Cn"):
            return False
    return True


def _line_of(raw: bytes, pos: int, encoding: str) -> int:
    """1-based line number of byte offset pos."""
    return raw[:pos].decode(encoding, errors="replace").count("\n") + 1


def _decode_as(raw: bytes, path: Union[str, Path], codec: str, how: str, advice: str) -> DecodedFile:
    """Decode with one codec. RAISES (CorpusFormatError): file:line, the byte and `advice`."""
    try:
        return DecodedFile(raw.decode(codec), codec, how)
    except UnicodeDecodeError as err:
        raise CorpusFormatError(
            path, _line_of(raw, err.start, codec),
            f"byte 0x{raw[err.start]:02x} cannot be decoded as {codec} {advice}",
        ) from None


def decode_bytes(raw: bytes, path: Union[str, Path], encoding: Optional[str] = None) -> DecodedFile:
    """Decode the bytes of `path` (module docstring); encoding None detects it.

    A UTF-8 BOM stays in the text, so that readers count its removal.
    RAISES (CorpusFormatError): The bytes cannot be decoded.
    """
    if encoding is not None:
        codec = check_encoding(encoding)
        advice = f"(--encoding); leave out --encoding to detect {', '.join(DETECTED)}"
        return _decode_as(raw, path, codec, "given", advice)
    for bom, codec in BOMS:
        if raw.startswith(bom):
            advice = f"although the file starts with a {codec} byte order mark; give the encoding with --encoding"
            return _decode_as(raw, path, codec, "BOM", advice)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        utf8_error = err
    else:
        if "\x00" in text:
            raise CorpusFormatError(
                path, text.count("\n", 0, text.index("\x00")) + 1,
                "NUL characters: not a text file, or UTF-16 without a byte order mark "
                "(give --encoding utf-16-le or utf-16-be)",
            )
        return DecodedFile(text, "utf-8", "detected")
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and looks_like_text(text):
        return DecodedFile(text, "gb18030", "detected")
    # ASCII characters in UTF-16 have a NUL byte each
    hint = "UTF-16 without a byte order mark? give --encoding utf-16-le or utf-16-be" if (
        raw[:4096].count(0) > len(raw[:4096]) // 8) else "binary data?"
    raise CorpusFormatError(
        path, _line_of(raw, utf8_error.start, "utf-8"),
        f"byte 0x{raw[utf8_error.start]:02x} is not UTF-8, and the file is not text in "
        f"{', '.join(DETECTED)} either ({hint}); give the encoding with --encoding",
    )


def decode_file(path: Union[str, Path], encoding: Optional[str] = None) -> DecodedFile:
    """Read and decode a corpus file (see `decode_bytes`)."""
    return decode_bytes(Path(path).read_bytes(), path, encoding)
