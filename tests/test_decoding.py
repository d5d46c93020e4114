"""Batch decoding: atomic Latin/digit runs, word starts, one tag per word."""
import numpy

from spacy_zh_mtl.pipeline.char_labels import CWS_TAGS, EntityTagScheme
from spacy_zh_mtl.pipeline.decoding import decode_batch, entity_boundaries, run_continues

SCHEME = EntityTagScheme(["ORG", "PER"], "BIO")


def test_runs_of_latin_letters_and_digits():
    texts = ["OpenAI的CEO", "ＰＡＴＡ 5999元", "a"]
    runs = run_continues(texts, 11)
    assert runs[0].tolist() == [False, True, True, True, True, True, False, False, True, True, False]
    assert runs[1, :9].tolist() == [False, True, True, True, False, False, True, True, True]
    assert not runs[2].any()


def scores_for(tag_rows, n_tags):
    """Emissions that strongly prefer the given tag per character."""
    emissions = numpy.zeros((len(tag_rows), max(map(len, tag_rows)), n_tags), dtype="f")
    for i, row in enumerate(tag_rows):
        for t, tag in enumerate(row):
            emissions[i, t, tag] = 5.0
    return emissions


def flat_crf(n_tags):
    return numpy.zeros(n_tags, "f"), numpy.zeros(n_tags, "f"), numpy.zeros((n_tags, n_tags), "f")


def test_no_entity_or_word_boundary_inside_a_run():
    text = "OpenAI发布"
    tag = {t: i for i, t in enumerate(SCHEME.tags)}
    # the emissions alone would give ORG "OpenA" + PER "I", and a word break after "Open"
    ner = scores_for([[tag["B-ORG"]] + [tag["I-ORG"]] * 4 + [tag["B-PER"], tag["O"], tag["O"]]], len(SCHEME.tags))
    ner[0, 5, tag["I-ORG"]] = 4.0
    cws_ids = [CWS_TAGS.index(t) for t in "BIIEBEBE"]
    cws = scores_for([cws_ids], 4)
    pos = scores_for([[1] * 8], 3)
    crfs = {"ner": flat_crf(len(SCHEME.tags)), "cws": flat_crf(4), "pos": flat_crf(3)}
    decoded = decode_batch(
        {"ner": ner, "cws": cws, "pos": pos}, [text], crfs, SCHEME, ["ents", "tokens", "tags"]
    )
    assert SCHEME.decode(decoded.ner[0]) == [(0, 6, "ORG")]
    starts = numpy.flatnonzero(decoded.word_starts[0]).tolist()
    assert starts == [0, 6]  # "OpenAI" is one word: the B after "Open" is overruled
    assert decoded.pos[0].tolist() == [1] * 8


def test_entity_boundaries_start_words_and_words_share_one_tag():
    tag = {t: i for i, t in enumerate(SCHEME.tags)}
    ner_ids = [tag["B-PER"], tag["I-PER"], tag["O"], tag["B-ORG"], tag["I-ORG"]]
    assert numpy.flatnonzero(entity_boundaries(numpy.array([ner_ids]), SCHEME)[0]).tolist() == [0, 2, 3]
    ner = scores_for([ner_ids], len(SCHEME.tags))
    cws = scores_for([[CWS_TAGS.index(t) for t in "BIIIE"]], 4)  # one word over all
    pos = scores_for([[0, 0, 2, 2, 1]], 3)
    pos[0, 4, 2] = 4.0  # the last character leans to its word's other tag
    crfs = {"ner": flat_crf(len(SCHEME.tags)), "cws": flat_crf(4), "pos": flat_crf(3)}
    decoded = decode_batch(
        {"ner": ner, "cws": cws, "pos": pos}, ["王明去华为"], crfs, SCHEME, ["ents", "tokens", "tags"]
    )
    assert numpy.flatnonzero(decoded.word_starts[0]).tolist() == [0, 2, 3]  # entity boundaries win
    assert decoded.pos[0].tolist() == [0, 0, 2, 2, 2]  # one tag per word


def test_word_level_tags_equal_the_constrained_character_decoding():
    from spacy_zh_mtl.models.viterbi import viterbi_decode
    from spacy_zh_mtl.pipeline.decoding import decode_word_tags

    rng = numpy.random.default_rng(0)
    lengths = numpy.array([9, 1, 6, 12, 3])
    n_tags = 5
    emissions = rng.normal(size=(len(lengths), 12, n_tags)).astype("f")
    crf = tuple(rng.normal(size=shape).astype("f") for shape in [(n_tags,), (n_tags,), (n_tags, n_tags)])
    starts = rng.random((len(lengths), 12)) < 0.4
    starts[:, 0] = True
    expected = viterbi_decode(
        emissions, lengths, *crf, joined=~starts, allowed=numpy.eye(n_tags, dtype=bool)
    )
    tags = decode_word_tags(emissions, lengths, starts, crf)
    assert tags.tolist() == expected.tolist()
    for row, n in enumerate(lengths):  # one tag per word, all words in the row
        word_ids = numpy.cumsum(starts[row, :n]) - 1
        for word in range(word_ids[-1] + 1):
            assert len(set(tags[row, :n][word_ids == word].tolist())) == 1
