"""Merkle trees as in RFC 6962 / RFC 9162 (Certificate Transparency).

``MTH({}) = SHA-256()``, ``MTH({d}) = SHA-256(0x00 || d)``, and for ``n > 1`` with ``k`` the largest
power of two smaller than ``n``: ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``.
Inclusion proofs (audit paths) and consistency proofs are generated and verified per RFC 9162
sections 2.1.3 and 2.1.4. Leaves are raw bytes; callers define what a leaf is (the audit service
uses the 32 raw bytes of an event's chain hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hashes(items: Iterable[bytes]) -> list[bytes]:
    """``leaf_hash`` of every item, in one comprehension (no Python call per leaf)."""
    sha256 = hashlib.sha256
    return [sha256(b"\x00" + d).digest() for d in items]


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """Every perfect, aligned subtree hash over a fixed list of leaf hashes, built level by level.

    Level ``j`` holds ``MTH(D[i*2^j:(i+1)*2^j])`` for each complete block. Any RFC 6962 node is a
    perfect aligned block or splits into one plus a smaller node on the right edge, so the root of
    any prefix (a checkpoint) and any proof cost O(log n) extra hashes instead of re-hashing the
    tree, and the levels are built with ``n - 1`` hashes in comprehensions (no per-node call).
    """

    def __init__(self, hashes: Sequence[bytes]) -> None:
        sha256 = hashlib.sha256
        level = list(hashes)
        self.size = len(level)
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            pairs = iter(level)  # zip(pairs, pairs) yields (0, 1), (2, 3), ...; an odd last one has no parent yet
            level = [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
            self.levels.append(level)

    def subtree(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])``."""
        if not 0 <= start <= end <= self.size:
            raise ValueError(f"range {start}:{end} outside tree of size {self.size}")
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        first = 1 << (n.bit_length() - 1)  # the largest power of two <= n
        if start % first:  # not aligned like an RFC 6962 node: split by the definition
            k = _split(n)
            return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
        # Aligned: MTH splits off the largest perfect block each time, so the node is the right
        # fold of the perfect blocks of n's binary decomposition, all already in ``levels``.
        blocks: list[bytes] = []
        at = start
        for j in range(first.bit_length() - 1, -1, -1):
            if n >> j & 1:
                blocks.append(self.levels[j][at >> j])
                at += 1 << j
        sha256 = hashlib.sha256
        acc = blocks.pop()
        while blocks:
            acc = sha256(b"\x01" + blocks.pop() + acc).digest()
        return acc

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (all of them by default)."""
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 ``PATH(index, D[0:size])``."""
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise ValueError(f"leaf index {index} outside tree of size {n}")
        path: list[bytes] = []
        start, end = 0, n
        while end - start > 1:  # descend towards the leaf; siblings come out leaf-first when reversed
            k = _split(end - start)
            if index < start + k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 ``PROOF(old_size, D[0:new_size])``: the old tree is a prefix of the new one."""
        n = self.size if new_size is None else new_size
        if not 0 <= old_size <= n <= self.size:
            raise ValueError(f"old size {old_size} outside tree of size {n}")
        if old_size in (0, n):
            return []
        path: list[bytes] = []
        start, end, m, complete = 0, n, old_size, True
        while m != end - start:  # SUBPROOF(m, D[start:end], complete), unrolled
            k = _split(end - start)
            if m <= k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            path.append(self.subtree(start, end))
        path.reverse()
        return path


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a list of leaf data."""
    return MerkleTree(leaf_hashes(leaves)).root()


class MerkleAccumulator:
    """Streaming root over leaf hashes in O(log n) memory: a stack of perfect subtrees.

    Merging equal-sized subtrees left to right and folding the stack right to left gives exactly
    the largest-power-of-two split of RFC 6962.
    """

    def __init__(self, frontier: Iterable[tuple[int, bytes]] = ()) -> None:
        self.frontier: list[tuple[int, bytes]] = list(frontier)
        self.size = sum(s for s, _ in self.frontier)

    def add_leaf_hash(self, h: bytes) -> None:
        sha256 = hashlib.sha256  # a local: this runs once per event
        size = 1
        stack = self.frontier
        while stack and stack[-1][0] == size:
            h = sha256(b"\x01" + stack.pop()[1] + h).digest()
            size *= 2
        stack.append((size, h))
        self.size += 1

    def add(self, data: bytes) -> None:
        self.add_leaf_hash(leaf_hash(data))

    def root(self) -> bytes:
        if not self.frontier:
            return EMPTY_ROOT
        acc = self.frontier[-1][1]
        for _, h in reversed(self.frontier[:-1]):
            acc = node_hash(h, acc)
        return acc


def inclusion_proof_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path for leaf ``index`` in a tree of the given leaf hashes (RFC 6962 PATH)."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside tree of size {n}")
    return MerkleTree(hashes).inclusion_proof(index)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path for leaf ``index`` of the given leaf data."""
    return inclusion_proof_hashes(leaf_hashes(leaves), index)


def verify_inclusion(leaf_data_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes],
                     root_hash: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` put the leaf hash at ``index`` under ``root_hash``?"""
    if index >= tree_size or index < 0:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_data_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def consistency_proof_hashes(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """RFC 6962 PROOF(m, D[n]) over leaf hashes: the old tree is a prefix of the new one."""
    if not 0 <= old_size <= len(hashes):
        raise ValueError(f"old size {old_size} outside tree of size {len(hashes)}")
    if old_size in (0, len(hashes)):
        return []
    return MerkleTree(hashes).consistency_proof(old_size)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof from the first ``old_size`` leaves to all of them."""
    return consistency_proof_hashes(leaf_hashes(leaves), old_size)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: is the tree of ``old_root`` a prefix of the tree of ``new_root``?"""
    if old_size > new_size or old_size < 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
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
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
