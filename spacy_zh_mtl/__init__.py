"""Chinese NER for spaCy: a multitask BERT-BiGRU-CRF component (`zh_mtl_ner`)."""
__version__ = "0.1.0"
