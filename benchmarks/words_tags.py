"""Words and tags of trained pipelines against gold ones (e.g. UD Chinese GSD test).

  python -m benchmarks.words_tags GOLD.spacy --run joint=PATH:joint --run standard=PATH

GOLD: a .spacy file of word-segmented, tagged Docs (`prepare-corpus gsd`
writes one). Each run (NAME=PATH[:joint][:int8|:float32], as in
`benchmarks.throughput`) annotates the gold texts; the table has word
P/R/F (spaCy's tokenization score: exact character spans) and the tag
accuracy over the predicted words that match a gold word (`tag_acc`, spaCy's
scorer; words segmented wrongly are not counted).
"""
import argparse
from pathlib import Path

from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Example

from .pipeline_speed import build_parser as speed_parser, load_pipeline
from .throughput import parse_run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", type=Path)
    parser.add_argument("--run", dest="runs", type=parse_run, action="append", required=True)
    parser.add_argument("--limit", type=int, default=0, help="first N gold docs (0: all)")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    print("| pipeline | components | word P | word R | word F | tag accuracy (matching words) |")
    print("|---|---|---|---|---|---|")
    for name, run_args in args.runs:
        if "--lac" in run_args:
            parser.error("words_tags compares spaCy pipelines; LAC's tagset differs")
        # the run's pipeline_speed arguments, read by pipeline_speed's parser (TEXTS unused)
        run = speed_parser().parse_args([run_args[0], "-", *run_args[1:]])
        nlp = load_pipeline(run.model, joint=run.joint, int8=run.int8)
        gold = list(DocBin().from_disk(args.gold).get_docs(nlp.vocab))
        if args.limit:
            gold = gold[: args.limit]
        predicted = nlp.pipe([doc.text for doc in gold], batch_size=64)
        examples = [Example(pred, ref) for pred, ref in zip(predicted, gold)]
        scores = Scorer.score_tokenization(examples)
        scores.update(Scorer.score_token_attr(examples, "tag"))
        print(f"| {name} | {' + '.join(nlp.pipe_names)} | {100 * scores['token_p']:.2f} | "
              f"{100 * scores['token_r']:.2f} | {100 * scores['token_f']:.2f} | {100 * scores['tag_acc']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
