"""What the sentence encoder (clinic/nlu/sentence_encoder.py) costs, in its own process:
`python -m bench.encoder_cost [THREADS]` prints JSON on its last line.

- load_s: loading the ONNX model (sha256 check included) and the tokenizer;
- ms_per_msg_p50 / cpu_ms_per_msg: one held-out message at a time, as the server embeds them;
- train_s / train_examples: embedding every NLU training example in batches, as `rasa train` does
  (Rasa's cache keeps the result when the examples have not changed).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any, Dict

from bench.load import heldout_messages
from clinic.tools.evaluation import training_texts


def measure(threads: int = 1, repeats: int = 2) -> Dict[str, Any]:
    from clinic.text.encoder import MODEL_NAME, SentenceEncoder

    started = time.perf_counter()
    encoder = SentenceEncoder(threads)
    load_s = time.perf_counter() - started
    messages = heldout_messages()
    for text in messages[:10]:
        encoder.encode([text])
    walls = []
    cpu_started = time.process_time()
    for _ in range(repeats):
        for text in messages:
            began = time.perf_counter()
            encoder.encode([text])
            walls.append((time.perf_counter() - began) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(walls)
    texts = training_texts()
    began = time.perf_counter()
    encoder.encode(texts)
    train_s = time.perf_counter() - began
    return {
        "model": MODEL_NAME,
        "threads": threads,
        "load_s": round(load_s, 2),
        "ms_per_msg_p50": round(statistics.median(walls), 2),
        "ms_per_msg_mean": round(statistics.mean(walls), 2),
        "cpu_ms_per_msg": round(cpu_ms, 2),
        "train_examples": len(texts),
        "train_s": round(train_s, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
