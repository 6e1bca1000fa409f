"""The meaning backstop: red flags in Spanish judged by what the message means, not its words.

Why: the Spanish phrase rules and the n-gram backstop learn words, and Spanish crisis messages
worded in ways they had not seen were missed about half the time on blind rounds B, C and D (a
plan with a car in a closed garage, a knife "por si esta noche me animo", goodbyes, a will).
This classifier reads a multilingual sentence embedding (``clinic.text.multilingual``), in which
"compré una pistola y pienso usarla conmigo" lands near "i bought a gun and keep thinking of
using it on myself", so it learns from the English examples as well as the Spanish ones.

What it may do, after the rules and the n-gram backstop, for a message that leans to Spanish:
raise a crisis over anything less; report an emergency only where nothing else was found (on
the development rounds it took urgent infections and bleeding for emergencies); never where the
Spanish rules saw that kind of red flag and set every mention aside for its context (denied,
someone else's, over, a figure of speech), unless very sure. Cut-offs in
``clinic/data/red_flags/backstop.yml`` (``meaning``).

It learns from every example in ``clinic/data/red_flag_examples/`` (both languages), the scored
Spanish blind rounds and Spanish messages written from patterns in its ``meaning/`` folder (which
the n-gram backstop does not read: with them it lost two English crises, measured) and the
assistant's NLU examples as routine. The fit is a logistic regression per severity, done in
training (the RedFlagDetector keeps it in the model); the embeddings and the fit are cached in
``var/cache/`` by content, so only a fit after the data changed embeds (about 12 ms an example).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from clinic.red_flags.backstop import (
    DEFAULT_EXAMPLES_DIR,
    MEANING_JUDGES,
    NONE,
    MeaningSettings,
    load_examples,
    load_settings,
)
from clinic.settings import PROJECT_ROOT
from clinic.text.multilingual import MODEL_NAME, shared_multilingual

logger = logging.getLogger(__name__)

MEANING_ONLY_DIR = DEFAULT_EXAMPLES_DIR / "meaning"
CACHE_DIR = Path(os.environ.get("CLINIC_CACHE_DIR") or PROJECT_ROOT / "var" / "cache")


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class _EmbeddingCache:
    """Embeddings by text, kept in one file so that a refit embeds only new examples."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: Dict[str, np.ndarray] = {}
        try:
            with np.load(path) as stored:
                self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"]))
        except (OSError, KeyError, ValueError):
            pass

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if _key(t) not in self.vectors})
        if missing:
            logger.info("meaning backstop: embedding %d examples (once; then cached)", len(missing))
            for start in range(0, len(missing), 256):
                batch = missing[start : start + 256]
                for text, vector in zip(batch, shared_multilingual().embed(batch)):
                    self.vectors[_key(text)] = vector
            _save(self.path, keys=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
        return np.stack([self.vectors[_key(t)] for t in texts])


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Written whole or not at all (a temporary file renamed); a read-only disk only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.npz")
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    except OSError as error:
        logger.warning("meaning backstop: cache not written (%s)", type(error).__name__)


def _fit(vectors: np.ndarray, labels: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights, biases = [], []
    for severity in MEANING_JUDGES:
        target = np.array([label == severity for label in labels], dtype=int)
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000).fit(vectors, target)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
    return np.array(weights, dtype=np.float64), np.array(biases, dtype=np.float64)


class MeaningBackstop:
    def __init__(
        self,
        examples: Sequence[Tuple[str, str]],
        settings: MeaningSettings,
        cache_dir: Path = CACHE_DIR,
    ) -> None:
        self.settings = settings
        fingerprint = hashlib.sha256(
            json.dumps([MODEL_NAME, sorted(examples)], ensure_ascii=False).encode("utf-8")
        ).hexdigest()[:16]
        self.fingerprint = fingerprint
        fitted = cache_dir / f"meaning_backstop_{fingerprint}.npz"
        try:
            with np.load(fitted) as stored:
                self._weights, self._biases = stored["weights"], stored["biases"]
        except (OSError, KeyError, ValueError):
            vectors = _EmbeddingCache(cache_dir / "multilingual_embeddings.npz").embed([t for t, _ in examples])
            self._weights, self._biases = _fit(vectors, [label for _, label in examples])
            _save(fitted, weights=self._weights, biases=self._biases)

    def save(self, path: Path) -> None:
        """The fit, with the fingerprint of what it learned from, for the model archive
        (``adopt`` puts it back in the cache where another machine loads the model)."""
        np.savez(path, weights=self._weights, biases=self._biases, fingerprint=np.array(self.fingerprint))

    def probabilities(self, text: str) -> Dict[str, float]:
        if not text.strip():
            return {severity: 0.0 for severity in MEANING_JUDGES}
        scores = self._weights @ shared_multilingual().embed([text])[0].astype(np.float64) + self._biases
        return {severity: float(1.0 / (1.0 + np.exp(-s))) for severity, s in zip(MEANING_JUDGES, scores)}

    def judge(self, probabilities: Mapping[str, float]) -> List[Tuple[str, float]]:
        """Each severity whose cut-off a message's ``probabilities`` reach, most severe first."""
        cuts: Mapping[str, float] = self.settings.thresholds
        return [(s, probabilities[s]) for s in MEANING_JUDGES if s in cuts and probabilities[s] >= cuts[s]]


def load_meaning_backstop(routine: Iterable[str] = ()) -> Optional[MeaningBackstop]:
    """Fitted on the reviewed examples of both languages, the scored Spanish rounds and
    ``routine`` messages (the NLU examples); None when ``backstop.yml`` gives it no cut-offs."""
    settings = load_settings().meaning
    if settings is None or not settings.thresholds:
        return None
    examples = load_examples() + load_examples(MEANING_ONLY_DIR) + [(t, NONE) for t in routine]
    return MeaningBackstop(examples, settings)


def adopt(path: Path, cache_dir: Path = CACHE_DIR) -> None:
    """A fit saved in a model archive joins the cache, so that a machine that did not train the
    model loads it without embedding anything; it is used only if the examples are still those it
    learned from (same fingerprint)."""
    try:
        with np.load(path) as stored:
            fingerprint = str(stored["fingerprint"])
            arrays = {"weights": stored["weights"], "biases": stored["biases"]}
    except (OSError, KeyError, ValueError):
        return
    target = cache_dir / f"meaning_backstop_{fingerprint}.npz"
    if not target.exists():
        _save(target, **arrays)
