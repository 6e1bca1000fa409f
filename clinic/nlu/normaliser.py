"""``clinic.nlu.normaliser.TextNormaliser``: the first component of the NLU pipeline. It replaces
the message text every later component reads (spaCy, the red-flag rules, the featurizers, the
encoder) with :func:`clinic.text.normalise.normalise` of it, in training and in serving alike.

The tracker keeps what the patient typed: Rasa records the user event from the incoming message,
not from the parsed one.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu.message_step import MessageStep
from clinic.text.normalise import normalise


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class TextNormaliser(MessageStep):
    def apply(self, message: Message) -> None:
        text = message.get(TEXT)
        if text:
            message.set(TEXT, normalise(text))
