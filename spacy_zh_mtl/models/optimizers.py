"""Adam with a separate learning rate for the task heads (paper table 3, seed 004)."""
from typing import Container, Optional

from spacy.util import registry
from thinc.api import Model, Optimizer
from thinc.types import FloatsXd


@registry.optimizers("spacy_zh_mtl.Adam.v1")
def build_two_rate_adam(
    learn_rate=5e-5,
    head_learn_rate_scale: float = 10.0,
    *,
    L2: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    grad_clip: float = 1.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = False,
) -> Optimizer:
    """thinc's Adam whose learning rate (a float or a schedule) trains the
    transformer, while the `zh_mtl_ner` heads (BiGRU, emissions, CRFs,
    character tables) train at `learn_rate * head_learn_rate_scale`: e.g. 5e-5
    and 10.0 give the paper's 5e-5 for BERT and 5e-4 for the heads. Other
    components, and a transformer copy inside `zh_mtl_ner` after
    `replace_listeners`, use `learn_rate`.
    """
    if head_learn_rate_scale <= 0:
        raise ValueError(f"head_learn_rate_scale must be > 0, got {head_learn_rate_scale}")
    return TwoRateAdam(
        learn_rate,
        head_learn_rate_scale=head_learn_rate_scale,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
    )


class TwoRateAdam(Optimizer):
    """thinc's Optimizer plus the learning-rate scale for the task heads."""

    def __init__(self, learn_rate, *, head_learn_rate_scale: float, **kwargs) -> None:
        super().__init__(learn_rate, **kwargs)
        self.head_learn_rate_scale = head_learn_rate_scale


def finish_update_two_rates(
    model: Model, optimizer: Optimizer, base_rate_nodes: Container[int]
) -> None:
    """thinc's `Model.finish_update`, with the optimizer's head learning-rate
    scale (1.0 for optimizers other than `spacy_zh_mtl.Adam.v1`) for every node
    except those whose id is in `base_rate_nodes`."""
    head_scale = float(getattr(optimizer, "head_learn_rate_scale", 1.0))
    for node in model.walk():
        update = _ScaledRate(optimizer, 1.0 if node.id in base_rate_nodes else head_scale)
        for shim in node.shims:
            shim.finish_update(update)
        for name in node.param_names:
            if node.has_grad(name):
                param, _ = update((node.id, name), node.get_param(name), node.get_grad(name))
                node.set_param(name, param)


class _ScaledRate:
    """An optimizer call with a fixed learning-rate scale, for thinc shims,
    which call the optimizer without one."""

    def __init__(self, optimizer: Optimizer, lr_scale: float) -> None:
        self.optimizer = optimizer
        self.lr_scale = lr_scale

    def __call__(self, key, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: Optional[float] = None):
        return self.optimizer(key, weights, gradient, lr_scale=self.lr_scale)

    def __getattr__(self, name: str):
        return getattr(self.optimizer, name)
