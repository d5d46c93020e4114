"""Loss terms: CRF with cost, label consistency, dynamic weight averaging, masking."""
import math

import numpy
import pytest
import torch
from torchcrf import CRF

from spacy_zh_mtl.losses.consistency import consistency_loss
from spacy_zh_mtl.losses.targets import IGNORE
from spacy_zh_mtl.losses.crf import crf_loss
from spacy_zh_mtl.losses.dwa import DynamicWeightAverage
from spacy_zh_mtl.pipeline.char_labels import CWS_TAGS, consistency_targets


def test_consistency_targets_follow_the_paper_example():
    # Gold NER  O B-PER I-PER O O  ->  segmentation target  O B E O O
    cws, pos = consistency_targets([(1, 3, "PER")], 5, {"PER": 7})
    assert cws.tolist() == [IGNORE, CWS_TAGS.index("B"), CWS_TAGS.index("E"), IGNORE, IGNORE]
    assert pos.tolist() == [IGNORE, 7, 7, IGNORE, IGNORE]
    cws, pos = consistency_targets([(0, 1, "LOC"), (1, 4, "ORG")], 4, {"LOC": 2})
    assert cws.tolist() == [CWS_TAGS.index("S"), CWS_TAGS.index("B"), IGNORE, CWS_TAGS.index("E")]
    assert pos.tolist() == [2, IGNORE, IGNORE, IGNORE]  # ORG is not in the map: no POS term


def one_hot_scores(tags, n_tags, margin):
    scores = torch.zeros((1, len(tags), n_tags))
    scores[0, torch.arange(len(tags)), torch.tensor(tags)] = margin
    return scores


def test_consistency_loss_zero_when_heads_agree_positive_otherwise():
    cws, _ = consistency_targets([(1, 3, "PER")], 5, {})
    targets = torch.from_numpy(cws)[None]
    agree = one_hot_scores([3, 0, 2, 3, 3], 4, margin=200.0)  # S B E S S
    assert consistency_loss(agree, targets).item() == pytest.approx(0.0, abs=1e-6)
    disagree = one_hot_scores([3, 3, 3, 3, 3], 4, margin=200.0)  # all S
    assert consistency_loss(disagree, targets).item() > 100
    uniform = torch.zeros((1, 5, 4))
    assert consistency_loss(uniform, targets).item() == pytest.approx(2 * math.log(4), rel=1e-5)
    # Characters outside entities never contribute.
    none = torch.full((1, 5), IGNORE)
    assert consistency_loss(disagree, none).item() == 0.0


def test_crf_loss_cost_zero_is_plain_and_cost_raises_loss():
    torch.manual_seed(0)
    crf = CRF(5, batch_first=True)
    emissions = torch.randn(2, 6, 5)
    tags = torch.randint(0, 5, (2, 6))
    mask = torch.ones((2, 6), dtype=torch.bool)
    mask[1, 4:] = False
    plain = crf_loss(crf, emissions, tags, mask)
    assert plain.item() == pytest.approx(-crf(emissions, tags, mask=mask, reduction="sum").item())
    zero = crf_loss(crf, emissions, tags, mask, cost=torch.zeros((2, 6)))
    assert zero.item() == pytest.approx(plain.item(), rel=1e-6)
    costly = crf_loss(crf, emissions, tags, mask, cost=torch.ones((2, 6)))
    assert costly.item() > plain.item()


def test_dwa_follows_eq_12_and_sums_to_n():
    dwa = DynamicWeightAverage(["ner", "cws", "pos", "consistency"], temperature=2.0)
    assert dwa.weights() == {"ner": 1.0, "cws": 1.0, "pos": 1.0, "consistency": 1.0}
    dwa.record({"ner": 2.0, "cws": 1.0, "pos": 4.0, "consistency": 1.0})
    assert dwa.weights() == {"ner": 1.0, "cws": 1.0, "pos": 1.0, "consistency": 1.0}
    dwa.record({"ner": 1.0, "cws": 1.0, "pos": 1.0, "consistency": 2.0})
    ratios = numpy.array([0.5, 1.0, 0.25, 2.0])
    expected = 4 * numpy.exp(ratios / 2.0) / numpy.exp(ratios / 2.0).sum()
    weights = dwa.weights()
    assert list(weights.values()) == pytest.approx(expected.tolist())
    assert sum(weights.values()) == pytest.approx(4.0)
    assert weights["consistency"] > weights["cws"] > weights["ner"] > weights["pos"]
    # Only the last two steps count.
    dwa.record({"ner": 1.0, "cws": 1.0, "pos": 1.0, "consistency": 2.0})
    assert list(dwa.weights().values()) == pytest.approx([1.0] * 4)


def test_dwa_large_temperature_gives_equal_weights_and_bad_temperature_fails():
    dwa = DynamicWeightAverage(["a", "b"], temperature=1e6)
    dwa.record({"a": 1.0, "b": 1.0})
    dwa.record({"a": 10.0, "b": 0.1})
    assert list(dwa.weights().values()) == pytest.approx([1.0, 1.0], abs=1e-4)
    with pytest.raises(ValueError, match="dwa_temperature"):
        DynamicWeightAverage(["a"], temperature=0.0)


def test_multitask_loss_normalises_auxiliary_terms_to_ner():
    from spacy_zh_mtl.losses.multitask import MultitaskLoss

    def make(normalize):
        return MultitaskLoss(
            ["ner", "pos"], weighting="fixed", task_weights={"ner": 1.0, "pos": 0.5},
            dwa_temperature=2.0, normalize=normalize,
        )

    losses = {"ner": torch.tensor(20.0), "pos": torch.tensor(300.0)}
    for normalize, pos_scale in ((True, 0.1), (False, 1.0)):
        loss = make(normalize)
        assert float(loss.total(losses)) == pytest.approx(20.0 + 0.5 * 300.0)  # nothing seen yet
        loss.record({"ner": 20.0, "pos": 300.0}, {"ner": 10, "pos": 15})
        # per character: NER 2.0, POS 20.0 -> POS is scaled by 0.1 when normalising
        assert loss.scales() == pytest.approx({"ner": 1.0, "pos": pos_scale})
        assert float(loss.total(losses)) == pytest.approx(20.0 + 0.5 * pos_scale * 300.0)
