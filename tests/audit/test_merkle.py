"""RFC 6962 / 9162 Merkle hashing, inclusion and consistency proofs against the published
certificate-transparency test vectors and an independent straightforward implementation."""

from __future__ import annotations

import hashlib

import pytest

from services.audit.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                       "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def naive_root(leaves: list[bytes]) -> bytes:
    """Independent recursive MTH straight from RFC 6962 section 2.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def test_empty_tree_root() -> None:
    assert root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT == MerkleAccumulator().root()


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    assert root(LEAVES[:size]).hex() == ROOTS[size - 1]
    assert naive_root(LEAVES[:size]).hex() == ROOTS[size - 1]
    acc = MerkleAccumulator()
    for leaf in LEAVES[:size]:
        acc.add(leaf)
    assert acc.root().hex() == ROOTS[size - 1]


def test_reference_inclusion_path() -> None:
    # RFC 6962 reference: the audit path of leaf 0 in the tree of 8 leaves.
    assert [h.hex() for h in inclusion_proof(LEAVES, 0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_every_inclusion_proof_verifies_and_tampering_fails() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(37)]
    for size in range(1, len(leaves) + 1):
        r = root(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(leaves[:size], index)
            assert verify_inclusion(leaf_hash(leaves[index]), index, size, proof, r)
            assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, r)
            if size > 1:
                assert not verify_inclusion(leaf_hash(leaves[index]), (index + 1) % size, size, proof, r)
            if proof:
                bad = [*proof[:-1], hashlib.sha256(proof[-1]).digest()]
                assert not verify_inclusion(leaf_hash(leaves[index]), index, size, bad, r)


def test_every_consistency_proof_verifies_and_forks_fail() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(33)]
    for n in range(1, len(leaves) + 1):
        new_root = root(leaves[:n])
        for m in range(1, n + 1):
            proof = consistency_proof(leaves[:n], m)
            assert verify_consistency(m, n, root(leaves[:m]), new_root, proof), (m, n)
            if m < n:
                forked = root([b"x", *leaves[1:m]])
                assert not verify_consistency(m, n, forked, new_root, proof)


def test_reference_consistency_proofs() -> None:
    # Reference proofs from the certificate-transparency test data, over the 8 leaves above.
    assert [h.hex() for h in consistency_proof(LEAVES, 1)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [h.hex() for h in consistency_proof(LEAVES, 6)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert [h.hex() for h in consistency_proof(LEAVES, 2)] == [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
