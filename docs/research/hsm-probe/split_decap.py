# RFC 9180 base-mode receiver from an externally computed DH output Z (the HSM's),
# DHKEM(P-256|X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. Checks the CFRG vectors.
import json, hmac, hashlib, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
def extract(salt, ikm): return hmac.new(salt or b"\0"*32, ikm, hashlib.sha256).digest()
def expand(prk, info, L):
    out, t, i = b"", b"", 1
    while len(out) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:L]
def lextract(suite, salt, label, ikm): return extract(salt, b"HPKE-v1" + suite + label + ikm)
def lexpand(suite, prk, label, info, L): return expand(prk, L.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, L)
for kem in (16, 32):
    t = json.load(open(f"vec{kem}.json")); z = bytes.fromhex(open(f"z{kem}.txt").read().strip())
    enc, pkR, info = bytes.fromhex(t["enc"]), bytes.fromhex(t["pkRm"]), bytes.fromhex(t["info"])
    ksuite = b"KEM" + kem.to_bytes(2, "big")
    ss = lexpand(ksuite, lextract(ksuite, b"", b"eae_prk", z), b"shared_secret", enc + pkR, 32)
    hsuite = b"HPKE" + kem.to_bytes(2, "big") + (1).to_bytes(2, "big") + (2).to_bytes(2, "big")
    ctx = b"\x00" + lextract(hsuite, b"", b"psk_id_hash", b"") + lextract(hsuite, b"", b"info_hash", info)
    secret = lextract(hsuite, ss, b"secret", b"")
    key, nonce = lexpand(hsuite, secret, b"key", ctx, 32), lexpand(hsuite, secret, b"base_nonce", ctx, 12)
    e = t["encryptions"][0]
    pt = AESGCM(key).decrypt(nonce, bytes.fromhex(e["ct"]), bytes.fromhex(e["aad"]))
    print(f"kem 0x{kem:04x}: shared_secret {'OK' if ss.hex()==t['shared_secret'] else 'MISMATCH'}, key {'OK' if key.hex()==t['key'] else 'MISMATCH'}, base_nonce {'OK' if nonce.hex()==t['base_nonce'] else 'MISMATCH'}, seq-0 ciphertext opens to the vector's plaintext: {pt.hex()==e['pt']}")
