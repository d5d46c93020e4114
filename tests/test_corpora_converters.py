"""Corpus converters on small hand-written fixtures, bad input included."""
from pathlib import Path

import pytest
from spacy.vocab import Vocab

from spacy_zh_mtl.corpora.bio import char_bio_to_docs
from spacy_zh_mtl.corpora.cluener import cluener_to_docs
from spacy_zh_mtl.corpora.conll import conll_to_docs, latin_spaces
from spacy_zh_mtl.corpora.docs import read_docs, split_docs, write_docs
from spacy_zh_mtl.corpora.labels import WEIBO_MERGE, WEIBO_MERGE_NAM, proper_noun_tag
from spacy_zh_mtl.corpora.conversion_report import ConversionReport, CorpusFormatError
from spacy_zh_mtl.corpora.segmented import segmented_to_docs, word_tag_to_docs

FIXTURES = Path(__file__).parent / "fixtures"


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def ner_annotated(doc) -> bool:
    """Every token has ENT_IOB set (the component's test for NER annotation)."""
    return all(t.ent_iob != 0 for t in doc)


def test_peoples_daily():
    report = ConversionReport()
    docs = list(char_bio_to_docs(FIXTURES / "peoples_daily.txt", "peoples_daily", Vocab(), report))
    assert [d.text for d in docs] == ["王小明去北京。", "我爱上海", "南京大学很美"]
    assert all(len(t) == 1 and not t.whitespace_ for d in docs for t in d)
    assert all(ner_annotated(d) for d in docs)
    assert ents(docs[0]) == [("王小明", "PER"), ("北京", "LOC")]
    # "上 O / 海 I-LOC": I- after O becomes B-
    assert ents(docs[1]) == [("海", "LOC")]
    assert report.repaired["I- after O read as B-"] == 1
    assert report.examples["I- after O read as B-"] == [f"{FIXTURES / 'peoples_daily.txt'}:12"]
    # the two blank lines after sentence 2 make one empty sentence
    assert report.skipped["empty sentence (extra blank line)"] == 1
    assert report.counts["sentences"] == 3
    assert report.counts["entities"] == 4
    assert report.labels == {"PER": 1, "LOC": 2, "ORG": 1}


def test_peoples_daily_bom_crlf(tmp_path):
    raw = (FIXTURES / "peoples_daily.txt").read_bytes()
    path = tmp_path / "bom_crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    report = ConversionReport()
    docs = list(char_bio_to_docs(path, "peoples_daily", Vocab(), report))
    assert [d.text for d in docs] == ["王小明去北京。", "我爱上海", "南京大学很美"]
    assert report.repaired["UTF-8 BOM removed"] == 1
    assert report.repaired["CRLF line end read as LF"] == raw.count(b"\n")


def test_weibo_digits_and_labels():
    report = ConversionReport()
    docs = list(char_bio_to_docs(FIXTURES / "weibo.txt", "weibo", Vocab(), report))
    assert [d.text for d in docs] == ["王小明去北京", "老师说３１05\ufffd\ufffd哈", "公司在"]
    assert ents(docs[0]) == [("王小明", "PER.NAM"), ("北京", "GPE.NAM")]
    assert ents(docs[1]) == [("老师", "PER.NOM")]
    # the two U+FFFD of a broken emoji are one item: split into two tokens
    assert [t.text for t in docs[1]][-3:] == ["\ufffd", "\ufffd", "哈"]
    assert all(len(t) == 1 for d in docs for t in d)
    assert report.repaired["item of several characters split into characters"] == 1
    # "公 O / 司 I-ORG.NOM"
    assert ents(docs[2]) == [("司", "ORG.NOM")]
    assert report.repaired["I- after O read as B-"] == 1


def test_weibo_merge():
    report = ConversionReport()
    docs = list(char_bio_to_docs(FIXTURES / "weibo.txt", "weibo", Vocab(), report, label_map=WEIBO_MERGE))
    assert ents(docs[0]) == [("王小明", "PER"), ("北京", "LOC")]
    assert ents(docs[1]) == [("老师", "PER")]
    report = ConversionReport()
    docs = list(char_bio_to_docs(FIXTURES / "weibo.txt", "weibo", Vocab(), report, label_map=WEIBO_MERGE_NAM))
    assert ents(docs[1]) == []
    assert ner_annotated(docs[1])
    assert report.skipped["entity removed by the label map: PER.NOM"] == 1
    assert report.skipped["entity removed by the label map: ORG.NOM"] == 1


@pytest.mark.parametrize(
    "content,reason",
    [
        ("王 B-PER\n小 E-PER\n", "unknown tag 'E-PER'"),
        ("王 B-PER\n小 I-\n", "unknown tag 'I-'"),
        ("王 B-PER\n小 I-PER extra\n", "expected 2 columns"),
        ("王\n", "expected 2 columns"),
    ],
)
def test_bio_errors_stop_or_skip(tmp_path, content, reason):
    path = tmp_path / "bad.txt"
    path.write_text("我 O\n\n" + content + "\n好 O\n", encoding="utf8")
    with pytest.raises(CorpusFormatError) as err:
        list(char_bio_to_docs(path, "peoples_daily", Vocab(), ConversionReport()))
    assert str(err.value).startswith(f"{path}:")
    assert reason in str(err.value)
    assert err.value.line in (3, 4)
    report = ConversionReport()
    docs = list(char_bio_to_docs(path, "peoples_daily", Vocab(), report, on_error="skip"))
    assert [d.text for d in docs] == ["我", "好"]
    assert report.n_skipped == 1
    assert reason in next(iter(report.skipped))


def test_weibo_missing_digit(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("王0\tO\n小\tO\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"bad.txt:2: no trailing segmentation digit"):
        list(char_bio_to_docs(path, "weibo", Vocab(), ConversionReport()))


def test_cluener_overlap_and_offsets():
    report = ConversionReport()
    docs = list(cluener_to_docs(FIXTURES / "cluener.json", Vocab(), report))
    assert ents(docs[0]) == [("浙商银行", "company"), ("叶老桂", "name")]
    # the company inside the book title: the longer span is kept, the other counted
    assert ents(docs[1]) == [("《招商银行年报》", "book")]
    assert report.skipped["overlapping span dropped (the longer one is kept)"] == 1
    assert "company [1, 4] overlaps book [0, 7]" in report.examples["overlapping span dropped (the longer one is kept)"][0]
    assert ents(docs[2]) == [] and ner_annotated(docs[2])
    assert all(len(t) == 1 and not t.whitespace_ for d in docs for t in d)
    with pytest.raises(CorpusFormatError, match="cluener.json:2: overlapping spans"):
        list(cluener_to_docs(FIXTURES / "cluener.json", Vocab(), ConversionReport(), overlap="stop"))


@pytest.mark.parametrize(
    "line,reason",
    [
        ('{"text": "王小明", "label": {"name": {"王小明": [[0, 3]]}}}', "outside the text"),
        ('{"text": "王小明", "label": {"name": {"王小明": [[0, 1]]}}}', "does not match the text"),
        ('{"text": "王小明", "label": ', "invalid JSON"),
        ('{"label": {}}', "missing or empty 'text'"),
    ],
)
def test_cluener_errors(tmp_path, line, reason):
    path = tmp_path / "bad.json"
    path.write_text('{"text": "好"}\n\n' + line + "\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=f"bad.json:3: .*{reason}"):
        list(cluener_to_docs(path, Vocab(), ConversionReport()))
    report = ConversionReport()
    docs = list(cluener_to_docs(path, Vocab(), report, on_error="skip"))
    assert [d.text for d in docs] == ["好"]
    assert report.skipped["empty sentence (blank line)"] == 1
    assert report.n_skipped == 2


def test_conll_ud13_fullwidth():
    report = ConversionReport()
    docs = list(conll_to_docs(FIXTURES / "ud13.conll", Vocab(), report, fullwidth_punct=True))
    assert docs[0].text == "看似简单，Google Maps。"
    assert [t.tag_ for t in docs[0]] == ["VV", "JJ", ",", "NNP", "NNP", "."]
    assert [t.pos_ for t in docs[0]] == ["VERB", "ADJ", "PUNCT", "PROPN", "PROPN", "PUNCT"]
    assert docs[1].text == "北京欢迎你"
    assert report.repaired["ASCII punctuation token made full-width"] == 2
    assert not docs[0].has_annotation("ENT_IOB")
    plain = list(conll_to_docs(FIXTURES / "ud13.conll", Vocab(), ConversionReport()))
    assert plain[0].text == "看似简单,Google Maps."


def test_conll_text_comment_and_wtb_columns():
    docs = list(conll_to_docs(FIXTURES / "gsdsimp.conllu", Vocab(), ConversionReport()))
    assert docs[0].text == "同样，施力 的大小。"
    docs = list(conll_to_docs(FIXTURES / "ud13.conll", Vocab(), ConversionReport(), tag_column=4, upos_column=None))
    assert [t.tag_ for t in docs[1]] == ["PROPN", "VERB", "PRON"]
    assert all(t.pos_ == "" for t in docs[1])


def test_conll_wrong_columns(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("1\t好\t_\tADJ\tJJ\t_\t0\troot\t_\t_\n\n1\t坏\t_\tADJ\tJJ\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"bad.conll:3: expected 10 tab-separated columns, found 5"):
        list(conll_to_docs(path, Vocab(), ConversionReport()))
    report = ConversionReport()
    assert [d.text for d in conll_to_docs(path, Vocab(), report, on_error="skip")] == ["好"]
    assert report.n_skipped == 1


def test_latin_spaces():
    assert latin_spaces(["用", "Google", "Maps", "3", "次"]) == [False, True, True, False, False]


def test_word_tag():
    report = ConversionReport()
    docs = list(word_tag_to_docs(FIXTURES / "zhuxian.wordpos", Vocab(), report))
    assert docs[0].text == "张小凡看着前方，"
    assert [t.tag_ for t in docs[0]] == ["NR", "VV", "NN", "PU"]
    assert [t.text for t in docs[2]] == ["a_b", "好"]
    assert report.skipped["empty sentence (blank line)"] == 1
    assert not docs[0].has_annotation("ENT_IOB")


def test_word_tag_error(tmp_path):
    path = tmp_path / "bad.wordpos"
    path.write_text("好_VA\n坏 了_AS\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"bad.wordpos:2: item '坏' is not word_TAG"):
        list(word_tag_to_docs(path, Vocab(), ConversionReport()))


def test_segmented_bom_crlf_fullwidth():
    report = ConversionReport()
    docs = list(segmented_to_docs(FIXTURES / "segmented_bom_crlf.txt", Vocab(), report))
    assert [t.text for t in docs[0]][:3] == ["本", "报", "讯"]
    assert docs[0].text == "本报讯日前，上海市体育局召开会议"
    assert [t.text for t in docs[1]] == ["２００７", "年", "０６", "月"]
    assert report.repaired["UTF-8 BOM removed"] == 1
    assert report.repaired["CRLF line end read as LF"] == 3
    assert report.skipped["empty sentence (blank line)"] == 1
    assert not docs[0].has_annotation("TAG") and not docs[0].has_annotation("ENT_IOB")


def test_docbin_roundtrip_keeps_missing_annotation(tmp_path):
    vocab = Vocab()
    seg = list(segmented_to_docs(FIXTURES / "segmented_bom_crlf.txt", vocab, ConversionReport()))
    ner = list(char_bio_to_docs(FIXTURES / "peoples_daily.txt", "peoples_daily", vocab, ConversionReport()))
    write_docs(seg + ner, tmp_path / "mix.spacy")
    back = read_docs(tmp_path / "mix.spacy")
    assert [d.text for d in back] == [d.text for d in seg + ner]
    assert not back[0].has_annotation("ENT_IOB")
    assert ner_annotated(back[2]) and ents(back[2]) == ents(ner[0])


def test_split_docs_deterministic():
    docs = list(range(20))
    train, dev = split_docs(docs, 0.25, seed=1)  # type: ignore[arg-type]
    assert len(dev) == 5 and sorted(train + dev) == docs
    assert split_docs(docs, 0.25, seed=1) == (train, dev)  # type: ignore[arg-type]
    assert split_docs(docs, 0.25, seed=2)[1] != dev  # type: ignore[arg-type]
    assert len(split_docs(docs[:3], 0.01)[1]) == 1  # type: ignore[arg-type]


def test_proper_noun_tag():
    assert proper_noun_tag(["NN", "NR", "VV"]) == "NR"
    assert proper_noun_tag(["NN", "NNP"]) == "NNP"
    assert proper_noun_tag(["NOUN", "PROPN"]) == "PROPN"
    with pytest.raises(ValueError):
        proper_noun_tag(["NN"])
