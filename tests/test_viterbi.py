"""The batched Viterbi decoder agrees with pytorch-crf's decoder."""
import numpy
import torch
from torchcrf import CRF

from spacy_zh_mtl.models.viterbi import viterbi_decode


def test_viterbi_matches_pytorch_crf():
    torch.manual_seed(0)
    crf = CRF(7, batch_first=True)
    for param in crf.parameters():
        torch.nn.init.normal_(param)
    lengths = torch.tensor([9, 3, 1, 6, 9, 2])
    emissions = torch.randn(len(lengths), 9, 7)
    mask = torch.arange(9)[None, :] < lengths[:, None]
    expected = crf.decode(emissions, mask)
    got = viterbi_decode(
        emissions.numpy(),
        lengths.numpy(),
        crf.start_transitions.detach().numpy(),
        crf.end_transitions.detach().numpy(),
        crf.transitions.detach().numpy(),
    )
    assert [got[i, :n].tolist() for i, n in enumerate(lengths.tolist())] == expected
    assert (got[1, 3:] == 0).all()


def test_viterbi_empty_batch():
    out = viterbi_decode(numpy.zeros((0, 0, 3), dtype="f"), numpy.zeros((0,), dtype="i"),
                         numpy.zeros(3), numpy.zeros(3), numpy.zeros((3, 3)))
    assert out.shape == (0, 0)


def brute_force(emissions, start, end, transitions, joined, allowed):
    """The best path by enumeration, honouring the constraints."""
    import itertools

    n, tags = emissions.shape
    best, best_path = -numpy.inf, None
    for path in itertools.product(range(tags), repeat=n):
        if any(joined[t] and not allowed[path[t - 1], path[t]] for t in range(1, n)):
            continue
        score = start[path[0]] + emissions[0, path[0]] + end[path[-1]]
        score += sum(transitions[path[t - 1], path[t]] + emissions[t, path[t]] for t in range(1, n))
        if score > best:
            best, best_path = score, list(path)
    return best_path


def test_constrained_viterbi_matches_enumeration():
    rng = numpy.random.default_rng(0)
    tags = 4
    allowed = rng.random((tags, tags)) < 0.5
    numpy.fill_diagonal(allowed, True)  # every constraint can be met
    lengths = numpy.array([5, 3, 1, 5, 4])
    emissions = rng.normal(size=(len(lengths), 5, tags)).astype("f")
    joined = rng.random((len(lengths), 5)) < 0.5
    start, end, transitions = rng.normal(size=tags), rng.normal(size=tags), rng.normal(size=(tags, tags))
    got = viterbi_decode(emissions, lengths, start, end, transitions, joined=joined, allowed=allowed)
    for i, n in enumerate(lengths.tolist()):
        expected = brute_force(emissions[i, :n], start, end, transitions, joined[i, :n], allowed)
        assert got[i, :n].tolist() == expected
    unconstrained = viterbi_decode(emissions, lengths, start, end, transitions)
    assert (got != unconstrained).any()  # the constraints changed some path
