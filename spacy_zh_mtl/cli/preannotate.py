"""`preannotate`: give NER .spacy files words (pkuseg) and tags (a spaCy tagger)."""
import time
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import srsly
import typer
from wasabi import msg

from ..corpora.docs import read_docs, write_docs
from ..corpora.labels import proper_noun_tag
from ..prep.preannotate import PreannotationStats, preannotate_docs
from ..prep.pkuseg_training import load_pkuseg
from . import app


def parse_entity_tags(values: List[str]) -> Dict[str, str]:
    """Parse LABEL=TAG pairs."""
    out = {}
    for value in values:
        label, sep, tag = value.partition("=")
        if not sep or not label or not tag:
            raise typer.BadParameter(f"--entity-tag expects LABEL=TAG, got {value!r}")
        out[label] = tag
    return out


def print_stats(stats: PreannotationStats, top_tags: int = 0) -> None:
    """Print the counts of a pre-annotation run."""
    msg.info(
        f"sentences {stats.sentences:,}, segmenter words {stats.segmenter_words:,}, "
        f"tokens written {stats.tokens:,}"
    )
    msg.text(
        f"words split at entity boundaries: {stats.words_split:,} "
        f"(+{stats.split_pieces:,} tokens); entities merged: {stats.entities_merged:,} "
        f"({stats.words_merged:,} words); entity tokens retagged: {stats.entity_tags_changed:,}"
    )
    show = msg.good if stats.entities_kept == stats.entities else msg.fail
    show(f"entities kept: {stats.entities_kept:,} of {stats.entities:,}")
    if stats.labels:
        msg.text("entities: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.labels.items())))
    tags = stats.tags.most_common(top_tags or None)
    msg.text("tags: " + ", ".join(f"{t or '(none)'} {n:,}" for t, n in tags))


@app.command("preannotate")
def preannotate_cli(
    input_path: Path = typer.Argument(..., help="NER .spacy file (e.g. one token per character)", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    segmenter: Path = typer.Option(..., "--segmenter", help="pkuseg model directory (train-segmenter)", exists=True, file_okay=False),
    tagger: Path = typer.Option(..., "--tagger", help="spaCy pipeline with a tagger (configs/preannotation_tagger.cfg)", exists=True, file_okay=False),
    merge_entities: bool = typer.Option(True, "--merge-entities/--no-merge-entities", help="Merge the words inside an entity into one word (the paper's choice)"),
    entity_tag: List[str] = typer.Option([], "--entity-tag", help="LABEL=TAG for entity tokens; repeatable"),
    default_entity_tag: Optional[str] = typer.Option(None, "--default-entity-tag", help="Tag of entity tokens of other labels (default: the tagger's proper-noun tag NR/NNP/PROPN; 'keep': the tagger's own tags)"),
    user_dict: str = typer.Option("none", "--user-dict", help="pkuseg dictionary: none (the model alone), default (spaCy's default) or a file; use what the pipeline's tokenizer uses"),
    stats_path: Optional[Path] = typer.Option(None, "--stats", help="Write the counts as JSON"),
) -> None:
    """Pre-annotate an NER corpus: words from pkuseg, tags from a tagger,
    re-cut so that entity boundaries win; entity tokens take the entity's tag.
    """
    nlp = spacy.load(tagger)
    if "tagger" not in nlp.pipe_names:
        msg.fail(f"No 'tagger' in the pipeline {tagger}", exits=1)
    labels = nlp.get_pipe("tagger").labels
    if default_entity_tag == "keep":
        ent_default: Optional[str] = None
    elif default_entity_tag:
        ent_default = default_entity_tag
    else:
        try:
            ent_default = proper_noun_tag(labels)
        except ValueError as err:
            msg.fail(str(err), exits=1)
    seg = load_pkuseg(segmenter, user_dict=None if user_dict == "none" else user_dict)
    docs = read_docs(input_path, nlp.vocab)
    msg.info(
        f"Pre-annotating {len(docs):,} docs from {input_path}: entity tag "
        f"{ent_default or 'from the tagger'}, merge entities: {merge_entities}"
    )
    stats = PreannotationStats()
    start = time.time()
    out = list(preannotate_docs(
        docs, seg.cut, lambda batch: nlp.pipe(batch), nlp.vocab,
        entity_tags=parse_entity_tags(entity_tag), default_entity_tag=ent_default,
        merge_entities=merge_entities, stats=stats,
    ))
    write_docs(out, output_path)
    print_stats(stats)
    msg.good(f"Wrote {len(out):,} docs to {output_path} ({time.time() - start:.0f}s)")
    if stats_path is not None:
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(stats_path, stats.to_dict())
