"""Patient text handling shared by the NLU, the red-flag rules and the review queue (normalisation,
phrase matching, the sentence encoder).

May import: spaCy, numpy, ONNX Runtime and the standard library; nothing else of the project.
"""
