"""The perfect subtrees of each source's Merkle tree, stored as leaves are appended, so that an
inclusion proof under a checkpoint of any size costs O(log n) lookups instead of a pass over
every leaf.

Node ``(level j, index i)`` of source ``S`` is ``MTH(D[i*2^j:(i+1)*2^j])`` (RFC 6962, as in
``services/audit/merkle.py``); level 0 holds the leaf hashes ``SHA-256(0x00 || chain hash)``.
Appending leaf ``i`` stores it and every perfect subtree it completes (at most log2 N nodes, one
on average). Any RFC 6962 node over ``D[start:end]`` is either a perfect aligned block or is
composed, by the definition, of perfect blocks on its right edge, so a proof reads only the
O(log n) stored nodes it names. Reads are planned first (which nodes a set of proofs needs) and
fetched with one indexed query per level of the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.audit.merkle import EMPTY_ROOT, node_hash
from shared.db import Tx

NODES_DDL = """
CREATE TABLE IF NOT EXISTS audit_merkle_nodes (
    source TEXT NOT NULL,
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (source, level, idx)
)
"""

Node = tuple[int, int]  # (level, index at that level)
Fetch = Callable[[Node], bytes]


def append_leaf(tx: Tx, source: str, index: int, leaf: bytes) -> None:
    """Store leaf ``index`` (its leaf hash) and every perfect subtree it completes."""
    level, at, h = 0, index, leaf
    _put(tx, source, level, at, h)
    while at & 1:  # a right child: its left sibling is stored, so the parent is complete
        row = tx.one("SELECT hash FROM audit_merkle_nodes WHERE source = ? AND level = ? AND idx = ?",
                     (source, level, at - 1))
        if row is None:
            raise LookupError(f"{source}: node ({level}, {at - 1}) missing below leaf {index}")
        h = node_hash(bytes.fromhex(str(row["hash"])), h)
        level, at = level + 1, at >> 1
        _put(tx, source, level, at, h)


def _put(tx: Tx, source: str, level: int, at: int, h: bytes) -> None:
    tx.execute("INSERT INTO audit_merkle_nodes (source, level, idx, hash) VALUES (?, ?, ?, ?) "
               "ON CONFLICT DO NOTHING", (source, level, at, h.hex()))


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree(fetch: Fetch, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` from perfect aligned blocks (as ``MerkleTree.subtree``)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    first = 1 << (n.bit_length() - 1)
    if start % first:
        k = _split(n)
        return node_hash(subtree(fetch, start, start + k), subtree(fetch, start + k, end))
    blocks: list[bytes] = []
    at = start
    for j in range(first.bit_length() - 1, -1, -1):
        if n >> j & 1:
            blocks.append(fetch((j, at >> j)))
            at += 1 << j
    acc = blocks.pop()
    while blocks:
        acc = node_hash(blocks.pop(), acc)
    return acc


def path(fetch: Fetch, index: int, size: int) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[0:size])`` (as ``MerkleTree.inclusion_proof``)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside tree of size {size}")
    out: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            out.append(subtree(fetch, start + k, end))
            end = start + k
        else:
            out.append(subtree(fetch, start, start + k))
            start += k
    out.reverse()
    return out


def nodes_needed(index: int, size: int) -> set[Node]:
    """The stored nodes ``path(index, size)`` reads (the leaf itself included)."""
    needed: set[Node] = {(0, index)}

    def record(node: Node) -> bytes:
        needed.add(node)
        return EMPTY_ROOT  # the shape of the computation does not depend on the hashes

    path(record, index, size)
    return needed


def fetch_nodes(tx: Tx, source: str, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``nodes``, one primary-key range read per level (so the index is used
    whatever the tree's size); missing ones are simply absent."""
    by_level: dict[int, list[int]] = {}
    for level, at in set(nodes):
        by_level.setdefault(level, []).append(at)
    found: dict[Node, bytes] = {}
    for level, indexes in sorted(by_level.items()):
        indexes.sort()
        for chunk in range(0, len(indexes), 500):
            part = indexes[chunk:chunk + 500]
            marks = ", ".join("?" for _ in part)
            for row in tx.all(f"SELECT idx, hash FROM audit_merkle_nodes WHERE source = ? AND level = ? "
                              f"AND idx IN ({marks})", (source, level, *part)):
                found[(level, int(row["idx"]))] = bytes.fromhex(str(row["hash"]))
    return found
