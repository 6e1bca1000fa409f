"""Patient text handling shared by the NLU and the red-flag rules (normalisation, phrase matching).

May import: spaCy and the standard library; nothing else of the project.
"""
