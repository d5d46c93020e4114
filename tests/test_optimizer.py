"""Two learning rates: the zh_mtl_ner heads train at learn_rate * head_learn_rate_scale,
a transformer (listened to, or copied into the ner by replace_listeners) at learn_rate."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.training import Example
from spacy.util import registry
from thinc.api import Adam, Linear, chain

from conftest import make_reference_docs
from spacy_zh_mtl.models.optimizers import finish_update_two_rates


def two_rate_adam(learn_rate: float = 1e-4, scale: float = 10.0):
    return registry.resolve(
        {"opt": {"@optimizers": "spacy_zh_mtl.Adam.v1", "learn_rate": learn_rate, "head_learn_rate_scale": scale, "L2": 0.0}}
    )["opt"]


def first_step_sizes(model, optimizer, base_rate_nodes):
    """Mean |first Adam step| per node (Adam's first step is about the rate)."""
    before = {(n.id, p): n.get_param(p).copy() for n in model.walk() for p in n.param_names}
    for node in model.walk():
        for name in node.param_names:
            node.set_grad(name, numpy.ones_like(node.get_param(name)))
    finish_update_two_rates(model, optimizer, base_rate_nodes)
    return {
        node.id: float(numpy.abs(node.get_param("W") - before[(node.id, "W")]).mean())
        for node in model.walk()
        if "W" in node.param_names
    }


def test_head_nodes_use_the_scaled_rate():
    base, head = Linear(2, 2), Linear(2, 2)
    model = chain(base, head)
    model.initialize(X=numpy.zeros((1, 2), dtype="f"), Y=numpy.zeros((1, 2), dtype="f"))
    steps = first_step_sizes(model, two_rate_adam(1e-4, 10.0), {base.id})
    assert steps[base.id] == pytest.approx(1e-4, rel=1e-2)
    assert steps[head.id] == pytest.approx(1e-3, rel=1e-2)


def test_other_optimizers_train_heads_at_their_own_rate():
    head = Linear(2, 2)
    head.initialize(X=numpy.zeros((1, 2), dtype="f"), Y=numpy.zeros((1, 2), dtype="f"))
    steps = first_step_sizes(head, Adam(1e-4, L2=0.0), set())
    assert steps[head.id] == pytest.approx(1e-4, rel=1e-2)


def test_bad_scale_is_rejected():
    with pytest.raises(ValueError, match="head_learn_rate_scale"):
        registry.resolve({"opt": {"@optimizers": "spacy_zh_mtl.Adam.v1", "head_learn_rate_scale": 0.0}})


def _max_change(params_before, params_after):
    return max(float((a - b).abs().max()) for a, b in zip(params_after, params_before))


@pytest.mark.slow  # trained_pipeline_dir: `spacy train`
def test_transformer_copy_after_replace_listeners_trains_at_the_base_rate(trained_pipeline_dir: Path):
    nlp = spacy.load(trained_pipeline_dir)
    nlp.replace_listeners("transformer", "ner", ["model.tok2vec"])
    ner = nlp.get_pipe("ner")
    trf_shim = next(n for n in ner.model.walk() if n.name == "hf-pytorch").shims[0]
    head = ner.model.get_ref("head").shims[0]._model
    trf_before = [p.detach().clone() for p in trf_shim._model.parameters()]
    head_before = [p.detach().clone() for p in head.parameters()]
    examples = [Example(nlp.make_doc(d.text), d) for d in make_reference_docs(nlp.vocab)[:4]]
    ner.update(examples, sgd=two_rate_adam(1e-5, 100.0))
    trf_step = _max_change(trf_before, list(trf_shim._model.parameters()))
    head_step = _max_change(head_before, list(head.parameters()))
    # Adam's first step moves each weight by at most about the learning rate.
    assert 0 < trf_step <= 1.5e-5
    assert 1.5e-4 < head_step <= 1.5e-3
