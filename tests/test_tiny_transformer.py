"""Tests for the offline tiny transformer maker."""
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from transformers import AutoModel, AutoTokenizer

from spacy_zh_mtl.prep.tiny_transformer import make_tiny_transformer, read_texts


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def test_one_piece_per_cjk_char(tiny_transformer_dir: Path, tiny_texts: List[str]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_transformer_dir), use_fast=True)
    assert tokenizer.is_fast
    for text in tiny_texts:
        pieces = tokenizer.tokenize(text)
        assert tokenizer.unk_token not in pieces
        assert [p for p in pieces if any(_is_cjk(c) for c in p)] == [c for c in text if _is_cjk(c)]
    assert tokenizer.tokenize("南京市长江大桥") == list("南京市长江大桥")


def test_latin_digits_and_emoji_are_known(tiny_transformer_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_transformer_dir), use_fast=True)
    # Unseen combinations of seen characters become subwords, not [UNK].
    for text in ["Apple iPhone 11", "5999元😀", "iApple 1968", "😀😀"]:
        pieces = tokenizer.tokenize(text)
        assert pieces and tokenizer.unk_token not in pieces
        assert "".join(p.removeprefix("##") for p in pieces) == text.replace(" ", "")
    assert tokenizer.model_max_length == 512


def test_model_loads_with_requested_size(tiny_transformer_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_transformer_dir), use_fast=True)
    model = AutoModel.from_pretrained(str(tiny_transformer_dir))
    assert model.config.hidden_size == 32
    assert model.config.num_hidden_layers == 1
    assert model.config.num_attention_heads == 2
    assert model.config.intermediate_size == 64
    assert model.config.vocab_size == tokenizer.vocab_size
    inputs = tokenizer(["王小明在北京"], return_tensors="pt")
    with torch.no_grad():
        output = model(**inputs)
    assert output.last_hidden_state.shape == (1, 8, 32)


def test_seed_makes_weights_reproducible(tmp_path: Path, tiny_texts: List[str]) -> None:
    sizes: Dict[str, Any] = dict(hidden_size=8, num_layers=1, num_heads=2, intermediate_size=8)
    weights = []
    for name, seed in [("a", 1), ("b", 1), ("c", 2)]:
        model_dir = make_tiny_transformer(tmp_path / name, tiny_texts, seed=seed, **sizes)
        model = AutoModel.from_pretrained(str(model_dir))
        weights.append(model.embeddings.word_embeddings.weight.detach())
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


@pytest.mark.parametrize(
    "texts,kwargs",
    [
        (["北京"], {"hidden_size": 30, "num_heads": 4}),
        (["北京"], {"num_layers": 0}),
        (["北京"], {"intermediate_size": -1}),
        (["北京"], {"vocab_size": 0}),
        ([], {}),
        (["", "  \n"], {}),
    ],
)
def test_bad_arguments_raise(tmp_path: Path, texts: List[str], kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_tiny_transformer(tmp_path, texts, **kwargs)
    assert not any(tmp_path.iterdir())


def test_read_texts(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("王小明\n\n北京 欢迎你\n", encoding="utf8")
    (tmp_path / "b.jsonl").write_text('{"text": "南京"}\n\n{"text": "Apple"}\n', encoding="utf8")
    (tmp_path / "c.json").write_text(json.dumps([{"text": "上海"}]), encoding="utf8")
    DocBin(docs=[Doc(Vocab(), words=["长江", "大桥"], spaces=[False, False])]).to_disk(tmp_path / "d.spacy")
    paths = [tmp_path / name for name in ["a.txt", "b.jsonl", "c.json", "d.spacy"]]
    assert list(read_texts(paths)) == ["王小明", "北京 欢迎你", "南京", "Apple", "上海", "长江大桥"]
    (tmp_path / "e.jsonl").write_text('{"txt": "南京"}\n', encoding="utf8")
    with pytest.raises(ValueError):
        list(read_texts([tmp_path / "e.jsonl"]))
    with pytest.raises(ValueError):
        list(read_texts([tmp_path / "missing.txt"]))
