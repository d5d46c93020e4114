"""Data-preparation tools of the project: pkuseg training, pre-annotation,
asset placement, corpus statistics and the tiny transformer maker. The
corpus readers (formats) are in `spacy_zh_mtl.corpora`."""
