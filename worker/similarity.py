"""Body fingerprints: shingles of normalized text, their exact overlap, MinHash and LSH band keys.

A body is read as a sequence of tokens: each character its NFKC form, case-folded, apostrophes
dropped ("Afghanistan’s" = "afghanistans"), any other punctuation, symbol or space a separator,
combining marks part of their word. In scripts written without spaces between words (Chinese,
Japanese, Thai, Lao, Khmer, Myanmar) every character is a token, so their shingles are
character n-grams. A shingle is ``SHINGLE`` consecutive tokens, hashed to 64 bits by integer
arithmetic on numpy arrays: the same text gives the same hashes in every process and on every
platform (nothing depends on Python's salted ``hash``), and in every release while the constants
below stay (tests pin the keys of a fixed text). Characters are classified by Python's Unicode
database: only a text with a character unassigned in Python 3.11's could read otherwise later.

The MinHash signature is datasketch's (``MinHash(num_perm=NUM_PERM, seed=SEED)`` fed the high 32
bits of shingle hashes): its permutations and formula, computed over the whole body in a few numpy
operations instead of one ``hashfunc`` call per shingle, on a consistent 1-in-``SAMPLE`` sample of
the shingles. Band keys fold each band of ``ROWS`` values and its index into one signed 64-bit
integer that an SQLite INTEGER column holds.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict
from functools import cache

import numpy as np

SHINGLE = 4  # tokens per shingle: 4 words, or 4 characters of Chinese, Japanese or Thai
# LSH: datasketch's optimal (bands, rows) for Jaccard 0.5 at 48 permutations (_optimal_param):
# a copy of Jaccard 0.7 shares a key with 96% odds, of 0.8 with 99.8%; two bodies of Jaccard 0.05
# share one with 1 in 13,000, so a lookup in a million articles finds few strangers.
NUM_PERM = 48  # MinHash permutations: BANDS * ROWS
BANDS = 12  # LSH bands: an article stores this many keys
ROWS = 4  # signature values per band
SAMPLE = 4  # MinHash reads the shingles whose hash is divisible by this (a power of two)
SEED = 20240601  # datasketch's seed for its permutations; a change invalidates stored keys

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
EMPTY = 0xFFFFFFFF  # every signature value of an empty sample (datasketch's initial value)
_PRIME = _U64((1 << 61) - 1)  # datasketch's Mersenne prime
_DROP = 0  # table value of a character left out (apostrophes, invisible format characters)
_SEP = 1  # table value of a separator
_EXPAND = 2  # table value of a character whose NFKC form is several letters
_KEPT_POWERS = 1 << 16  # characters of the power tables kept; a longer body computes its own
_ALONE = 1 << 24  # flag: a character that is a token on its own (scripts without spaces)
_APOSTROPHES = "'\u2019\u02bc\u2018"
_ALONE_RANGES = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x19E0, 0x19FF),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)

_rng = np.random.RandomState(SEED)  # fixed constants of the token and shingle hashes
_BASE = _U64(_rng.randint(1, 2**63, dtype=np.uint64) | _U64(1))  # odd: invertible modulo 2**64
_BASE_INV = _U64(pow(int(_BASE), -1, 2**64))
_ROW = _rng.randint(1, 2**63, size=ROWS, dtype=np.uint64) | _U64(1)
_BAND = _rng.randint(1, 2**63, size=BANDS, dtype=np.uint64)
del _rng


def _char_value(ch: str) -> int:
    """The table value of one character: its NFKC form dropped, a separator, or case-folded."""
    form = unicodedata.normalize("NFKC", ch)
    if len(form) != 1:
        values = {_char_value(c) for c in form}
        return _SEP if values <= {_SEP, _DROP} else _EXPAND
    ch = form
    if ch in _APOSTROPHES or unicodedata.category(ch) == "Cf":
        return _DROP
    if not (ch.isalnum() or unicodedata.category(ch).startswith("M")):
        return _SEP
    folded = ch.casefold()
    cp = ord(folded) if len(folded) == 1 else ord(ch.lower()) if len(ch.lower()) == 1 else ord(ch)
    alone = any(lo <= ord(ch) <= hi for lo, hi in _ALONE_RANGES)
    return cp | _ALONE if alone else cp


# datasketch's MinHash(num_perm=NUM_PERM, seed=SEED).permutations, written out so that a process
# that hashes bodies does not import datasketch (its package loads scipy: seconds and ~40 MB); a
# test checks them against datasketch.
PERMUTATION_A = (
    544547560625061753,
    1168514991480773835,
    785583649358409900,
    1510800265922565109,
    150439678985393312,
    1300120906572211094,
    1698940005953790203,
    1590986123358985947,
    207946926120740837,
    1017823831786317562,
    40197324282283246,
    1659164897542033900,
    938944410152429138,
    2086601183698407994,
    477148799639863167,
    996700886779047424,
    2032687263865679235,
    1521952321464012563,
    1586094617420942837,
    950927949868359642,
    756898466910111469,
    1064468673601124394,
    1387539547819134223,
    530071326600126027,
    2203490756851663063,
    912029449687102311,
    2225644933571395591,
    289117964015330553,
    1558328677533655835,
    568187388027843110,
    1570340122755681969,
    673683617281437373,
    1768290765921923181,
    1100591404634153210,
    2098999669225228213,
    30631192889114160,
    2001948949462399061,
    2063098246238808779,
    471818854800951513,
    1195617720656175970,
    1652183202510682299,
    379282375271837673,
    239151690979843864,
    132200355498371874,
    171704912541681297,
    731778807694366211,
    16756032231966003,
    1763640855391820343,
)
PERMUTATION_B = (
    1496059403552586342,
    531520931612041385,
    253647512391541103,
    631940316062873025,
    1255071650620333424,
    777712393291150681,
    1168917687321119860,
    1451653776971117775,
    2141852828106780067,
    2105637023604776764,
    1638798186561058772,
    1617818321769409035,
    1645273765385620745,
    685281046318357749,
    1782010421261084423,
    1650435950334028764,
    1967545184956799612,
    1018668718107567338,
    676055128089004662,
    729970260921214840,
    393488991080541104,
    745761911352618264,
    303393962754465187,
    1302266701065982281,
    1274877568088221351,
    67383981948319087,
    605747748359747614,
    1043171987897777838,
    1389677741927478459,
    1045878112987581952,
    251316522220047985,
    1757484229334816501,
    368871693858277418,
    240056466666540281,
    646063508654889134,
    1491069533746621963,
    1140560728565829519,
    886051560964701957,
    1277655345614969579,
    169750626030805458,
    1933313530861196030,
    1013156275211479624,
    320016375332861844,
    141915696677030719,
    640181693608837796,
    1496969450416928196,
    1349683982729274413,
    618767128570451711,
)
_PERM_A = np.array(PERMUTATION_A, dtype=np.uint64)[:, None]
_PERM_B = np.array(PERMUTATION_B, dtype=np.uint64)[:, None]


@cache
def _table() -> np.ndarray:
    """Values of the Basic Multilingual Plane, built once per process (a fifth of a second)."""
    return np.array([_char_value(chr(cp)) for cp in range(0x10000)], dtype=np.uint32)


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's MinHash permutations (a, b) as columns."""
    return _PERM_A, _PERM_B


@cache
def _astral(cp: int) -> int:
    return _char_value(chr(cp))


def _values(text: str) -> np.ndarray:
    """Table values of the characters of ``text``: dropped characters left out, each run of
    separators one separator, so that only the tokens and where they part matter.

    Each character stands for its NFKC form; a text that is not in NFC, or that holds a
    character whose NFKC form is several letters ("ﬁ", "㎏"), is NFKC-normalized whole first.
    """
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFKC", text)
    values = _lookup(text)
    if (values == _EXPAND).any():
        values = _lookup(unicodedata.normalize("NFKC", text))
        values[values == _EXPAND] = _SEP  # none is left in NFKC text; a guard only
    values = values[values != _DROP]
    sep = values == _SEP
    return values[~(sep & np.concatenate(([True], sep[:-1])))]


def _lookup(text: str) -> np.ndarray:
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if cps.size and cps.max() >= 0x10000:
        big = cps >= 0x10000
        values = _table()[np.where(big, 0, cps)]
        values[big] = [_astral(int(cp)) for cp in cps[big]]
        return values
    return _table()[cps]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: every input bit moves every output bit."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    one = np.ones(1, dtype=np.uint64)
    return (
        np.concatenate((one, np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64)))),
        np.concatenate((one, np.cumprod(np.full(size - 1, _BASE_INV, dtype=np.uint64)))),
    )


_TABLES = _power_tables(_KEPT_POWERS)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``_BASE ** i`` and its inverse modulo 2**64 for i < n (kept for bodies of ordinary length)."""
    power, inverse = _TABLES if n <= _KEPT_POWERS else _power_tables(n)
    return power[:n], inverse[:n]


def _bounds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each token starts and ends (exclusive), as indices into ``values``."""
    word = values != _SEP
    if values.size and values.max() >= _ALONE:  # a character of a script without spaces is a token
        alone = (values & _ALONE) != 0
        edge = np.concatenate(([True], ~word[:-1] | alone[:-1])) | alone
        starts = np.flatnonzero(word & edge)
        end = np.concatenate((~word[1:] | alone[1:], [True])) | alone
        return starts, np.flatnonzero(word & end) + 1
    padded = np.zeros(values.size + 2, dtype=bool)
    padded[1:-1] = word
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return change[0::2], change[1::2]


def shingle_hashes(text: str, size: int = SHINGLE) -> np.ndarray:
    """64-bit hashes of every run of ``size`` consecutive tokens (one for a shorter text), in order.

    A shingle's hash is a polynomial hash modulo 2**64 of its normalized characters (tokens and
    the one separator between two), read off prefix sums, then mixed.
    """
    values = _values(text)
    starts, ends = _bounds(values)
    n = starts.size
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    k = min(size, n)
    power, inverse = _powers(values.size + 1)
    prefix = np.zeros(values.size + 1, dtype=np.uint64)
    np.cumsum(values * power[:-1], out=prefix[1:])
    first = starts[: n - k + 1]
    return _mix((prefix[ends[k - 1 :]] - prefix[first]) * inverse[first])


def shingles(text: str, size: int = SHINGLE) -> np.ndarray:
    """The set of shingle hashes of ``text``: sorted, unique ``uint64``."""
    hashes = np.sort(shingle_hashes(text, size))
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))] if hashes.size else hashes


class ShingleCache:
    """``shingles`` of the texts compared lately, by a 128-bit digest of the text, up to
    ``limit`` bytes of shingle sets (the least recently used go first). The newest articles
    under a recurring headline ("Corrections", up to 50) are compared with every new one, and
    their shingles cost as much as the rest of storing an article: each is made once instead.
    The sets are read-only."""

    def __init__(self, limit: int = 16 << 20):
        self.limit, self.size = limit, 0
        self._sets: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            if (found := self._sets.get(key)) is not None:
                self._sets.move_to_end(key)
                return found
        made = shingles(text)
        made.flags.writeable = False
        with self._lock:
            if key not in self._sets:
                self._sets[key] = made
                self.size += made.nbytes
            while self.size > self.limit and self._sets:
                self.size -= self._sets.popitem(last=False)[1].nbytes
        return made

    def __len__(self) -> int:
        return len(self._sets)


def similarity(a: str | np.ndarray, b: str | np.ndarray) -> float:
    """Overlap of two bodies' shingle sets: shared shingles / shingles of the smaller body.

    It is Jaccard's measure made insensitive to what only one text has: a copy with a footer
    or a header line added, cut short at the end, or a story that grew by a paragraph scores
    as its own text, while two different stories share few shingles. 0.0 if either is empty.
    Arguments are bodies or their ``shingles``.
    """
    sa = shingles(a) if isinstance(a, str) else a
    sb = shingles(b) if isinstance(b, str) else b
    if not sa.size or not sb.size:
        return 0.0
    shared = np.intersect1d(sa, sb, assume_unique=True).size
    return shared / min(sa.size, sb.size)


def signature(hashes: np.ndarray) -> np.ndarray:
    """datasketch's MinHash values (``NUM_PERM``, ``uint64`` below 2**32) of a body's shingle hashes.

    MinHash reads a consistent sample, the shingles whose hash is divisible by ``SAMPLE`` (a
    shingle is in the sample of every body that has it, so the sampled sets' Jaccard estimates
    the bodies'), which divides the cost by ``SAMPLE``. The values are those of
    ``MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)`` updated with the high 32 bits of the
    sampled hashes: ``(a * h + b) mod 2**64 mod (2**61 - 1)``, low 32 bits, least over shingles,
    the Mersenne modulus taken as ``(y & p) + (y >> 61)`` without the final ``- p`` that applies
    once in 2**58 values (the comparison would cost a fifth of the time).
    """
    h = hashes[hashes & _U64(SAMPLE - 1) == 0] >> _U64(32)
    perm_a, perm_b = _permutations()
    y = perm_a * h
    y += perm_b
    low = y & _MASK32
    y >>= _U64(61)
    low += y
    low &= _MASK32
    return low.min(axis=1, initial=EMPTY)


def bands(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band of ``ROWS`` signature values, the band's index folded in."""
    keys = sig.reshape(BANDS, ROWS).astype(np.uint64) @ _ROW
    keys += _BAND
    return _mix(keys).view(np.int64).tolist()
