"""Character rows <-> packed sequences (`models.torch_sequences`) against torch's own packing."""
import numpy
import torch
from thinc.api import Model, NumpyOps
from thinc.types import Ragged
from torch.nn.utils.rnn import pack_sequence

from spacy_zh_mtl.models.torch_sequences import pack_ragged, packed_layout, padded_output, ragged_output

LENGTHS = numpy.array([3, 0, 7, 1, 7, 4], dtype="int32")


def ragged_batch() -> Ragged:
    rows = numpy.random.default_rng(0).normal(size=(int(LENGTHS.sum()), 5)).astype("f")
    return Ragged(rows, LENGTHS)


def test_packing_matches_torch_and_round_trips():
    model = Model("m", lambda model, X, is_train: (X, lambda d: d), ops=NumpyOps())
    ragged = ragged_batch()
    args, backprop = pack_ragged(model, ragged, is_train=True)
    data, batch_sizes = args.args
    starts = numpy.cumsum(LENGTHS) - LENGTHS
    docs = [torch.from_numpy(ragged.dataXd[s : s + n]) for s, n in zip(starts, LENGTHS) if n]
    expected = pack_sequence(docs, enforce_sorted=False)
    # torch sorts the same way (stable, by decreasing length)
    assert torch.equal(batch_sizes, expected.batch_sizes)
    assert torch.equal(data, expected.data)
    # packed -> rows gives the rows back; the gradients go back to their rows
    rows, backprop_rows = ragged_output(model, (ragged, data), is_train=True)
    assert numpy.array_equal(rows.dataXd, ragged.dataXd)
    d_rows = Ragged(ragged.dataXd * 2, LENGTHS)
    grad = backprop_rows(d_rows).kwargs["grad_tensors"][0]
    assert numpy.array_equal(backprop(type(args)(args=(grad,), kwargs={})).dataXd, d_rows.dataXd)


def test_padded_output_has_one_row_per_non_empty_doc_in_order():
    model = Model("m", lambda model, X, is_train: (X, lambda d: d), ops=NumpyOps())
    ragged = ragged_batch()
    args, _ = pack_ragged(model, ragged, is_train=False)
    padded, backprop = padded_output(model, (ragged, args.args[0]), is_train=True)
    nonempty = [(s, n) for s, n in zip(numpy.cumsum(LENGTHS) - LENGTHS, LENGTHS) if n]
    assert padded.shape == (len(nonempty), LENGTHS.max(), 5)
    for row, (start, n) in enumerate(nonempty):
        assert numpy.array_equal(padded[row, :n], ragged.dataXd[start : start + n])
        assert not padded[row, n:].any()
    grad = backprop(padded).kwargs["grad_tensors"][0]
    assert torch.equal(grad, args.args[0])
    layout = packed_layout(LENGTHS)
    assert layout.n_docs == 5 and layout.steps == 7
