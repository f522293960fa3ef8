"""Text fingerprints for near-duplicate detection: MinHash (datasketch) over word shingles of normalised text.

Pure functions only; the database side is in `monitor.dedup.clusters`. Normalisation (`monitor.textnorm`)
folds case, Arabic/Persian letter variants, diacritics, tatweel and digits, so spelling variants of one text
give one fingerprint; the stored text is never altered.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from monitor.dedup.settings import DedupSettings
from monitor.textnorm import normalize

if TYPE_CHECKING:
    from datasketch import MinHash

# Word tokens as in the evaluation corpus' body metric (Unicode `\w+`); Arabic letters are `\w` too.
_WORD = re.compile(r"\w+")
# datasketch 2.x default: 32-bit affine permutations; named explicitly so stored signatures stay comparable.
MINHASH_SCHEME = "affine32"
SIGNATURE_DTYPE = np.dtype("<u4")
# Odd 64-bit multiplier (golden ratio, as in splitmix64) of the shingle polynomial over token hashes.
_POLY = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A MinHash signature with the sizes the containment check needs."""

    signature: np.ndarray
    num_words: int
    num_shingles: int


@dataclass(frozen=True, slots=True)
class Similarity:
    """Estimated overlap of two fingerprints' shingle sets."""

    jaccard: float
    containment: float
    length_ratio: float
    shared: float


def words(text: str) -> list[str]:
    """Word tokens of the normalised text."""
    return _WORD.findall(normalize(text))


@lru_cache(maxsize=1 << 18)
def token_hash(token: str) -> int:
    """A stable 64-bit hash of one token (blake2b; Python's `hash` changes between processes)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")


def combine_shingles(token_hashes: np.ndarray, size: int) -> np.ndarray:
    """Distinct 32-bit shingle hashes from uint64 token hashes: a polynomial over each window, high half."""
    if not len(token_hashes):
        return np.empty(0, dtype=np.uint32)
    width = max(1, len(token_hashes) - size + 1)
    combined = np.zeros(width, dtype=np.uint64)
    for offset in range(min(size, len(token_hashes))):
        combined = combined * _POLY + token_hashes[offset : offset + width]
    return np.unique((combined >> np.uint64(32)).astype(np.uint32))


def shingle_hashes(tokens: list[str], size: int) -> np.ndarray:
    """One 32-bit hash per distinct run of `size` consecutive words (the whole text if shorter).

    datasketch mixes these values again (fmix32) before permuting them.
    """
    hashes = np.fromiter((token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    return combine_shingles(hashes, size)


@lru_cache(maxsize=8)
def _template(num_perm: int, seed: int) -> MinHash:
    """An empty MinHash whose permutations are computed once per (num_perm, seed)."""
    # Imported here: datasketch's package imports its LSH modules and SciPy (~0.7 s, ~30 MB), which a crawl
    # that stores nothing (an unchanged cycle) and most CLI commands never need.
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=MINHASH_SCHEME)


def minhash(hashes: np.ndarray, settings: DedupSettings) -> MinHash:
    """A MinHash of 32-bit shingle hashes with the settings' permutations (datasketch `update_batch`)."""
    from datasketch import MinHash

    template = _template(settings.num_perm, settings.seed)
    mh = MinHash(
        num_perm=settings.num_perm, permutations=template.permutations, scheme=MINHASH_SCHEME, hashfunc=int
    )
    if len(hashes):
        mh.update_batch(hashes.tolist())
    return mh


def fingerprint(text: str, settings: DedupSettings) -> Fingerprint:
    """Fingerprint of an article text (title not included)."""
    tokens = words(text)
    hashes = shingle_hashes(tokens, settings.shingle_words)
    signature = minhash(hashes, settings).hashvalues.astype(SIGNATURE_DTYPE)
    return Fingerprint(signature, len(tokens), len(hashes))


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (Steele et al. 2014): every input bit affects every output bit."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def band_hashes(signature: np.ndarray, settings: DedupSettings) -> list[tuple[int, int]]:
    """(band number, signed 64-bit hash of the band's `rows` values) for each LSH band."""
    rows = np.asarray(signature[: settings.bands * settings.rows], dtype=np.uint64).reshape(
        settings.bands, -1
    )
    combined = np.zeros(settings.bands, dtype=np.uint64)
    for column in rows.T:
        combined = _mix64(combined * _POLY + column)
    return list(enumerate(combined.view(np.int64).tolist()))


def signature_bytes(signature: np.ndarray) -> bytes:
    """The signature as stored (little-endian uint32)."""
    return np.asarray(signature, dtype=SIGNATURE_DTYPE).tobytes()


def signature_from_bytes(raw: bytes) -> np.ndarray:
    """A stored signature back as an array."""
    return np.frombuffer(raw, dtype=SIGNATURE_DTYPE)


def similarity(a: Fingerprint, b: Fingerprint) -> Similarity:
    """Jaccard estimate, containment of the smaller set in the larger, their size ratio and the shared count.

    The shared count follows from |A∩B| = J·|A∪B| and |A∪B| = (|A| + |B|) / (1 + J).
    """
    jaccard = float(np.count_nonzero(a.signature == b.signature)) / len(a.signature)
    small, large = sorted((a.num_shingles, b.num_shingles))
    if small == 0:
        return Similarity(jaccard, 0.0, 0.0, 0.0)
    shared = jaccard * (small + large) / (1 + jaccard)
    return Similarity(jaccard, min(1.0, shared / small), small / large, shared)


def is_near_duplicate(sim: Similarity, settings: DedupSettings) -> bool:
    """The merge rule: enough shared text, and high Jaccard or near containment at a comparable length."""
    if sim.shared < settings.min_shared_shingles:
        return False
    if sim.jaccard >= settings.jaccard_threshold:
        return True
    return sim.containment >= settings.containment_threshold and sim.length_ratio >= settings.min_length_ratio
