"""Make a small, randomly initialised BERT with a vocabulary built from a corpus.

Everything happens offline: the WordPiece vocabulary is trained with the
`tokenizers` library and the model is a freshly seeded `transformers.BertModel`.
The output directory loads with `AutoTokenizer.from_pretrained(dir)` and
`AutoModel.from_pretrained(dir)`, so it can be used as the `name` of a
spacy-transformers `transformer` component in tests and smoke-test configs.
"""
import json
from pathlib import Path
from typing import Iterable, Iterator, List, Set

from wasabi import msg

SPECIAL_TOKENS: List[str] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONTINUING_PREFIX = "##"


def make_tiny_transformer(
    output_dir: Path,
    texts: Iterable[str],
    *,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 256,
    max_position_embeddings: int = 512,
    vocab_size: int = 8000,
    min_frequency: int = 1,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised BERT and its WordPiece tokenizer to a directory.

    output_dir (Path): Directory to write to. Created if it doesn't exist.
    texts (Iterable[str]): Texts to build the vocabulary from.
    hidden_size (int): Width of the hidden layers. Must be divisible by num_heads.
    num_layers (int): Number of transformer layers.
    num_heads (int): Number of attention heads per layer.
    intermediate_size (int): Width of the feed-forward layers.
    max_position_embeddings (int): Maximum sequence length, also used as the
        tokenizer's model_max_length.
    vocab_size (int): Target size of the WordPiece vocabulary. Every character
        of the texts is kept even if that makes the vocabulary larger.
    min_frequency (int): Minimum frequency of a merged subword.
    seed (int): Seed for the model's random initialisation.
    RETURNS (Path): The output directory.
    """
    _check_sizes(
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
    )
    corpus = [text for text in texts if text.strip()]
    if not corpus:
        raise ValueError("Can't build a vocabulary: no non-empty texts given")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    vocab = _train_wordpiece_vocab(corpus, vocab_size, min_frequency)
    msg.info(f"Built a WordPiece vocabulary of {len(vocab)} pieces from {len(corpus)} texts")
    _save_tokenizer(output_dir, vocab, max_position_embeddings)
    n_params = _save_random_bert(
        output_dir,
        vocab,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        seed=seed,
    )
    msg.good(f"Saved a {num_layers}-layer BERT ({n_params:,} parameters) to {output_dir}")
    return output_dir


def _check_sizes(**sizes: int) -> None:
    """RAISES (ValueError): A size is not a positive integer, or hidden_size
    does not split evenly into num_heads."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if sizes["hidden_size"] % sizes["num_heads"] != 0:
        raise ValueError(
            f"hidden_size ({sizes['hidden_size']}) must be divisible by num_heads ({sizes['num_heads']})"
        )


def _save_tokenizer(output_dir: Path, vocab: List[str], max_length: int) -> None:
    """Write vocab.txt and a BERT WordPiece tokenizer that reads it (cased,
    one piece per Chinese character) to output_dir."""
    from transformers import BertTokenizerFast

    vocab_path = output_dir / "vocab.txt"
    vocab_path.write_text("".join(f"{piece}\n" for piece in vocab), encoding="utf8")
    tokenizer = BertTokenizerFast(
        vocab_file=str(vocab_path),
        do_lower_case=False,
        tokenize_chinese_chars=True,
        strip_accents=False,
        model_max_length=max_length,
    )
    tokenizer.save_pretrained(str(output_dir))


def _save_random_bert(
    output_dir: Path,
    vocab: List[str],
    *,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    intermediate_size: int,
    max_position_embeddings: int,
    seed: int,
) -> int:
    """Write a BertModel of these sizes, initialised from `seed`, for the
    vocabulary to output_dir. RETURNS (int): Its number of parameters."""
    # Imported here so that importing the package stays light.
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=vocab.index("[PAD]"),
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    model.save_pretrained(str(output_dir))
    return sum(param.numel() for param in model.parameters())


def _train_wordpiece_vocab(
    texts: List[str], vocab_size: int, min_frequency: int
) -> List[str]:
    """Train a BERT-style WordPiece vocabulary that covers every character.

    Besides every character, the vocabulary holds the "##" continuation form of
    every character that can occur inside a word (Latin, digits, emoji, ...), so
    unseen combinations of seen characters never become [UNK].

    RETURNS (List[str]): The pieces, in id order.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    def split(text: str) -> List[str]:
        return [word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))]

    alphabet: Set[str] = set()
    for text in texts:
        for word in split(text):
            alphabet.update(word)
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=sorted(alphabet),
        continuing_subword_prefix=CONTINUING_PREFIX,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    trained = tokenizer.get_vocab()
    vocab = sorted(trained, key=trained.__getitem__)
    # A character can continue a word if two of them aren't split apart
    # (CJK characters and punctuation always are).
    joinable = sorted(char for char in alphabet if len(split(char + char)) == 1)
    required = sorted(alphabet) + [CONTINUING_PREFIX + char for char in joinable]
    vocab.extend(piece for piece in required if piece not in trained)
    return vocab


def read_texts(paths: Iterable[Path]) -> Iterator[str]:
    """Read texts from corpus files, to build a vocabulary from.

    Supported formats: `.spacy` (DocBin, yields doc.text), `.jsonl` and `.json`
    (one JSON object with a "text" field per line, or a JSON array of such
    objects), and any other file as UTF-8 text with one text per non-empty line.

    paths (Iterable[Path]): The files to read.
    YIELDS (str): The non-empty texts.
    """
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"Corpus file not found: {path}")
        if path.suffix == ".spacy":
            from spacy.tokens import DocBin
            from spacy.vocab import Vocab

            for doc in DocBin().from_disk(path).get_docs(Vocab()):
                if doc.text.strip():
                    yield doc.text
        elif path.suffix in (".jsonl", ".json"):
            for record in _read_json_records(path):
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise ValueError(f"Expected objects with a 'text' string in {path}")
                if record["text"].strip():
                    yield record["text"]
        else:
            with path.open(encoding="utf8") as file_:
                for line in file_:
                    if line.strip():
                        yield line.rstrip("\r\n")


def _read_json_records(path: Path) -> Iterator[object]:
    """Yield the records of a JSON array file or of a JSON lines file."""
    content = path.read_text(encoding="utf8")
    if path.suffix == ".json" and content.lstrip().startswith("["):
        yield from json.loads(content)
    else:
        for line in content.splitlines():
            if line.strip():
                yield json.loads(line)
