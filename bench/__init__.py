"""`python -m bench`: speed, accuracy and memory of the assistant against Rasa's `rasa init` defaults."""
