"""RFC 6962 Merkle trees: tree hash, inclusion and consistency proofs and their checks.

leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || left || right); the split point is the
largest power of two smaller than n.

Whole levels are hashed with ``map`` chains (``_hash_all``): hashlib is still called once per
node, but without a Python function call around it (measured: a root ~15% faster).
"""

from __future__ import annotations

import hashlib
from itertools import repeat
from operator import add

EMPTY = hashlib.sha256(b"").digest()
_sha256, _digest = hashlib.sha256, type(hashlib.sha256()).digest  # the unbound method, for map()


def _hash_all(*parts) -> list[bytes]:
    """SHA-256 of each concatenation of ``parts`` (iterables of bytes, zipped)."""
    msgs = parts[0]
    for p in parts[1:]:
        msgs = map(add, msgs, p)
    return list(map(_digest, map(_sha256, msgs)))


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def leaf_hashes(entries) -> list[bytes]:
    """``leaf_hash`` of every entry."""
    return _hash_all(repeat(b"\x00"), entries)


def _parents(level: list[bytes]) -> list[bytes]:
    """The next level up: pairs hashed together, an odd last node carried up unchanged."""
    up = _hash_all(repeat(b"\x01"), level[0::2], level[1::2])  # zip stops at the shorter slice
    if len(level) % 2:
        up.append(level[-1])
    return up


def root(leaves: list[bytes]) -> bytes:
    """Tree head over already-hashed leaves, bottom-up (O(n), no recursion)."""
    if not leaves:
        return EMPTY
    level = list(leaves)
    while len(level) > 1:
        level = _parents(level)
    return level[0]


def levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, as ``root`` builds them (the last holds the root)."""
    out = [list(leaves)]
    while len(out[-1]) > 1:
        out.append(_parents(out[-1]))
    return out


def prefix_root(tree: list[list[bytes]], k: int) -> bytes:
    """Tree head over the first ``k`` leaves of ``tree`` (from ``levels``) in O(log n)."""
    return range_root(tree, 0, k)


def range_root(tree: list[list[bytes]], lo: int, hi: int) -> bytes:
    """Tree head over leaves lo..hi-1 of ``tree`` (from ``levels``) in O(log n), for ``lo``
    aligned to a power of two >= hi - lo, as every RFC 6962 subtree is: the binary digits of
    the size pick the perfect subtrees it splits into, largest first (RFC 6962 §2.1 splits at
    the largest power of two), folded from the right with node_hash."""
    if hi <= lo:
        return EMPTY
    parts, pos = [], lo
    for j in range(len(tree) - 1, -1, -1):
        if (hi - lo) >> j & 1:
            parts.append(tree[j][pos >> j])
            pos += 1 << j
    r = parts.pop()
    while parts:
        r = node_hash(parts.pop(), r)
    return r


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    if not 0 <= index < len(leaves):
        raise ValueError("index out of range")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(leaves[:k], index) + [root(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 verification."""
    if len(leaf) != 32 or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def consistency_proof(leaves: list[bytes], old_size: int) -> list[bytes]:
    return consistency_proof_by(old_size, len(leaves), lambda lo, hi: root(leaves[lo:hi]))


def consistency_proof_by(old_size: int, new_size: int, subroot) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF, with the tree read through ``subroot(lo, hi)`` (the head over
    leaves lo..hi-1), so a caller holding only some subtrees (chunk roots, a few chunks' levels)
    can build a proof without every leaf in memory."""
    if not 0 < old_size <= new_size:
        raise ValueError("a consistency proof needs 0 < old size <= new size")
    out: list[bytes] = []

    def sub(lo: int, hi: int, m: int, complete: bool) -> None:
        if m == hi - lo:
            if not complete:
                out.append(subroot(lo, hi))
            return
        k = _split(hi - lo)
        if m <= k:
            sub(lo, lo + k, m, complete)
            out.append(subroot(lo + k, hi))
        else:
            sub(lo + k, hi, m - k, False)
            out.append(subroot(lo, lo + k))

    sub(0, new_size, old_size, True)
    return out


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 verification; a proof from size 0 is rejected."""
    if old_size <= 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
