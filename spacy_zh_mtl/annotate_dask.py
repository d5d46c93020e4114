"""Annotating a corpus on a Dask cluster (optional extra: `pip install spacy-zh-mtl[distributed]`).

The records are read where the client runs, with the reader of
`spacy-zh-mtl annotate` (same bad-line report), put into a `dask.bag` and
annotated partition by partition with `map_partitions`; each worker loads the
pipeline once (cached per process by model name) and formats the output with
the CLI's `doc_to_record`, so the records equal the CLI's JSONL records. The
bag keeps the input order.

    from dask.distributed import Client, LocalCluster
    from spacy_zh_mtl.annotate import ReadReport, read_records
    from spacy_zh_mtl.annotate_dask import annotate_bag, write_jsonl

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        report = ReadReport("corpus.jsonl")
        records = list(read_records("corpus.jsonl", report=report))
        bag = annotate_bag(records, "path/to/pipeline", npartitions=16)
        write_jsonl(bag, "annotated.jsonl")
        # or one file per partition:
        # bag.map(json.dumps, ensure_ascii=False).to_textfiles("out/*.jsonl")

On a real cluster the model must be loadable under the same name on every
worker (an installed package, or a path on a shared file system). There is no
resume here: a failed partition is recomputed by Dask; for restartable runs on
one machine use the CLI.
"""
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Union

from spacy.language import Language

from .annotate import Record, annotate_records, record_line

_loads: int = 0  # pipelines loaded in this process (read by the tests on each worker)


@lru_cache(maxsize=4)
def load_pipeline(model: str) -> Language:
    """spacy.load once per worker process and model."""
    import spacy

    global _loads
    _loads += 1
    return spacy.load(model)


def pipelines_loaded() -> int:
    """How many pipelines this process has loaded."""
    return _loads


def annotate_partition(
    records: Iterable[Record], model: str, tokens: bool = False, batch_size: int = 64
) -> List[Dict[str, Any]]:
    """Output records of one partition of (text, meta) records."""
    nlp = load_pipeline(model)
    return list(annotate_records(nlp, records, tokens=tokens, batch_size=batch_size))


def annotate_bag(
    records: Sequence[Record], model: Union[str, Path], *, npartitions: int = 8,
    tokens: bool = False, batch_size: int = 64,
) -> Any:
    """A dask.bag of output records (input order) for (text, meta) records."""
    import dask.bag as db

    bag = db.from_sequence(records, npartitions=npartitions)
    return bag.map_partitions(
        annotate_partition, str(model), tokens=tokens, batch_size=batch_size
    )


def write_jsonl(bag: Any, path: Union[str, Path]) -> int:
    """Write a bag of records to one JSONL file in order, with the current
    distributed Client computing all partitions at once.

    RETURNS (int): records written.
    """
    from dask.distributed import get_client

    futures = get_client().compute(bag.to_delayed())
    n = 0
    with Path(path).open("w", encoding="utf8") as f:
        for future in futures:
            for record in future.result():
                f.write(record_line(record))
                n += 1
            future.release()  # the written partition can leave the worker's memory
    return n
