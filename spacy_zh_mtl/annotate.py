"""Annotating a corpus with any spaCy pipeline, resumably.

Input (by suffix, or `input_format`): text lines (one record per line, blank
lines included, so output record i is input line i), JSONL (`.jsonl`,
`.ndjson`: one JSON object per line, the text under `text_key`; the other
fields are kept under the output record's "meta") or a `.spacy` file (each
Doc's text is annotated anew). Input must be UTF-8; a BOM is removed.

Output: JSONL (one record per good input record, in input order; see
`doc_to_record`) or, for a `.spacy` path, a DocBin.

Resume: the output is written batch by batch, so that a rerun after an
interruption (also SIGKILL) continues where the last run stopped. JSONL: each
batch is written and flushed (fsync at most once a second and at the end); a
rerun truncates a trailing partial line, counts the complete records and skips
as many good input records. DocBin: each chunk of docs is written atomically
to `OUTPUT.parts/` and the chunks are merged into OUTPUT at the end.

Bad lines (broken JSON, no text, undecodable bytes) are skipped and counted
in a `ReadReport`, with the first few line numbers and contents.
"""
import itertools
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

INPUT_FORMATS = ("auto", "text", "jsonl", "spacy")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
Meta = Optional[Dict[str, Any]]
Record = Tuple[str, Meta]

MAX_EXAMPLES = 5
MAX_QUOTE = 200
UTF8_BOM = b"\xef\xbb\xbf"
# Bytes read to tell a file in another encoding from a few bad lines.
ENCODING_SAMPLE = 1 << 16
FSYNC_INTERVAL = 1.0
DOCBIN_CHUNK = 1000
PARTS_SUFFIX = ".parts"
_pdeathsig_installed = False  # see workers_die_with_this_process


class AnnotateError(Exception):
    """A problem with the input or output that stops the run (a clear message, no traceback)."""


@dataclass
class BadLine:
    """A skipped input line: 1-based number, reason and content (quoted, shortened)."""

    line: int
    reason: str
    content: str


@dataclass
class ReadReport:
    """What was read from the input: good records, characters, bad lines."""

    path: str
    records: int = 0
    chars: int = 0
    n_bad: int = 0
    bad: List[BadLine] = field(default_factory=list)

    def add_bad(self, line: int, reason: str, content: str) -> None:
        """Count a bad line; keep the first MAX_EXAMPLES."""
        self.n_bad += 1
        if len(self.bad) < MAX_EXAMPLES:
            self.bad.append(BadLine(line, reason, quote(content)))

    def bad_lines_summary(self) -> List[str]:
        """ "N bad lines skipped", then the first few as "file:line: reason: content"."""
        lines = [f"{self.n_bad:,} bad input line{'s' if self.n_bad != 1 else ''} skipped"]
        lines += [f"  {self.path}:{b.line}: {b.reason}: {b.content}" for b in self.bad]
        if self.n_bad > len(self.bad):
            lines.append(f"  ... and {self.n_bad - len(self.bad):,} more")
        return lines


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """repr() of text cut to `limit` characters (with "..." when cut)."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def resolve_input_format(path: Path, input_format: str = "auto") -> str:
    """The input format: as given, or from the suffix (.jsonl/.ndjson, .spacy, else text)."""
    if input_format not in INPUT_FORMATS:
        raise AnnotateError(f"Unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}")
    if input_format != "auto":
        return input_format
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    return "spacy" if suffix == ".spacy" else "text"


def check_utf8(path: Path) -> None:
    """Raise AnnotateError when the start of the file reads as another encoding.

    A few undecodable lines are skipped as bad lines; a file where at least as
    many non-ASCII lines fail as decode (e.g. GB18030) is stopped at once.
    """
    with path.open("rb") as f:
        sample = f.read(ENCODING_SAMPLE)
        at_end = not f.read(1)
    lines = sample.split(b"\n")
    if not at_end:
        lines = lines[:-1]  # possibly cut inside a character
    good, bad, first_bad = 0, 0, 0
    for i, raw in enumerate(lines, start=1):
        if raw.isascii():
            continue
        try:
            raw.decode("utf8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
            first_bad = first_bad or i
    if bad and bad >= good:
        raise AnnotateError(
            f"{path}:{first_bad}: not UTF-8 ({bad} of {good + bad} non-ASCII lines in the first "
            f"{len(sample):,} bytes cannot be decoded); annotate reads UTF-8 only: convert the file "
            "first, e.g. `iconv -f GB18030 -t UTF-8`"
        )


def _decoded_lines(path: Path, report: ReadReport) -> Iterator[Tuple[int, str]]:
    """(line number, line) of a UTF-8 file without line ends; undecodable lines are reported."""
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if i == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                yield i, raw.decode("utf8")
            except UnicodeDecodeError as err:
                reason = f"not UTF-8 (byte 0x{raw[err.start]:02x} at byte {err.start + 1})"
                report.add_bad(i, reason, raw.decode("utf8", errors="replace"))


def parse_jsonl_line(line: str, text_key: str = "text") -> Record:
    """(text, meta) of a JSONL line; meta holds the other fields (None if there are none).

    Raises ValueError with the reason for a line that is not a record.
    """
    if not line.strip():
        raise ValueError("blank line")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"not a JSON object but {type(obj).__name__}")
    if text_key not in obj:
        raise ValueError(f"no {text_key!r} field (see --text-key)")
    text = obj.pop(text_key)
    if not isinstance(text, str):
        raise ValueError(f"{text_key!r} is {type(text).__name__}, not a string")
    return text, (obj or None)


def read_records(
    path: Union[str, Path], input_format: str = "auto", text_key: str = "text",
    report: Optional[ReadReport] = None,
) -> Iterator[Record]:
    """The (text, meta) of each good input record, in order; bad lines go to `report`.

    The format and the encoding are checked at once (AnnotateError), before
    the first record is asked for.
    """
    path = Path(path)
    report = report if report is not None else ReadReport(str(path))
    fmt = resolve_input_format(path, input_format)
    if fmt == "spacy":
        try:
            docbin = DocBin().from_disk(path)
        except Exception as err:  # DocBin raises zlib/msgpack/KeyError errors for non-DocBin bytes
            raise AnnotateError(f"{path}: not a .spacy (DocBin) file ({type(err).__name__}: {err})") from None
        return _docbin_records(docbin, report)
    check_utf8(path)
    return _line_records(path, fmt == "jsonl", text_key, report)


def _docbin_records(docbin: DocBin, report: ReadReport) -> Iterator[Record]:
    for doc in docbin.get_docs(Vocab()):
        report.records += 1
        report.chars += len(doc.text)
        yield doc.text, None


def _line_records(path: Path, jsonl: bool, text_key: str, report: ReadReport) -> Iterator[Record]:
    for i, line in _decoded_lines(path, report):
        if jsonl:
            try:
                record = parse_jsonl_line(line, text_key)
            except ValueError as err:
                report.add_bad(i, str(err), line)
                continue
        else:
            record = (line, None)
        report.records += 1
        report.chars += len(record[0])
        yield record


def doc_to_record(
    doc: Doc, meta: Meta = None, tokens: bool = False, text: Optional[str] = None
) -> Dict[str, Any]:
    """The output record of a Doc: text, entities (character offsets), tokens, meta.

    text: The input text, when known: doc.text rebuilds it token by token,
        which costs as much as a fast pipeline (spaCy's tokenizers keep the
        text, so the two are equal).

    entities: [{"start", "end", "label", "text"}]; with tokens=True also
    tokens: [{"start", "end", "text", "tag"}] (tag None where the pipeline sets
    none); "meta" (the input record's other fields) only when there are any.
    """
    text = doc.text if text is None else text
    entities = []
    for ent in doc.ents:
        start, end = ent.start_char, ent.end_char
        entities.append({"start": start, "end": end, "label": ent.label_, "text": text[start:end]})
    record: Dict[str, Any] = {"text": text, "entities": entities}
    if tokens:
        record["tokens"] = [
            {"start": t.idx, "end": t.idx + len(t.text), "text": t.text, "tag": t.tag_ or None}
            for t in doc
        ]
    if meta:
        record["meta"] = meta
    return record


def pipe_records(
    nlp: Language, records: Iterable[Record], *, n_process: int = 1, batch_size: int = 64
) -> Iterator[Tuple[Doc, Record]]:
    """nlp.pipe over (text, meta) records: (doc, record) pairs in input order.

    The record travels with its doc so that the text need not be rebuilt from
    the doc (see doc_to_record). Only the texts go through nlp.pipe: with
    as_tuples=True and n_process > 1, spaCy tokenizes in the main process and
    ships Docs to the workers, twice as slow. Raises AnnotateError if the
    pipeline drops a doc (an error handler that skips errors), as the records
    would no longer match.
    """
    records, for_texts = itertools.tee(records)
    docs = nlp.pipe((text for text, _ in for_texts), n_process=n_process, batch_size=batch_size)
    for doc, record in zip(docs, records):
        # doc.text costs a pass over the tokens; its length is O(1) and catches a shift.
        if (doc[-1].idx + len(doc[-1].text_with_ws) if len(doc) else 0) != len(record[0]):
            raise AnnotateError(f"The pipeline returned a doc that is not the text {quote(record[0], 60)}")
        yield doc, record
    if next(records, None) is not None:
        raise AnnotateError("The pipeline returned fewer docs than texts (does an error handler skip docs?)")


# One encoder for all records: json.dumps with options builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def record_line(record: Dict[str, Any]) -> str:
    """A record as one JSONL line (with its newline), characters as they are."""
    return _JSON_ENCODER.encode(record) + "\n"


def _fsync_path(path: Path) -> None:
    """fsync a file or folder by path (folders make a rename durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JsonlWriter:
    """Appends JSONL records batch by batch; `start` prepares a resume."""

    def __init__(self, path: Path, tokens: bool = False) -> None:
        self.path = path
        self.tokens = tokens
        self._buffer: List[bytes] = []
        self._file: Any = None
        self._last_sync = 0.0

    def start(self, overwrite: bool) -> Tuple[int, Optional[str]]:
        """Open for appending. RETURNS: (records already written, text of the last one)."""
        if overwrite and self.path.exists():
            self.path.unlink()
        n_done, last_text = 0, None
        if self.path.exists():
            n_done, last_text = _resume_jsonl(self.path)
        self._file = self.path.open("ab")
        return n_done, last_text

    def add(self, doc: Doc, record: Record) -> None:
        text, meta = record
        self._buffer.append(record_line(doc_to_record(doc, meta, self.tokens, text)).encode("utf8"))

    def flush(self, sync: bool = False) -> None:
        """Write the buffered records; fsync when asked or once FSYNC_INTERVAL has passed.

        flush() alone makes the lines survive a killed process; fsync only
        bounds what an OS crash can lose (a resume also handles that).
        """
        if self._buffer:
            self._file.write(b"".join(self._buffer))
            self._buffer = []
        self._file.flush()
        now = time.monotonic()
        if sync or now - self._last_sync >= FSYNC_INTERVAL:
            os.fsync(self._file.fileno())
            self._last_sync = now

    def finish(self) -> None:
        self.flush(sync=True)
        self._file.close()


def _rfind_newline(f: Any, end: int, block: int = 1 << 16) -> int:
    """Offset of the last b"\\n" before `end` in a binary file, or -1."""
    pos = end
    while pos > 0:
        start = max(0, pos - block)
        f.seek(start)
        nl = f.read(pos - start).rfind(b"\n")
        if nl >= 0:
            return start + nl
        pos = start
    return -1


# Every record line starts so (doc_to_record puts "text" first).
RECORD_PREFIX = b'{"text": '


def _resume_jsonl(path: Path, block: int = 1 << 16) -> Tuple[int, Optional[str]]:
    """Cut the partial last line off an annotate JSONL output, after checking that it is one.

    RETURNS: (complete records, text of the last one).
    """
    not_ours = AnnotateError(
        f"{path} exists but is not an annotate JSONL output; use --overwrite or another output path"
    )
    with path.open("r+b") as f:
        end = f.seek(0, os.SEEK_END)
        keep = _rfind_newline(f, end) + 1
        f.seek(keep)
        tail = f.read(end - keep)
        # A partial line must be the start of a record: nothing else is cut off.
        if tail and not (tail.startswith(RECORD_PREFIX) or RECORD_PREFIX.startswith(tail)):
            raise not_ours
        last_text = None
        if keep:
            last_start = _rfind_newline(f, keep - 1) + 1
            f.seek(last_start)
            try:
                last_text = json.loads(f.read(keep - last_start))["text"]
            except (ValueError, KeyError, TypeError):
                raise not_ours from None
        if tail:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        f.seek(0)
        n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(block), b""))
    return n_lines, last_text


class DocBinWriter:
    """Writes Docs in chunks (each written atomically) to OUTPUT.parts/, merged at the end.

    A finished OUTPUT that a rerun continues becomes chunk 0, moved there only
    when a new chunk is written, so that a rerun that stops (another input)
    leaves it where it was. While chunks are waiting, OUTPUT does not exist;
    an OUTPUT beside chunks means the merge finished and the chunks are stale.
    """

    def __init__(self, path: Path, chunk_docs: int = DOCBIN_CHUNK) -> None:
        self.path = path
        self.parts = path.with_name(path.name + PARTS_SUFFIX)
        self.chunk_docs = chunk_docs
        self._docs: List[Doc] = []
        self._index = 0
        self._finished_docs: Optional[int] = None  # docs in a finished OUTPUT not yet moved

    @staticmethod
    def _new_docbin() -> DocBin:
        return DocBin(store_user_data=True)

    def _chunks(self) -> List[Tuple[int, int, Path]]:
        """(index, docs, path) of the complete chunks, in order; unfinished ones removed."""
        chunks = []
        for p in self.parts.iterdir():
            if p.name.endswith(".tmp"):
                p.unlink()
            elif re.fullmatch(r"\d+\.\d+\.spacy", p.name):
                index, n, _ = p.name.split(".")
                chunks.append((int(index), int(n), p))
        return sorted(chunks)

    def start(self, overwrite: bool) -> Tuple[int, Optional[str]]:
        """Prepare the chunk folder. RETURNS: (docs already written, text of the last one)."""
        if overwrite:
            shutil.rmtree(self.parts, ignore_errors=True)
            if self.path.exists():
                self.path.unlink()
        if self.path.exists():
            shutil.rmtree(self.parts, ignore_errors=True)
            try:
                docbin = DocBin().from_disk(self.path)
            except Exception as err:  # non-DocBin bytes raise zlib/msgpack errors
                raise AnnotateError(
                    f"{self.path} exists but is not a .spacy file ({type(err).__name__}); "
                    "use --overwrite or another output path"
                ) from None
            self._finished_docs = len(docbin)
            self._index = 1
            return len(docbin), _last_text(docbin)
        self.parts.mkdir(parents=True, exist_ok=True)
        chunks = self._chunks()
        self._index = chunks[-1][0] + 1 if chunks else 1
        last_text = _last_text(DocBin().from_disk(chunks[-1][2])) if chunks else None
        return sum(n for _, n, _ in chunks), last_text

    def add(self, doc: Doc, record: Record) -> None:
        meta = record[1]
        if meta:
            doc.user_data["meta"] = meta
        self._docs.append(doc)

    def _write_chunk(self, docbin: DocBin, index: int, n_docs: int) -> None:
        tmp = self.parts / f"{index:06d}.tmp"
        docbin.to_disk(tmp)
        _fsync_path(tmp)
        os.replace(tmp, self.parts / f"{index:06d}.{n_docs}.spacy")
        _fsync_path(self.parts)

    def flush(self, sync: bool = False) -> None:
        """Write a chunk once `chunk_docs` docs are waiting (or when `sync`)."""
        if not self._docs or (len(self._docs) < self.chunk_docs and not sync):
            return
        if self._finished_docs is not None:
            self.parts.mkdir()
            os.replace(self.path, self.parts / f"{0:06d}.{self._finished_docs}.spacy")
            _fsync_path(self.parts)
            self._finished_docs = None
        db = self._new_docbin()
        for doc in self._docs:
            db.add(doc)
        self._write_chunk(db, self._index, len(self._docs))
        self._index += 1
        self._docs = []

    def finish(self) -> None:
        """Write the last chunk, merge all chunks into the output and remove them."""
        self.flush(sync=True)
        if self._finished_docs is None:  # else nothing was added to a finished output
            merged = self._new_docbin()
            for _, _, p in self._chunks():
                merged.merge(DocBin(store_user_data=True).from_disk(p))
            tmp = self.path.with_name(self.path.name + ".tmp")
            merged.to_disk(tmp)
            _fsync_path(tmp)
            os.replace(tmp, self.path)
            _fsync_path(self.path.parent)
        shutil.rmtree(self.parts, ignore_errors=True)


def _last_text(docbin: DocBin) -> Optional[str]:
    """Text of the last Doc of a DocBin (None if it has none)."""
    text = None
    for doc in docbin.get_docs(Vocab()):
        text = doc.text
    return text


Writer = Union[JsonlWriter, DocBinWriter]


@dataclass
class AnnotateResult:
    """Counts of one run: records found already written, written now, and the input report."""

    resumed: int
    written: int
    chars: int
    seconds: float
    report: ReadReport


def make_writer(path: Path, tokens: bool = False, chunk_docs: int = DOCBIN_CHUNK) -> Writer:
    """A DocBin writer for a .spacy path, else a JSONL writer."""
    if path.suffix.lower() == ".spacy":
        return DocBinWriter(path, chunk_docs)
    return JsonlWriter(path, tokens)


def annotate_file(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    input_format: str = "auto",
    text_key: str = "text",
    tokens: bool = False,
    n_process: int = 1,
    batch_size: int = 64,
    overwrite: bool = False,
    progress: bool = True,
    chunk_docs: int = DOCBIN_CHUNK,
) -> AnnotateResult:
    """Annotate INPUT with `nlp` into OUTPUT, resuming a run that was interrupted.

    Raises AnnotateError for problems with the paths, the encoding or an
    output that does not continue this input.
    """
    from tqdm import tqdm

    input_path, output_path = Path(input_path), Path(output_path)
    if output_path.is_dir():
        raise AnnotateError(f"The output {output_path} is a folder; give a file path (.jsonl or .spacy)")
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise AnnotateError(f"The output {output_path} is the input; give another path")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    report = ReadReport(str(input_path))
    records = read_records(input_path, input_format, text_key, report)
    writer = make_writer(output_path, tokens, chunk_docs)
    n_done, last_text = writer.start(overwrite)
    _skip_done(records, n_done, last_text, input_path, output_path)
    start = time.perf_counter()
    written = chars = pending = 0
    bar = tqdm(
        desc="annotate", unit="char", unit_scale=True, file=sys.stderr,
        disable=not progress, mininterval=0.5,
    )
    try:
        for doc, record in pipe_records(nlp, records, n_process=n_process, batch_size=batch_size):
            writer.add(doc, record)
            written += 1
            pending += len(record[0])
            if written % batch_size == 0:
                writer.flush()
                bar.update(pending)
                bar.set_postfix(records=f"{n_done + written:,}", refresh=False)
                chars += pending
                pending = 0
        writer.finish()
        bar.set_postfix(records=f"{n_done + written:,}", refresh=False)
    finally:
        bar.update(pending)
        bar.close()
    return AnnotateResult(n_done, written, chars + pending, time.perf_counter() - start, report)


def workers_die_with_this_process() -> None:
    """Linux: processes forked from now on are killed when this process dies.

    nlp.pipe's worker processes (n_process > 1) outlive a parent killed with
    SIGKILL, blocked on a pipe for good, each holding a pipeline in memory.
    Registered once per process; call it only in a process whose forks are
    all workers (the CLI). A no-op where prctl is missing.
    """
    global _pdeathsig_installed
    if _pdeathsig_installed or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return
    pr_set_pdeathsig = 1
    os.register_at_fork(after_in_child=lambda: prctl(pr_set_pdeathsig, int(signal.SIGKILL)))
    _pdeathsig_installed = True


def _skip_done(
    records: Iterator[Record], n_done: int, last_text: Optional[str], input_path: Path, output_path: Path
) -> None:
    """Advance past the records already in the output; check the last one is the same."""
    text = None
    for i in range(n_done):
        try:
            text, _ = next(records)
        except StopIteration:
            raise AnnotateError(
                f"{output_path} has {n_done:,} records but {input_path} only {i:,}: it is not "
                "this input's output; use --overwrite or another output path"
            ) from None
    if n_done and text != last_text:
        raise AnnotateError(
            f"{output_path} does not continue {input_path}: its record {n_done:,} has the text "
            f"{quote(last_text or '', 60)}, the input {quote(text or '', 60)}; use --overwrite "
            "or another output path"
        )


def annotate_records(
    nlp: Language, records: Iterable[Record], *, tokens: bool = False, batch_size: int = 64
) -> Iterator[Dict[str, Any]]:
    """The output records of (text, meta) records, in order (what a JSONL output holds)."""
    for doc, (text, meta) in pipe_records(nlp, records, batch_size=batch_size):
        yield doc_to_record(doc, meta, tokens, text)
