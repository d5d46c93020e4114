"""Make `nlp.pipe(..., n_process>1)` work with a CPU torch transformer.

spaCy's multiprocessing forks its workers. CPU builds of torch parallelise
their ops with GNU OpenMP (libgomp), whose thread pool does not survive a
fork: once the parent has run one parallel op (`nlp.initialize()` is enough),
a child's first parallel op (a LayerNorm in the first BERT layer) waits
forever in `gomp_team_barrier_wait_end` for threads that only exist in the
parent. Importing this module registers a fork hook that sets torch to one
thread in each forked child, so ops run without OpenMP there. The parent keeps
its thread count. With N worker processes one thread each is also what avoids
oversubscribing the cores.

Importing it again (or reloading it) registers nothing new.
"""
import os
import sys

_installed: bool = globals().get("_installed", False)


def _use_one_torch_thread() -> None:
    """Set torch's intra-op thread count to 1, if torch is loaded."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def install() -> None:
    """Register the fork hook, once per process. No-op where there is no fork."""
    global _installed
    if not _installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_use_one_torch_thread)
        _installed = True


install()
