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
