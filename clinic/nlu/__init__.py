"""The project's Rasa NLU components."""
