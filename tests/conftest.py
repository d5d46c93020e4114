"""Shared pytest fixtures."""
from pathlib import Path
from typing import List

import pytest

from spacy_zh_mtl.tiny_transformer import make_tiny_transformer

# Short texts to build the tiny transformer's vocabulary from: person, place and
# organisation names, digits, Latin words and an emoji.
TINY_TEXTS: List[str] = [
    "王小明在北京大学读书。",
    "南京市长江大桥于1968年建成通车。",
    "2019年Apple发布了iPhone 11，售价5999元😀",
    "李华和张伟去上海参加了会议。",
    "北京欢迎你！",
]


@pytest.fixture(scope="session")
def tiny_texts() -> List[str]:
    """The texts the tiny transformer's vocabulary is built from."""
    return list(TINY_TEXTS)


@pytest.fixture(scope="session")
def tiny_transformer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT (hidden 32, 1 layer, 2 heads) with a vocabulary from TINY_TEXTS."""
    return make_tiny_transformer(
        tmp_path_factory.mktemp("tiny_transformer"),
        TINY_TEXTS,
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
    )
