#!/usr/bin/env python3
"""Checks the share and certificate vectors with an independent Ed25519
(Python's `cryptography`): rebuilds the signed message from its parts,
signs it with seeds 1-3 and compares with the committed bytes.

Usage: python3 Tests/DSMRTests/Vectors/cross-check-share.py
"""
import hashlib
import os
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

here = os.path.dirname(os.path.abspath(__file__))


def entries(name):
    with open(os.path.join(here, name)) as f:
        return dict(line.rstrip("\n").split(": ", 1) for line in f if not line.startswith("#"))


def key(n):
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def public(n):
    return key(n).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def node_id(n):
    return hashlib.sha256(public(n)).digest()[:20]


reference = bytes.fromhex(entries("chunk-reference.txt")["encoded"])  # 01 || 68-byte body
assert len(reference) == 69
slot = struct.unpack(">Q", reference[53:61])[0]
epoch = (slot * 1_000) // 6_000  # slotStart / epochDuration under the vectors' rules
assert epoch == 7

tag = b"dsmr/chunk-share/v2"
chain = bytes(range(32))
message = bytes([len(tag)]) + tag + struct.pack(">I", 1337) + chain + reference + struct.pack(">Q", epoch)

share = entries("signature-share.txt")
assert share["signedMessage"] == message.hex(), "share message differs"
signature = key(3).sign(message)
assert share["signature"] == signature.hex(), "share signature differs"
encoded = b"\x01" + node_id(3) + reference[1:] + struct.pack(">Q", epoch) + struct.pack(">I", 64) + signature
assert share["encoded"] == encoded.hex(), "share encoding differs"

certificate = entries("chunk-certificate.txt")
order = sorted([1, 2, 3, 4], key=node_id)  # signer bits index validators sorted by node id
signers = [n for n in order if n in (1, 2, 3)]
bits = sum(1 << order.index(n) for n in signers)
assert certificate["signers"] == bytes([bits]).hex()
body = reference[1:] + struct.pack(">Q", epoch) + struct.pack(">I", 1) + bytes([bits])
for n in signers:
    body += struct.pack(">I", 64) + key(n).sign(message)
assert certificate["encoded"] == (b"\x01" + body).hex(), "certificate encoding differs"
for n in signers:
    key(n).public_key().verify(key(n).sign(message), message)
print("share and certificate vectors agree with cryptography", __import__("cryptography").__version__)
