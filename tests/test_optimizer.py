"""Two learning rates: the zh_mtl_ner heads train at learn_rate * head_learn_rate_scale."""
import numpy
import pytest
from spacy.util import registry
from thinc.api import Adam

from spacy_zh_mtl.models.optimizers import HeadOptimizer


def first_step(optimizer, key):
    weights = numpy.zeros((4,), dtype="f")
    gradient = numpy.ones((4,), dtype="f")
    new_weights, _ = optimizer(key, weights, gradient)
    return float(numpy.abs(new_weights).mean())


def test_head_updates_use_the_scaled_rate():
    optimizer = registry.resolve(
        {"opt": {"@optimizers": "spacy_zh_mtl.Adam.v1", "learn_rate": 1e-4, "head_learn_rate_scale": 10.0, "L2": 0.0}}
    )["opt"]
    transformer_step = first_step(optimizer, (1, "encoder.weight"))
    head_step = first_step(HeadOptimizer(optimizer), (2, "gru.weight"))
    assert transformer_step == pytest.approx(1e-4, rel=1e-3)
    assert head_step == pytest.approx(1e-3, rel=1e-3)


def test_other_optimizers_train_heads_at_their_own_rate():
    optimizer = Adam(1e-4, L2=0.0)
    assert first_step(HeadOptimizer(optimizer), (3, "gru.weight")) == pytest.approx(1e-4, rel=1e-3)


def test_bad_scale_is_rejected():
    with pytest.raises(ValueError, match="head_learn_rate_scale"):
        registry.resolve({"opt": {"@optimizers": "spacy_zh_mtl.Adam.v1", "head_learn_rate_scale": 0.0}})
