"""Groups the review queue's questions by meaning, as they arrive.

Each question becomes a vector of hashed character n-grams (3 to 5, within words) and words (stop
words left out), weighted by how rare each feature is in the assistant's own training examples
(inverse document frequency; a feature the examples never use counts as the rarest), beside its
sentence embedding (all-MiniLM-L6-v2, ``clinic.text.encoder``: what the words share only in meaning,
"medicaid" and "insurance"), then scaled to unit length: scikit-learn's HashingVectorizer and a
fixed pretrained encoder, so the vectors of questions seen months apart stay comparable without
refitting anything. A question joins the group whose centroid is most similar
(cosine) if that similarity reaches ``threshold``, else it starts a group of its own; the
centroid is the running sum of its members. Groups are made once, in the collector, and stored, so
the review page only reads them.

The threshold and the embedding's weight were chosen on the scripted conversations of tests/data/review_conversations.yml
(scripts/review_loop.py --groups prints the purity and splits at other thresholds).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import snowballstemmer
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
from sklearn.preprocessing import normalize

from clinic.settings import PROJECT_ROOT
from clinic.text.encoder import DIMENSIONS, MODEL_NAME, shared_encoder

NLU_DATA = PROJECT_ROOT / "data" / "nlu"
N_FEATURES = 2**20
# Measured (scripts/review_loop.py --groups): with the embedding about as heavy as the two n-gram
# blocks together, every scripted question lands in its own question's group from 0.22 to 0.30 (the
# n-grams alone: 132 of 136 at best, "medicare" apart from "insurance"); the middle of that range.
THRESHOLD = 0.26
# A centroid keeps its strongest features only: enough to place new questions, small to store.
CENTROID_FEATURES = 400
WORD_WEIGHT = 1.0
CHAR_WEIGHT = 1.0
MEANING_WEIGHT = 1.4
# The embedding's columns follow the two hashed blocks.
MEANING_START = 2 * N_FEATURES
# Words every question here uses, which say nothing about what it asks.
DOMAIN_STOP_WORDS = {
    "injection",
    "injections",
    "shot",
    "shots",
    "trigger",
    "point",
    "points",
    "tpi",
    "tpis",
    # every question here is put to the clinic: "is the clinic open saturday morning" joined "can the
    # clinic refill my pain prescription" on the word (review loop test, 2026-12-05)
    "clinic",
    "clinics",
    "hi",
    "hello",
    "hey",
    "please",
    "thanks",
    "thank",
    "question",
    "quick",
    "ok",
    "okay",
    "just",
    "wondering",
    "know",
    "want",
    "like",
    "ask",
    "tell",
    "does",
    "did",
    "do",
    "doing",
    "im",
    "ive",
    "id",
    "dont",
}
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | DOMAIN_STOP_WORDS
_PLACEHOLDER = re.compile(r"\[(?:phone|email|name|number|removed)\]")
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


def normalise(text: str) -> str:
    text = _PLACEHOLDER.sub(" ", str(text or "")).replace("’", "'").replace("‘", "'")
    text = text.lower().replace("'", "")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text)).strip()


def training_examples(folder: Path = NLU_DATA) -> List[str]:
    """Every example text in the assistant's NLU training data (Rasa YAML), annotations removed."""
    examples: List[str] = []
    for path in sorted(folder.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("nlu") or []:
            block = entry.get("examples") if isinstance(entry, dict) else None
            if not isinstance(block, str):
                continue
            for line in block.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(_ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:]))
    return examples


class Vectoriser:
    def __init__(self, corpus: Sequence[str]):
        self.chars = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=N_FEATURES,
            alternate_sign=False,
            norm=None,
            preprocessor=self._content,
        )
        self.stemmer = snowballstemmer.stemmer("english")
        self.words = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 1),
            n_features=N_FEATURES,
            alternate_sign=False,
            norm=None,
            preprocessor=self._stems,
            token_pattern=r"(?u)\b[a-z][a-z]+\b",
        )
        texts = [normalise(t) for t in corpus]
        self.char_idf = self._idf(self.chars.transform(texts), len(texts))
        self.word_idf = self._idf(self.words.transform(texts), len(texts))
        self.fingerprint = hashlib.sha256(
            "\n".join(sorted(texts)).encode("utf-8")
            + f"{THRESHOLD}/{WORD_WEIGHT}/{CHAR_WEIGHT}/{MEANING_WEIGHT}/{MODEL_NAME}".encode()
        ).hexdigest()[:16]

    @staticmethod
    def _content(text: str) -> str:
        # Character n-grams of the words that carry the meaning (stop words dropped).
        return " ".join(word for word in normalise(text).split() if word not in STOP_WORDS)

    def _stems(self, text: str) -> str:
        # Word stems (Snowball's English stemmer): "park" and "parking", "note" and "notes" agree.
        words = [word for word in normalise(text).split() if word not in STOP_WORDS]
        return " ".join(self.stemmer.stemWords(words))

    @staticmethod
    def _idf(counts: sparse.csr_matrix, documents: int) -> np.ndarray:
        df = np.bincount(counts.indices, minlength=N_FEATURES)
        return np.log((1.0 + documents) / (1.0 + df)) + 1.0

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        chars = self.chars.transform(texts).multiply(self.char_idf).tocsr()
        words = self.words.transform(texts).multiply(self.word_idf).tocsr()
        chars = normalize(chars) * CHAR_WEIGHT
        words = normalize(words) * WORD_WEIGHT
        meaning = shared_encoder().encode([_PLACEHOLDER.sub(" ", str(t or "")) for t in texts]) * MEANING_WEIGHT
        return normalize(sparse.hstack([chars, words, sparse.csr_matrix(meaning)]).tocsr())


def to_json(vector: sparse.csr_matrix, keep: int = CENTROID_FEATURES) -> Dict[str, list]:
    """The centroid's strongest n-gram features and its whole embedding."""
    row = vector.tocsr()
    indices, values = row.indices, row.data
    grams = indices < MEANING_START
    if grams.sum() > keep:
        top = np.argsort(np.where(grams, values, -np.inf))[-keep:]
        kept = np.zeros(len(values), dtype=bool)
        kept[top] = True
        kept |= ~grams
        indices, values = indices[kept], values[kept]
    order = np.argsort(indices)
    return {"i": [int(i) for i in indices[order]], "v": [round(float(v), 5) for v in values[order]]}


def from_json(data: Dict[str, list], width: int) -> sparse.csr_matrix:
    indices = np.asarray(data.get("i") or [], dtype=np.int64)
    values = np.asarray(data.get("v") or [], dtype=np.float64)
    return sparse.csr_matrix((values, (np.zeros(len(indices), dtype=np.int64), indices)), shape=(1, width))


@dataclass
class Group:
    key: int  # the stored id, or a negative number for a group made in this batch
    total: sparse.csr_matrix
    members: int
    changed: bool = False
    label: Optional[str] = None


@dataclass
class Grouper:
    """The groups in memory, and where a new question goes."""

    vectoriser: Vectoriser
    threshold: float = THRESHOLD
    groups: Dict[int, Group] = field(default_factory=dict)
    _next_new: int = -1
    _matrix: Optional[sparse.csr_matrix] = None
    _keys: List[int] = field(default_factory=list)

    @property
    def width(self) -> int:
        return MEANING_START + DIMENSIONS

    def load(self, stored: Iterable[Tuple[int, Dict[str, list], int]]) -> None:
        """(id, centroid json, members) of the stored groups."""
        self.groups = {gid: Group(gid, from_json(centroid, self.width), members) for gid, centroid, members in stored}
        self._matrix = None

    def _centroids(self) -> Tuple[List[int], Optional[sparse.csr_matrix]]:
        if self._matrix is None and self.groups:
            self._keys = list(self.groups)
            self._matrix = normalize(sparse.vstack([self.groups[k].total for k in self._keys]).tocsr())
        return self._keys, self._matrix

    def nearest(self, vector: sparse.csr_matrix) -> Tuple[Optional[int], float]:
        keys, matrix = self._centroids()
        if matrix is None:
            return None, 0.0
        similarities = (matrix @ vector.T).toarray().ravel()
        best = int(np.argmax(similarities))
        return keys[best], float(similarities[best])

    def place(self, vector: sparse.csr_matrix, label: str) -> int:
        key, similarity = self.nearest(vector)
        if key is None or similarity < self.threshold:
            key = self._next_new
            self._next_new -= 1
            self.groups[key] = Group(key, vector.copy(), 0, label=label)
        group = self.groups[key]
        if group.members:
            group.total = group.total + vector
        group.members += 1
        group.changed = True
        self._matrix = None
        return key


def cluster(texts: Sequence[str], vectoriser: Vectoriser, threshold: float = THRESHOLD) -> List[int]:
    """The group of each text when they arrive in this order (for scripts and tests)."""
    grouper = Grouper(vectoriser, threshold)
    vectors = vectoriser.transform(list(texts))
    return [grouper.place(vectors[i], text) for i, text in enumerate(texts)]
