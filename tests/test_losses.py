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


# The shipped loss setting ----------------------------------------------------
# configs/cpu.cfg and configs/cpu_joint.cfg train with DWA (eq. 12) times the
# task weights, each auxiliary term normalised to the NER term's running loss
# per character. Below, the weights of each step computed by hand.

TERMS = ["ner", "cws", "pos", "consistency"]
MOMENTUM = 0.95  # MultitaskLoss: running mean of each term's loss per character


def shipped_ner_settings(config_name: str) -> dict:
    """The zh_mtl_ner settings of a shipped config (everything but the model)."""
    from spacy import util

    from conftest import CONFIGS

    ner = util.load_config(CONFIGS / config_name, interpolate=False)["components"]["ner"]
    return {key: value for key, value in ner.items() if key not in ("factory", "model")}


class HandWeights:
    """Eq. 10's weight of each term for the next step, written out: the task
    weight, times DWA's w_i = N exp(r_i / T) / sum_n exp(r_n / T) with
    r_i = L_i(t-1) / L_i(t-2) (1 before two steps, or when a loss was 0),
    times NER's running mean loss per character over the term's."""

    def __init__(self, task_weights: dict, temperature: float) -> None:
        self.task_weights, self.temperature = task_weights, temperature
        self.steps: list = []
        self.per_char: dict = {}

    def record(self, losses: dict, chars: dict) -> None:
        self.steps.append({term: losses.get(term, 0.0) for term in TERMS})
        for term, value in losses.items():
            mean, old = value / chars[term], self.per_char.get(term)
            self.per_char[term] = mean if old is None else MOMENTUM * old + (1 - MOMENTUM) * mean

    def weights(self) -> dict:
        ratios = {term: 1.0 for term in TERMS}
        if len(self.steps) >= 2:
            before, last = self.steps[-2:]
            for term in TERMS:
                if before[term] > 0 and last[term] > 0:
                    ratios[term] = last[term] / before[term]
        exps = {term: math.exp(ratios[term] / self.temperature) for term in TERMS}
        dwa = {term: len(TERMS) * exps[term] / sum(exps.values()) for term in TERMS}
        ner = self.per_char.get("ner")
        scale = {term: ner / self.per_char[term] if ner and self.per_char.get(term) else 1.0 for term in TERMS}
        return {term: self.task_weights[term] * dwa[term] * scale[term] for term in TERMS}


# (losses of the terms that had gold, characters per term) of four steps; POS
# has no gold in the third
STEPS = [
    ({"ner": 20.0, "cws": 60.0, "pos": 300.0, "consistency": 4.0}, {"ner": 10, "cws": 10, "pos": 10, "consistency": 10}),
    ({"ner": 10.0, "cws": 45.0, "pos": 150.0, "consistency": 4.0}, {"ner": 8, "cws": 10, "pos": 10, "consistency": 8}),
    ({"ner": 8.0, "cws": 30.0, "consistency": 1.0}, {"ner": 8, "cws": 12, "consistency": 8}),
    ({"ner": 6.0, "cws": 30.0, "pos": 100.0, "consistency": 2.0}, {"ner": 8, "cws": 12, "pos": 9, "consistency": 8}),
]


def used_weights(loss) -> dict:
    """The factor each term's loss gets in MultitaskLoss.total, one term at a time."""
    return {term: float(loss.total({term: torch.tensor(1.0)})) for term in TERMS}


@pytest.mark.parametrize("config_name", ["cpu.cfg", "cpu_joint.cfg"])
def test_shipped_configs_weight_terms_by_dwa_task_weights_and_ner_normalisation(config_name):
    import spacy

    settings = shipped_ner_settings(config_name)
    assert settings["weighting"] == "dwa" and settings["normalize_losses"] is True
    assert settings["tasks"] == ["ner", "cws", "pos"] and settings["consistency"] is True
    loss = spacy.blank("zh").add_pipe("zh_mtl_ner", config=settings).loss
    hand = HandWeights(settings["task_weights"], settings["dwa_temperature"])
    assert used_weights(loss) == pytest.approx(settings["task_weights"])  # nothing recorded yet
    for losses, chars in STEPS:
        loss.record(losses, chars)
        hand.record(losses, chars)
        assert used_weights(loss) == pytest.approx(hand.weights(), rel=1e-6)
    if config_name == "cpu.cfg":
        # after the first two steps, by hand: DWA ratios 0.5, 0.75, 0.5, 1.0 at
        # T = 2 give 0.90556, 1.02613, 0.90556, 1.16276; NER's running loss per
        # character 0.95 * 2 + 0.05 * 1.25 = 1.9625, the others' 5.925, 29.25, 0.405
        loss = spacy.blank("zh").add_pipe("zh_mtl_ner", config=settings).loss
        for losses, chars in STEPS[:2]:
            loss.record(losses, chars)
        assert used_weights(loss) == pytest.approx(
            {"ner": 0.905556, "cws": 0.2 * 1.026130 * 1.9625 / 5.925,
             "pos": 0.2 * 0.905556 * 1.9625 / 29.25, "consistency": 0.2 * 1.162757 * 1.9625 / 0.405}, rel=1e-5)


def test_a_term_without_gold_keeps_its_running_mean_and_dwa_ratio_one():
    from spacy_zh_mtl.losses.multitask import MultitaskLoss

    loss = MultitaskLoss(TERMS, weighting="dwa", task_weights=dict.fromkeys(TERMS, 1.0), dwa_temperature=2.0, normalize=True)
    for losses, chars in STEPS[:3]:
        loss.record(losses, chars)
    assert loss.per_char["pos"] == pytest.approx(MOMENTUM * 30.0 + (1 - MOMENTUM) * 15.0)  # step 3 left it alone
    # DWA ratios of step 3 over step 2: POS had no loss, so its ratio is 1
    ratios = numpy.array([8 / 10, 30 / 45, 1.0, 1 / 4])
    dwa = 4 * numpy.exp(ratios / 2) / numpy.exp(ratios / 2).sum()
    assert list(loss.dwa.weights().values()) == pytest.approx(dwa.tolist())


def test_component_updates_use_the_shipped_weights_of_its_reported_losses(tmp_path):
    """ZhMtlNer.update with configs/cpu.cfg's loss setting: each step's total is
    the per-term losses it reports, weighted by hand from the steps before."""
    from thinc.api import fix_random_seed

    from conftest import TRAIN_TEXTS, char_vectors_nlp, make_reference_docs, reference_examples, write_char_vectors

    fix_random_seed(0)
    settings = shipped_ner_settings("cpu.cfg")
    nlp = char_vectors_nlp(write_char_vectors(tmp_path / "vectors.txt", TRAIN_TEXTS), **settings)
    examples = reference_examples(nlp, make_reference_docs(nlp.vocab)[:6])
    optimizer = nlp.initialize(lambda: examples)
    chars = dict.fromkeys(TERMS, sum(len(eg.reference.text) for eg in examples))  # every doc has every annotation
    hand = HandWeights(settings["task_weights"], settings["dwa_temperature"])
    for _ in range(4):
        losses = nlp.update(examples, sgd=optimizer)
        terms = {term: losses[f"ner_{term}"] for term in TERMS}
        assert all(value > 0 for value in terms.values())
        weights = hand.weights()
        assert losses["ner"] == pytest.approx(sum(weights[t] * terms[t] for t in TERMS), rel=1e-4)
        hand.record(terms, chars)


# entity_cost and outside_cost (softmax-margin) ------------------------------


def test_cost_raises_the_crf_loss_by_the_margin_formula_where_it_is_put():
    """With zero transitions the CRF factorises per character, so the
    cost-augmented loss is sum_i log(sum_k exp(e_ik + c_i [k != gold_i])) - e_i,gold_i."""
    crf = CRF(3, batch_first=True)  # O, B-PER, I-PER
    with torch.no_grad():
        for param in crf.parameters():
            param.zero_()
    tags = torch.tensor([[1, 2, 0, 0]])  # a two-character PER, then two O
    mask = torch.ones((1, 4), dtype=torch.bool)
    entity_cost = torch.tensor([[2.0, 2.0, 0.0, 0.0]])  # as batch_targets puts entity_cost = 2
    zeros = torch.zeros((1, 4, 3))
    assert crf_loss(crf, zeros, tags, mask).item() == pytest.approx(4 * math.log(3))
    assert crf_loss(crf, zeros, tags, mask, entity_cost).item() == pytest.approx(
        2 * math.log(1 + 2 * math.exp(2.0)) + 2 * math.log(3), rel=1e-6)
    torch.manual_seed(0)
    emissions = torch.randn(1, 4, 3)
    cost = torch.tensor([[2.0, 2.0, 0.5, 0.5]])
    wrong = 1 - torch.nn.functional.one_hot(tags, 3)
    expected = (torch.logsumexp(emissions + cost[..., None] * wrong, -1) - emissions.gather(-1, tags[..., None])[..., 0]).sum()
    assert crf_loss(crf, emissions, tags, mask, cost).item() == pytest.approx(expected.item(), rel=1e-6)

    def gold_gradient(cost):
        scores = zeros.clone().requires_grad_()
        crf_loss(crf, scores, tags, mask, cost).backward()
        return scores.grad[0].gather(-1, tags[0, :, None])[:, 0]

    # d loss / d gold score = p(gold) - 1 under the cost-raised scores: the
    # entity characters' gold tags are pushed up harder, the others as before
    plain, costly = gold_gradient(None), gold_gradient(entity_cost)
    assert plain.tolist() == pytest.approx([1 / 3 - 1] * 4)
    assert costly.tolist() == pytest.approx([1 / (1 + 2 * math.exp(2.0)) - 1] * 2 + [1 / 3 - 1] * 2)


def test_ner_term_with_entity_and_outside_cost_of_the_batch_targets():
    import spacy
    from spacy.tokens import Doc

    from spacy_zh_mtl.losses.multitask import MultitaskLoss
    from spacy_zh_mtl.pipeline.char_labels import EntityTagScheme, batch_targets

    vocab = spacy.blank("zh").vocab
    with_ents = Doc(vocab, words=["王小明", "去", "北京"], spaces=[False] * 3)
    with_ents.set_ents([with_ents.char_span(0, 3, "PER"), with_ents.char_span(4, 6, "LOC")], default="outside")
    no_ents = Doc(vocab, words=["今天", "天气", "很", "好"], spaces=[False] * 4)
    no_ents.set_ents([], default="outside")
    scheme = EntityTagScheme(["LOC", "PER"], "BIO")
    torch.manual_seed(0)
    crf = CRF(len(scheme.tags), batch_first=True)
    emissions = torch.randn(1, 6, len(scheme.tags))
    loss = MultitaskLoss(["ner"], weighting="fixed", task_weights={"ner": 1.0}, dwa_temperature=2.0, normalize=False)

    def ner_term(doc, entity_cost=0.0, outside_cost=0.0):
        targets = batch_targets([doc], 6, scheme=scheme, tasks=["ner"], pos_tag_ids={}, entity_pos_ids={},
                                entity_cost=entity_cost, outside_cost=outside_cost)
        return loss.terms_of({"ner": emissions}, {"ner": crf}, targets)["ner"].item()

    for doc in (with_ents, no_ents):
        gold = torch.from_numpy(scheme.encode([(e.start_char, e.end_char, e.label_) for e in doc.ents], 6))[None]
        plain = -crf(emissions, gold, mask=torch.ones((1, 6), dtype=torch.bool), reduction="sum").item()
        assert ner_term(doc) == pytest.approx(plain, rel=1e-6)
        assert plain < ner_term(doc, outside_cost=1.0) < ner_term(doc, outside_cost=2.0)
    plain = ner_term(with_ents)
    assert plain < ner_term(with_ents, entity_cost=1.0) < ner_term(with_ents, entity_cost=2.0)
    # a cost on entity characters changes nothing in a sentence without entities
    assert ner_term(no_ents, entity_cost=2.0) == pytest.approx(ner_term(no_ents), rel=1e-6)
