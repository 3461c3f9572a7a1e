#!/usr/bin/env python3
"""Independent verifier of Veilgate's SM-suite envelope known-answer vector.

Written from docs/envelope.md, docs/suite-sm.md, docs/policy-plan.md and
docs/keys.md alone, without reading Veilgate's Rust source, using only the
Python 3 standard library. It implements SM3 (GB/T 32905), SM4 (GB/T 32907),
SM4-GCM (NIST SP 800-38D with SM4), SM2 signature verification and point
multiplication (GB/T 32918, recommended curve), HMAC-SM3, and - to check the
Pedersen commitment of the `amount` field - ristretto255 (RFC 9496), each
self-tested against published known answers; then it parses and checks
gateway/core/tests/vectors/envelope-sm.json, and finally checks that tampered
copies of the envelope fail.

Usage: python3 docs/formats/vectors/independent_sm.py [path-to-envelope-sm.json]
Exit 0 and "independent_sm: N checks passed" when everything passes; every
failure is printed and the exit status is 1 otherwise.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

# ---------------------------------------------------------------------------
# SM3 (GB/T 32905-2016)

_SM3_IV = [0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600,
           0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E]
_M32 = 0xFFFFFFFF


def _rotl(x, n):
    n &= 31
    return ((x << n) | (x >> (32 - n))) & _M32


def _sm3_compress(v, block):
    w = [int.from_bytes(block[4 * i:4 * i + 4], "big") for i in range(16)]
    for j in range(16, 68):
        x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
        x = x ^ _rotl(x, 15) ^ _rotl(x, 23)  # P1
        w.append(x ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    w1 = [w[j] ^ w[j + 4] for j in range(64)]
    a, b, c, d, e, f, g, h = v
    for j in range(64):
        t = 0x79CC4519 if j < 16 else 0x7A879D8A
        a12 = _rotl(a, 12)
        ss1 = _rotl((a12 + e + _rotl(t, j)) & _M32, 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff = a ^ b ^ c
            gg = e ^ f ^ g
        else:
            ff = (a & b) | (a & c) | (b & c)
            gg = (e & f) | ((~e) & g)
        tt1 = (ff + d + ss2 + w1[j]) & _M32
        tt2 = (gg + h + ss1 + w[j]) & _M32
        d, c, b, a = c, _rotl(b, 9), a, tt1
        h, g, f = g, _rotl(f, 19), e
        e = tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17)  # P0
    return [x ^ y for x, y in zip(v, [a, b, c, d, e, f, g, h])]


def sm3(*parts):
    msg = b"".join(parts)
    bitlen = len(msg) * 8
    msg += b"\x80" + b"\x00" * ((55 - len(msg)) % 64) + bitlen.to_bytes(8, "big")
    v = list(_SM3_IV)
    for i in range(0, len(msg), 64):
        v = _sm3_compress(v, msg[i:i + 64])
    return b"".join(x.to_bytes(4, "big") for x in v)


class _SM3Hash:
    """Minimal hashlib-like object so that hmac.new can use SM3 (RFC 2104, 64-byte block)."""
    digest_size = 32
    block_size = 64
    name = "sm3"

    def __init__(self, data=b""):
        self._buf = bytes(data)

    def update(self, data):
        self._buf += bytes(data)

    def copy(self):
        return _SM3Hash(self._buf)

    def digest(self):
        return sm3(self._buf)


def hmac_sm3(key, msg):
    return hmac.new(key, msg, _SM3Hash).digest()


def sm3_kdf(z, klen):
    """GB/T 32918.4 section 5.4.3: SM3(z || ct) for ct = 1, 2, ... cut to klen bytes."""
    out = b""
    ct = 1
    while len(out) < klen:
        out += sm3(z, ct.to_bytes(4, "big"))
        ct += 1
    return out[:klen]


# ---------------------------------------------------------------------------
# SM4 (GB/T 32907-2016)

_SBOX = bytes.fromhex(
    "d690e9fecce13db716b614c228fb2c05" "2b679a762abe04c3aa44132649860699"
    "9c4250f491ef987a33540b43edcfac62" "e4b31ca9c908e89580df94fa758f3fa6"
    "4707a7fcf37317ba83593c19e6854fa8" "686b81b27164da8bf8eb0f4b70569d35"
    "1e240e5e6358d1a225227c3b01217887" "d40046579fd327524c3602e7a0c4c89e"
    "eabf8ad240c738b5a3f7f2cef96115a1" "e0ae5da49b341a55ad933230f58cb1e3"
    "1df6e22e8266ca60c02923ab0d534e6f" "d5db3745defd8e2f03ff6a726d6c5b51"
    "8d1baf92bbddbc7f11d95c411f105ad8" "0ac13188a5cd7bbd2d74d012b8e5b4b0"
    "8969974a0c96777e65b9f109c56ec684" "18f07dec3adc4d2079ee5f3ed7cb3948")
_FK = [0xA3B1BAC6, 0x56AA3350, 0x677D9197, 0xB27022DC]
_CK = [int.from_bytes(bytes(((4 * i + j) * 7) & 0xFF for j in range(4)), "big") for i in range(32)]


def _tau(x):
    return int.from_bytes(bytes(_SBOX[b] for b in x.to_bytes(4, "big")), "big")


def sm4_round_keys(key):
    k = [int.from_bytes(key[4 * i:4 * i + 4], "big") ^ _FK[i] for i in range(4)]
    rk = []
    for i in range(32):
        b = _tau(k[i + 1] ^ k[i + 2] ^ k[i + 3] ^ _CK[i])
        k.append(k[i] ^ b ^ _rotl(b, 13) ^ _rotl(b, 23))
        rk.append(k[i + 4])
    return rk


def sm4_encrypt_block(rk, block):
    x = [int.from_bytes(block[4 * i:4 * i + 4], "big") for i in range(4)]
    for i in range(32):
        b = _tau(x[i + 1] ^ x[i + 2] ^ x[i + 3] ^ rk[i])
        x.append(x[i] ^ b ^ _rotl(b, 2) ^ _rotl(b, 10) ^ _rotl(b, 18) ^ _rotl(b, 24))
    return b"".join(v.to_bytes(4, "big") for v in reversed(x[32:36]))


# ---------------------------------------------------------------------------
# SM4-GCM (NIST SP 800-38D with SM4; 12-byte IV, 16-byte tag; RFC 8998 AEAD_SM4_GCM)

_GCM_R = 0xE1 << 120


def _gf_mult(x, y):
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _GCM_R if v & 1 else v >> 1
    return z


def _ghash(h, aad, ct):
    def blocks(data):
        data = data + b"\x00" * (-len(data) % 16)
        return [int.from_bytes(data[i:i + 16], "big") for i in range(0, len(data), 16)]
    y = 0
    for b in blocks(aad) + blocks(ct) + [((len(aad) * 8) << 64) | (len(ct) * 8)]:
        y = _gf_mult(y ^ b, h)
    return y


def _gcm_ctr(rk, j0, data):
    out = bytearray()
    ctr = int.from_bytes(j0, "big")
    for i in range(0, len(data), 16):
        ctr = (ctr & ~_M32) | (((ctr & _M32) + 1) & _M32)  # inc32
        ks = sm4_encrypt_block(rk, ctr.to_bytes(16, "big"))
        out += bytes(a ^ b for a, b in zip(data[i:i + 16], ks))
    return bytes(out)


def sm4_gcm_encrypt(key, iv, aad, pt):
    assert len(key) == 16 and len(iv) == 12
    rk = sm4_round_keys(key)
    h = int.from_bytes(sm4_encrypt_block(rk, bytes(16)), "big")
    j0 = iv + b"\x00\x00\x00\x01"
    ct = _gcm_ctr(rk, j0, pt)
    s = _ghash(h, aad, ct)
    tag = (int.from_bytes(sm4_encrypt_block(rk, j0), "big") ^ s).to_bytes(16, "big")
    return ct + tag


def sm4_gcm_decrypt(key, iv, aad, ct_tag):
    """Returns the plaintext, or None when the tag does not verify."""
    if len(key) != 16 or len(iv) != 12 or len(ct_tag) < 16:
        return None
    rk = sm4_round_keys(key)
    ct, tag = ct_tag[:-16], ct_tag[-16:]
    h = int.from_bytes(sm4_encrypt_block(rk, bytes(16)), "big")
    j0 = iv + b"\x00\x00\x00\x01"
    s = _ghash(h, aad, ct)
    expect = (int.from_bytes(sm4_encrypt_block(rk, j0), "big") ^ s).to_bytes(16, "big")
    if not hmac.compare_digest(expect, tag):
        return None
    return _gcm_ctr(rk, j0, ct)


# ---------------------------------------------------------------------------
# SM2 (GB/T 32918, recommended 256-bit curve of GB/T 32918.5)

SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
         0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
DEFAULT_DISTID = b"1234567812345678"


def sm2_on_curve(pt):
    if pt is None:
        return False
    x, y = pt
    return 0 <= x < SM2_P and 0 <= y < SM2_P and (y * y - x * x * x - SM2_A * x - SM2_B) % SM2_P == 0


def _jac_double(pt):
    x, y, z = pt
    if y == 0 or z == 0:
        return (0, 1, 0)
    p = SM2_P
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + SM2_A * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y * z % p
    return (x3, y3, z3)


def _jac_add(p1, p2):
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    p = SM2_P
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    if u1 == u2:
        return _jac_double(p1) if s1 == s2 else (0, 1, 0)
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    z3 = h * z1 * z2 % p
    return (x3, y3, z3)


def _to_affine(pt):
    x, y, z = pt
    if z == 0:
        return None
    zi = pow(z, -1, SM2_P)
    zi2 = zi * zi % SM2_P
    return (x * zi2 % SM2_P, y * zi2 * zi % SM2_P)


def sm2_mul(k, pt):
    """k * pt on the SM2 curve (affine in, affine out; None is the identity)."""
    acc = (0, 1, 0)
    base = (pt[0], pt[1], 1)
    for bit in bin(k)[2:]:
        acc = _jac_double(acc)
        if bit == "1":
            acc = _jac_add(acc, base)
    return _to_affine(acc)


def sm2_add(p1, p2):
    j1 = (0, 1, 0) if p1 is None else (p1[0], p1[1], 1)
    j2 = (0, 1, 0) if p2 is None else (p2[0], p2[1], 1)
    return _to_affine(_jac_add(j1, j2))


def sec1_decode(b):
    """65-byte SEC1 uncompressed point 04||x||y on the curve; None otherwise."""
    if len(b) != 65 or b[0] != 4:
        return None
    pt = (int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big"))
    return pt if sm2_on_curve(pt) else None


def sec1_encode(pt):
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def sm2_za(distid, pub):
    entl = (len(distid) * 8).to_bytes(2, "big")
    return sm3(entl, distid, *(v.to_bytes(32, "big") for v in
                               (SM2_A, SM2_B, SM2_G[0], SM2_G[1], pub[0], pub[1])))


def sm2_verify(pub, distid, msg, sig):
    if pub is None or len(sig) != 64:
        return False
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    e = int.from_bytes(sm3(sm2_za(distid, pub), msg), "big")
    t = (r + s) % SM2_N
    if t == 0:
        return False
    pt = sm2_add(sm2_mul(s, SM2_G), sm2_mul(t, pub))
    if pt is None:
        return False
    return (e + pt[0]) % SM2_N == r


def rfc6979_k(x, h1):
    """RFC 6979 section 3.2 nonce with HMAC-SM3 (qlen = hlen = 256); h1 = e = SM3(Z_A || M)."""
    xb = x.to_bytes(32, "big")
    hb = (int.from_bytes(h1, "big") % SM2_N).to_bytes(32, "big")
    v, k = b"\x01" * 32, b"\x00" * 32
    k = hmac_sm3(k, v + b"\x00" + xb + hb)
    v = hmac_sm3(k, v)
    k = hmac_sm3(k, v + b"\x01" + xb + hb)
    v = hmac_sm3(k, v)
    while True:
        v = hmac_sm3(k, v)
        t = int.from_bytes(v, "big")
        if 1 <= t < SM2_N:
            return t
        k = hmac_sm3(k, v + b"\x00")
        v = hmac_sm3(k, v)


def sm2_sign_deterministic(d, distid, msg):
    """GB/T 32918.2 signature with the RFC 6979 nonce above (what suite-sm.md says the sm2 crate does)."""
    pub = sm2_mul(d, SM2_G)
    e = sm3(sm2_za(distid, pub), msg)
    k = rfc6979_k(d, e)
    r = (int.from_bytes(e, "big") + sm2_mul(k, SM2_G)[0]) % SM2_N
    s = pow(1 + d, -1, SM2_N) * (k - r * d) % SM2_N
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# ---------------------------------------------------------------------------
# ristretto255 (RFC 9496), only what the Pedersen check of docs/envelope.md needs

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = (-121665 * pow(121666, -1, ED_P)) % ED_P
SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _neg(x):
    return x & 1 == 1


def _abs(x):
    return (-x) % ED_P if _neg(x) else x


def _sqrt_ratio_m1(u, v):
    p = ED_P
    r = (u * pow(v, 3, p)) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    check = v * r * r % p
    correct = check == u % p
    flipped = check == (-u) % p
    flipped_i = check == (-u * SQRT_M1) % p
    if flipped or flipped_i:
        r = r * SQRT_M1 % p
    return correct or flipped, _abs(r)


INVSQRT_A_MINUS_D = _sqrt_ratio_m1(1, (-1 - ED_D) % ED_P)[1]
# RFC 9496 section 4.1 constant: the root of a*d - 1 (a = -1) the RFC names, which is the
# "negative" (odd) one, so it cannot be computed with _abs; its square is checked in self_tests.
SQRT_AD_MINUS_ONE = 25063068953384623474111414158702152701244531502492656460079210482610430750235


def _ed_add(p1, p2):
    p = ED_P
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % p
    b = (y1 + x1) * (y2 + x2) % p
    c = t1 * 2 * ED_D * t2 % p
    d = z1 * 2 * z2 % p
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % p, g * h % p, f * g % p, e * h % p)


def _ed_mul(k, pt):
    acc = (0, 1, 1, 0)
    for bit in bin(k)[2:]:
        acc = _ed_add(acc, acc)
        if bit == "1":
            acc = _ed_add(acc, pt)
    return acc


def ristretto_decode(b):
    p = ED_P
    if len(b) != 32:
        return None
    s = int.from_bytes(b, "little")
    if s >= p or _neg(s):
        return None
    ss = s * s % p
    u1 = (1 - ss) % p
    u2 = (1 + ss) % p
    u2sq = u2 * u2 % p
    v = (-(ED_D * u1 * u1) - u2sq) % p
    ok, invsqrt = _sqrt_ratio_m1(1, v * u2sq % p)
    den_x = invsqrt * u2 % p
    den_y = invsqrt * den_x * v % p
    x = _abs(2 * s * den_x % p)
    y = u1 * den_y % p
    t = x * y % p
    if not ok or _neg(t) or y == 0:
        return None
    return (x, y, 1, t)


def ristretto_encode(pt):
    p = ED_P
    x0, y0, z0, t0 = pt
    u1 = (z0 + y0) * (z0 - y0) % p
    u2 = x0 * y0 % p
    _, invsqrt = _sqrt_ratio_m1(1, u1 * u2 * u2 % p)
    den1 = invsqrt * u1 % p
    den2 = invsqrt * u2 % p
    z_inv = den1 * den2 * t0 % p
    if _neg(t0 * z_inv % p):
        x, y = y0 * SQRT_M1 % p, x0 * SQRT_M1 % p
        den_inv = den1 * INVSQRT_A_MINUS_D % p
    else:
        x, y = x0, y0
        den_inv = den2
    if _neg(x * z_inv % p):
        y = (-y) % p
    s = _abs(den_inv * (z0 - y) % p)
    return s.to_bytes(32, "little")


def _ristretto_map(t):
    """RFC 9496 section 4.3.4 MAP."""
    p, d = ED_P, ED_D
    one_minus_d_sq = (1 - d * d) % p
    d_minus_one_sq = (d - 1) * (d - 1) % p
    sqrt_ad_minus_one = SQRT_AD_MINUS_ONE
    r = SQRT_M1 * t * t % p
    u = (r + 1) * one_minus_d_sq % p
    v = (-1 - r * d) * (r + d) % p
    was_square, s = _sqrt_ratio_m1(u, v)
    s_prime = (-_abs(s * t % p)) % p
    s = s if was_square else s_prime
    c = p - 1 if was_square else r
    n = (c * (r - 1) * d_minus_one_sq - v) % p
    w0 = 2 * s * v % p
    w1 = n * sqrt_ad_minus_one % p
    w2 = (1 - s * s) % p
    w3 = (1 + s * s) % p
    return (w0 * w3 % p, w2 * w1 % p, w1 * w3 % p, w0 * w2 % p)


def ristretto_from_uniform_bytes(b64):
    t1 = int.from_bytes(b64[:32], "little") & ((1 << 255) - 1)
    t2 = int.from_bytes(b64[32:], "little") & ((1 << 255) - 1)
    return _ed_add(_ristretto_map(t1 % ED_P), _ristretto_map(t2 % ED_P))


PEDERSEN_B_BYTES = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
PEDERSEN_BT_BYTES = bytes.fromhex("8c9240b456a9e6dc65c377a1048d745f94a08cdb7f44cbcd7b46f34048871134")


def pedersen_commit(v, r):
    b = ristretto_decode(PEDERSEN_B_BYTES)
    bt = ristretto_decode(PEDERSEN_BT_BYTES)
    return ristretto_encode(_ed_add(_ed_mul(v % ED_L, b), _ed_mul(r, bt)))


# ---------------------------------------------------------------------------
# Checker

class Checker:
    def __init__(self, quiet=False):
        self.passed = 0
        self.failed = []
        self.quiet = quiet

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed.append(name)
            if not self.quiet:
                print("FAIL: %s%s" % (name, (" (" + detail + ")") if detail else ""))
        return bool(cond)

    def failed_any(self, prefix):
        return any(f.startswith(prefix) for f in self.failed)


def self_tests(ck):
    ck.check("sm3 abc", sm3(b"abc").hex() ==
             "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    ck.check("sm3 abcd*16", sm3(b"abcd" * 16).hex() ==
             "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
    k = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ck.check("sm4 block", sm4_encrypt_block(sm4_round_keys(k), k).hex() ==
             "681edf34d206965e86b3e94f536e4246")
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    iv = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    pt = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                       "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    ct = bytes.fromhex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
                       "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    tag = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
    ck.check("sm4-gcm rfc8998 encrypt", sm4_gcm_encrypt(key, iv, aad, pt) == ct + tag)
    ck.check("sm4-gcm rfc8998 decrypt", sm4_gcm_decrypt(key, iv, aad, ct + tag) == pt)
    bad = bytearray(ct + tag)
    bad[0] ^= 1
    ck.check("sm4-gcm rfc8998 tamper refused", sm4_gcm_decrypt(key, iv, aad, bytes(bad)) is None)
    ck.check("hmac-sm3 equals RFC 2104 by hand",
             hmac_sm3(b"k" * 70, b"msg") == sm3(
                 bytes(a ^ 0x5C for a in sm3(b"k" * 70) + bytes(32)),
                 sm3(bytes(a ^ 0x36 for a in sm3(b"k" * 70) + bytes(32)), b"msg")))
    # GM/T 0003.5 Annex A example on the recommended curve
    ck.check("sm2 G on curve", sm2_on_curve(SM2_G))
    ck.check("sm2 n*G = O", sm2_mul(SM2_N, SM2_G) is None)
    d = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
    pub = (0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020,
           0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13)
    sig = bytes.fromhex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
                        "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
    ck.check("sm2 example d*G = P", sm2_mul(d, SM2_G) == pub)
    ck.check("sm2 example signature verifies",
             sm2_verify(pub, b"1234567812345678", b"message digest", sig))
    ck.check("sm2 example refused under another id",
             not sm2_verify(pub, b"1234567812345679", b"message digest", sig))
    ck.check("sm2 example refused for another message",
             not sm2_verify(pub, b"1234567812345678", b"message digesT", sig))
    # ristretto255 (RFC 9496 A.1: 2B) and the Pedersen example of docs/envelope.md
    b = ristretto_decode(PEDERSEN_B_BYTES)
    ck.check("ristretto B round trip", b is not None and ristretto_encode(b) == PEDERSEN_B_BYTES)
    ck.check("ristretto 2B", b is not None and ristretto_encode(_ed_add(b, b)).hex() ==
             "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919")
    ck.check("ristretto constant SQRT_AD_MINUS_ONE^2 = a*d - 1",
             SQRT_AD_MINUS_ONE * SQRT_AD_MINUS_ONE % ED_P == (-ED_D - 1) % ED_P)
    bt = ristretto_from_uniform_bytes(hashlib.sha3_512(PEDERSEN_B_BYTES).digest())
    ck.check("pedersen B~ = from_uniform_bytes(SHA3-512(B))", ristretto_encode(bt) == PEDERSEN_BT_BYTES)
    r = int.from_bytes(bytes.fromhex(
        "77387df28b1826ca91085e80898eedd8f7d9600479b48a10d75da72950801c07"), "little")
    ck.check("pedersen envelope.md example (envelope-v1 amount)", pedersen_commit(125000000, r).hex() ==
             "f68388dc25fa057539bc95e24aa05ae409c91173062960b50a6c5e3428830a1e")


# ---------------------------------------------------------------------------
# Policy (just enough of the language for the plan hash, docs/policy-plan.md)

TYPE_TAGS = {"string": 1, "integer": 2, "bool": 3, "date": 4, "party": 5, "amount": 6, "enum": 7, "bytes": 8}


def u16(n):
    return n.to_bytes(2, "big")


def u32(n):
    return n.to_bytes(4, "big")


def i64(n):
    return n.to_bytes(8, "big", signed=True)


def lp(b):
    if isinstance(b, str):
        b = b.encode()
    return u16(len(b)) + b


def lst(items):
    return u16(len(items)) + b"".join(items)


def split_top(text, sep=","):
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def to_minor(text, scale):
    neg = text.startswith("-")
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    if len(frac) > scale:
        raise ValueError("too many decimals: " + text)
    v = int(whole or "0") * 10 ** scale + int((frac + "0" * scale)[:scale] or "0")
    return -v if neg else v


def parse_policy(text):
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    pol = {"ledgers": [], "suite": "standard", "roles": [], "sets": [], "record": [], "disclose": {}}
    block = None
    for ln in lines:
        if not ln:
            continue
        if block:
            if ln == "}":
                block = None
                continue
            if block == "roles":
                pol["roles"] += ln.split()
            elif block == "record":
                name, typ = [x.strip() for x in ln.split(":", 1)]
                pol["record"].append((name, typ))
            elif block == "disclose":
                name, disc = [x.strip() for x in ln.split(":", 1)]
                pol["disclose"][name] = split_top(disc)
            else:
                raise ValueError("unsupported block " + block)
            continue
        words = ln.split()
        if words[0] == "policy":
            pol["id"], pol["version"] = words[1], int(words[3])
        elif words[0] == "ledger":
            pol["ledgers"].append(words[1])
        elif words[0] == "suite":
            pol["suite"] = words[1]
        elif ln.endswith("{") and words[0] in ("record", "roles", "disclose"):
            block = words[0]
            rest = ln[len(words[0]):].strip()[1:].strip()
            if rest:
                raise ValueError("one-line blocks unsupported")
        elif ln.startswith("roles {") and ln.endswith("}"):
            pol["roles"] += ln[len("roles {"):-1].split()
        else:
            raise ValueError("unsupported policy line: " + ln)
    return pol


def compile_plan(pol):
    """Returns (canonical plan bytes, list of field dicts in record order)."""
    types = {}
    fields = []
    for name, typ in pol["record"]:
        base = typ.split("(", 1)[0].strip()
        if base not in TYPE_TAGS:
            raise ValueError("unknown type " + typ)
        f = {"name": name, "type": base, "scale": 0, "enum": []}
        tb = bytes([TYPE_TAGS[base]])
        if base == "amount":
            f["scale"] = int(typ.split("(")[1].rstrip(")"))
            tb += bytes([f["scale"]])
        if base == "enum":
            f["enum"] = [v.strip() for v in typ.split("(", 1)[1].rstrip(")").split(",")]
            tb += lst([lp(v) for v in f["enum"]])
        f["type_bytes"] = tb
        types[name] = base
        fields.append(f)

    def role(name):
        return (1, name) if types.get(name) == "party" else (2, name)

    def role_list(names):
        rs = sorted({role(n) for n in names}, key=lambda r: (r[0], r[1].encode()))
        return rs, lst([bytes([k]) + lp(n) for k, n in rs])

    submitter_field = None
    for f in fields:
        items = pol["disclose"][f["name"]]
        kind = items[0].split()[0]
        recips = []
        rng = None
        for it in items[1:]:
            if it.startswith("encrypt to"):
                recips = [x.strip() for x in it[len("encrypt to"):].strip().strip("[]").split(",") if x.strip()]
            elif it.startswith("range"):
                lo, hi = it[len("range"):].split("..=")
                rng = (to_minor(lo.strip(), f["scale"]), to_minor(hi.strip(), f["scale"]))
            elif it == "submitter":
                submitter_field = f["name"]
            else:
                raise ValueError("unsupported disclosure item " + it)
        if kind == "encrypt":
            recips = [x.strip() for x in items[0][len("encrypt to"):].strip().strip("[]").split(",") if x.strip()]
        tags = {"public": 0, "drop": 1, "pseudonym": 2, "commit": 3, "encrypt": 4}
        if kind not in tags:
            raise ValueError("unsupported disclosure " + kind)  # mask/generalize: not in this vector
        db = bytes([tags[kind]])
        if kind == "commit":
            db += b"\x00" if rng is None else b"\x01" + i64(rng[0]) + i64(rng[1])
        f["roles"], rb = role_list(recips)
        f["disclosure"], f["range"] = kind, rng
        f["plan_bytes"] = lp(f["name"]) + f["type_bytes"] + db + rb
    s1 = lambda xs: sorted(xs, key=lambda x: x.encode())
    plan = (b"veilgate/policy-plan/v1" + lp(pol["id"]) + u32(pol["version"])
            + lst([lp(x) for x in s1(pol["ledgers"])]) + lp(pol["suite"])
            + lst([])                                   # required recipients: none in this grammar
            + lst([lp(x) for x in s1(pol["roles"])])
            + lst([lp(x) for x in s1(pol["sets"])])
            + lst([f["plan_bytes"] for f in fields])
            + lst([])                                   # predicates: none supported here
            + lst([]))                                  # conditions: none supported here
    if submitter_field is not None:
        plan += b"\x03" + lp(submitter_field)
    return plan, fields, submitter_field


# ---------------------------------------------------------------------------
# Envelope decoding (docs/envelope.md, Layout)

class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated at %d (+%d)" % (self.i, n))
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return int.from_bytes(self.take(2), "big")

    def u32(self):
        return int.from_bytes(self.take(4), "big")

    def u64(self):
        return int.from_bytes(self.take(8), "big")

    def bytes16(self):
        return self.take(self.u16())

    def bytes32(self):
        n = self.u32()
        if n > 4 << 20:
            raise ValueError("bytes32 too long")
        return self.take(n)

    def str16(self):
        b = self.bytes16()
        if len(b) > 1024:
            raise ValueError("str16 too long")
        return b.decode("utf-8")  # strict: raises on non-UTF-8


KINDS = {0: "public", 1: "pseudonym", 2: "committed", 3: "encrypted", 4: "derived", 5: "committed_bn254"}


def parse_envelope(b):
    if len(b) > 4 << 20:
        raise ValueError("envelope too long")
    r = Reader(b)
    env = {}
    if r.take(4) != b"VGEN":
        raise ValueError("bad magic")
    env["format"] = r.u8()
    if env["format"] not in (1, 2, 3):
        raise ValueError("unknown version")
    env["suite"] = r.u8()
    env["ledger"] = r.str16()
    env["envelope_id"] = r.take(16)
    env["policy_id"] = r.str16()
    env["policy_version"] = r.u32()
    env["policy_hash"] = r.take(32)
    env["submitter"] = r.str16()
    env["timestamp"] = r.u64()
    env["idempotency_key"] = r.str16()
    env["recipients"] = []
    for _ in range(r.u16()):
        inst = r.str16()
        env["recipients"].append({"institution": inst, "enc": r.bytes16(), "wrapped_key": r.bytes16()})
    names = [x["institution"].encode() for x in env["recipients"]]
    if any(a >= b_ for a, b_ in zip(names, names[1:])):
        raise ValueError("recipients not strictly ascending")
    env["fields"] = []
    for _ in range(r.u16()):
        f = {"name": r.str16(), "kind": r.u8()}
        k = f["kind"]
        if k == 0 or k == 4:
            f["value"] = r.bytes32()
        elif k == 1:
            f["pseudonym"] = r.take(32)
        elif k == 2:
            f["commitment"] = r.take(32)
            f["proof_flag"] = r.u8()
            if f["proof_flag"] == 1:
                if env["format"] == 3:
                    raise ValueError("range proof in a v3 field")
                f["range_proof"] = r.bytes32()
            elif f["proof_flag"] != 0:
                raise ValueError("bad proof flag")
        elif k == 3:
            pass
        elif k == 5:
            if env["format"] == 1:
                raise ValueError("kind 5 in v1")
            f["commitment"] = r.take(32)
        else:
            raise ValueError("unknown field kind %d" % k)
        f["ciphertexts"] = []
        for _ in range(r.u16()):
            idx = r.u16()
            f["ciphertexts"].append((idx, r.bytes32()))
        idxs = [i for i, _ in f["ciphertexts"]]
        if any(a >= b_ for a, b_ in zip(idxs, idxs[1:])):
            raise ValueError("ciphertexts not strictly ascending")
        if any(i >= len(env["recipients"]) for i in idxs):
            raise ValueError("recipient index out of range")
        env["fields"].append(f)
    env["predicates"], env["outcomes"], env["range_proofs"] = [], [], []
    if env["format"] >= 2:
        for _ in range(r.u16()):
            circuit = r.u8()
            p = {"circuit": circuit, "key_id": r.take(32)}
            if circuit in (4, 5):
                if env["format"] < 3:
                    raise ValueError("set predicate in v2")
                p["set_version"] = r.u32()
            elif circuit not in (1, 2, 3):
                raise ValueError("unknown circuit")
            p["proofs"] = [r.bytes16() for _ in range(r.u8())]
            env["predicates"].append(p)
    if env["format"] == 3:
        for _ in range(r.u16()):
            o = r.u8()
            if o not in (0, 1):
                raise ValueError("bad outcome byte")
            env["outcomes"].append(o)
        env["range_proofs"] = [r.bytes32() for _ in range(r.u8())]
    env["signed_len"] = r.i
    env["signature"] = r.bytes16()
    if r.i != len(b):
        raise ValueError("%d trailing bytes" % (len(b) - r.i))
    return env


# ---------------------------------------------------------------------------
# Canonical values (docs/envelope.md, Canonical values)

def decode_value(b, field):
    tag, payload = b[0], b[1:]
    typ = field["type"]
    if tag != TYPE_TAGS[typ]:
        raise ValueError("type tag %d for %s" % (tag, typ))
    if tag in (1, 4, 5, 7):
        return payload.decode("utf-8")
    if tag in (2, 6):
        if len(payload) != 8:
            raise ValueError("bad integer length")
        v = int.from_bytes(payload, "big", signed=True)
        return format_minor(v, field["scale"]) if tag == 6 else str(v)
    if tag == 3:
        if payload not in (b"\x00", b"\x01"):
            raise ValueError("bad bool")
        return payload == b"\x01"
    return payload.hex()


def format_minor(v, scale):
    if scale == 0:
        return str(v)
    sign = "-" if v < 0 else ""
    v = abs(v)
    return "%s%d.%0*d" % (sign, v // 10 ** scale, scale, v % 10 ** scale)


# ---------------------------------------------------------------------------
# The vector

def verify_vector(vec, env_bytes, policy_text, ck):
    directory = [lg for lg in vec["directory"]["ledgers"]]
    try:
        env = parse_envelope(env_bytes)
    except (ValueError, UnicodeDecodeError) as e:
        ck.check("decode: strict parse", False, str(e))
        return
    ck.check("decode: strict parse", True)
    ck.check("decode: signed bytes + bytes16 signature = whole envelope",
             env["signed_len"] + 2 + len(env["signature"]) == len(env_bytes))

    # a. suite and ledger
    ledger_entries = [lg for lg in directory if lg["ledger"] == env["ledger"]]
    ck.check("a: ledger is in the directory", len(ledger_entries) == 1, env["ledger"])
    if not ledger_entries:
        return
    lgd = ledger_entries[0]
    ck.check("a: directory ledger suite is sm", lgd.get("suite") == "sm")
    ck.check("a: suite byte is 2", env["suite"] == 2, str(env["suite"]))
    members = {m["id"]: m for m in lgd["members"]}
    for mid, m in sorted(members.items()):
        ck.check("a: directory sign_public of %s is a valid SM2 point" % mid,
                 sec1_decode(bytes.fromhex(m["sign_public"])) is not None)
        ck.check("a: directory kem_public of %s is a valid SM2 point" % mid,
                 sec1_decode(bytes.fromhex(m["kem_public"])) is not None)

    # b. envelope id
    eid = sm3(b"veilgate/envelope-id/v1", lp(env["ledger"]), lp(env["submitter"]),
              lp(env["idempotency_key"]))[:16]
    ck.check("b: envelope id = SM3(label||lp(ledger)||lp(submitter)||lp(idem))[0..16]",
             eid == env["envelope_id"], eid.hex() + " vs " + env["envelope_id"].hex())
    ck.check("b: idempotency key 1-128 bytes of 0x21-0x7E",
             1 <= len(env["idempotency_key"].encode()) <= 128 and
             all(0x21 <= c <= 0x7E for c in env["idempotency_key"].encode()))

    # c. policy hash
    pol = parse_policy(policy_text)
    plan, fields, submitter_field = compile_plan(pol)
    ck.check("c: envelope policy hash = vector policy_hash", env["policy_hash"].hex() == vec["policy_hash"])
    ck.check("c: SM3(canonical plan) = policy hash", sm3(plan) == env["policy_hash"], sm3(plan).hex())
    ck.check("c: SHA-256(canonical plan) differs (suite hash is SM3)",
             hashlib.sha256(plan).digest() != env["policy_hash"])
    ck.check("c: policy id and version", (env["policy_id"], env["policy_version"]) == (pol["id"], pol["version"]))
    ck.check("c: policy suite sm and ledger", pol["suite"] == "sm" and env["ledger"] in pol["ledgers"])

    # d. signature
    sub = members.get(env["submitter"])
    ck.check("d: submitter is a member", sub is not None)
    if sub is None:
        return
    sub_pub = sec1_decode(bytes.fromhex(sub["sign_public"]))
    distid = sub.get("distid", "1234567812345678").encode()
    msg = b"veilgate/envelope/v1" + env_bytes[:env["signed_len"]]
    ck.check("d: signature is 64 bytes r||s", len(env["signature"]) == 64)
    ck.check("d: SM2 signature verifies under the directory's distid",
             sm2_verify(sub_pub, distid, msg, env["signature"]))
    if distid != DEFAULT_DISTID:
        ck.check("d: signature fails under the default distid",
                 not sm2_verify(sub_pub, DEFAULT_DISTID, msg, env["signature"]))
    sub_sec = vec["secrets"].get(env["submitter"])
    if sub_sec is not None:
        ck.check("d: re-signing with RFC 6979 (HMAC-SM3, h1 = e) reproduces r||s",
                 sm2_sign_deterministic(int(sub_sec["sign_secret"], 16), distid, msg) == env["signature"])
    ck.check("d: signature fails without the domain label",
             not sm2_verify(sub_pub, distid, env_bytes[:env["signed_len"]], env["signature"]))

    # shape: the policy's non-dropped fields, in order, with their kinds and recipients
    kept = [f for f in fields if f["disclosure"] != "drop"]
    kind_of = {"public": 0, "pseudonym": 1, "commit": 2, "encrypt": 3}
    ck.check("shape: field names in record order without dropped fields",
             [f["name"] for f in env["fields"]] == [f["name"] for f in kept])
    ck.check("shape: field kinds follow the disclosures",
             [f["kind"] for f in env["fields"]] == [kind_of[f["disclosure"]] for f in kept])
    has_range = any(f["range"] for f in fields)
    ck.check("shape: format 3 (policy has a range)", env["format"] == (3 if has_range else 1))
    ck.check("shape: no predicates, no outcomes", env["predicates"] == [] and env["outcomes"] == [])
    public_values = {}
    by_name = {f["name"]: f for f in fields}
    for ef in env["fields"]:
        if ef["kind"] == 0:
            try:
                public_values[ef["name"]] = decode_value(ef["value"], by_name[ef["name"]])
            except (ValueError, UnicodeDecodeError, KeyError) as e:
                ck.check("shape: public value of %s decodes" % ef["name"], False, str(e))
    if submitter_field:
        ck.check("shape: submitter field names the submitter",
                 public_values.get(submitter_field) == env["submitter"])
    recips = [x["institution"] for x in env["recipients"]]
    expected_union = set()
    for ef in env["fields"]:
        pf = by_name.get(ef["name"])
        if pf is None:
            continue
        want = set()
        for kind, name in pf["roles"]:
            if kind == 1:
                want.add(public_values.get(name))
            else:
                want |= set(lgd["roles"].get(name, []))
        expected_union |= want
        got = {recips[i] for i, _ in ef["ciphertexts"]}
        ck.check("shape: ciphertexts of %s go to exactly %s" % (ef["name"], sorted(want)), got == want,
                 str(sorted(got)))
    ck.check("shape: recipient list is the union", set(recips) == expected_union, str(recips))
    # range section: one fact (amount) -> one proof; n = 64 (hi - lo >= 2^32), m = 2 -> 32*(9+2*7) bytes
    facts = [f for f in env["fields"] if f["kind"] == 2 and by_name[f["name"]]["range"]]
    ck.check("shape: one range proof per eight facts", len(env["range_proofs"]) == (len(facts) + 7) // 8)
    for rp in env["range_proofs"]:
        ck.check("shape: range proof length 32*(9+2*log2(n*m)) = 736", len(rp) == 736, str(len(rp)))

    # the JSON view of the envelope agrees with the bytes
    view = vec["envelope"]
    ck.check("json: envelope id", view["envelope_id"] == env["envelope_id"].hex())
    ck.check("json: signature", view["signature"] == env["signature"].hex())
    ck.check("json: timestamp, idempotency key, submitter, format",
             (view["timestamp_ms"], view["idempotency_key"], view["submitter"], view["format"], view["suite"]) ==
             (env["timestamp"], env["idempotency_key"], env["submitter"], env["format"], "sm"))
    ck.check("json: recipients",
             [(x["institution"], x["enc"], base64.b64decode(x["wrapped_key"])) for x in view["recipients"]] ==
             [(x["institution"], x["enc"].hex(), x["wrapped_key"]) for x in env["recipients"]])
    jf = {f["name"]: f for f in view["fields"]}
    for ef in env["fields"]:
        j = jf.get(ef["name"], {})
        if ef["kind"] == 0:
            ck.check("json: public value of " + ef["name"], j.get("value") == public_values.get(ef["name"]))
        if ef["kind"] == 1:
            ck.check("json: pseudonym of " + ef["name"], j.get("pseudonym") == ef["pseudonym"].hex())
        if ef["kind"] == 2:
            ck.check("json: commitment of " + ef["name"], j.get("commitment") == ef["commitment"].hex())
        ck.check("json: ciphertexts of " + ef["name"],
                 [(c["to"], base64.b64decode(c["ciphertext"])) for c in j.get("ciphertexts", [])] ==
                 [(recips[i], ct) for i, ct in ef["ciphertexts"]])
    ck.check("json: range proofs", [base64.b64decode(x) for x in view["range_proofs"]] == env["range_proofs"])

    # e. each member with a secret: keys, unwrap, decrypt, compare with views
    pkey = bytes.fromhex(vec["pseudonym_key"])
    record_index = {f["name"]: i for i, f in enumerate(fields)}
    info = b"veilgate/key-wrap/v1" + lp(env["ledger"]) + env["envelope_id"]
    for mid, sec in sorted(vec["secrets"].items()):
        m = members.get(mid)
        ck.check("e: %s is a member" % mid, m is not None)
        if m is None:
            continue
        kem_d = int.from_bytes(bytes.fromhex(sec["kem_secret"]), "big")
        sign_d = int.from_bytes(bytes.fromhex(sec["sign_secret"]), "big")
        ck.check("e: %s secrets in [1, n-1]" % mid, 1 <= kem_d < SM2_N and 1 <= sign_d < SM2_N)
        kem_pub = sm2_mul(kem_d, SM2_G)
        ck.check("e: %s kem_secret*G = directory kem_public" % mid,
                 sec1_encode(kem_pub).hex() == m["kem_public"])
        ck.check("e: %s sign_secret*G = directory sign_public" % mid,
                 sec1_encode(sm2_mul(sign_d, SM2_G)).hex() == m["sign_public"])
        ck.check("e: %s key file distid = directory distid" % mid, sec.get("distid") == m.get("distid"))
        opened = dict(public_values)
        if mid in recips:
            ri = recips.index(mid)
            rec = env["recipients"][ri]
            enc_pt = sec1_decode(rec["enc"])
            ck.check("e: %s enc is a 65-byte point on the curve" % mid, enc_pt is not None)
            if enc_pt is None:
                continue
            z = sm2_mul(kem_d, enc_pt)[0].to_bytes(32, "big")
            kn = sm3_kdf(b"veilgate/sm2-kem/v1" + z + rec["enc"] + sec1_encode(kem_pub)
                         + u16(len(info)) + info, 28)
            data_key = sm4_gcm_decrypt(kn[:16], kn[16:], mid.encode(), rec["wrapped_key"])
            ck.check("e: %s wrapped key is 48 bytes and unwraps" % mid,
                     len(rec["wrapped_key"]) == 48 and data_key is not None and len(data_key) == 32)
            if data_key is None:
                continue
            for ef in env["fields"]:
                for idx, ct in ef["ciphertexts"]:
                    if idx != ri:
                        continue
                    pf = by_name[ef["name"]]
                    nonce = bytes(8) + u32(record_index[ef["name"]])
                    aad = (b"veilgate/field/v1" + lp(env["ledger"]) + env["envelope_id"]
                           + lp(ef["name"]) + lp(mid))
                    pt = sm4_gcm_decrypt(data_key[:16], nonce, aad, ct)
                    ck.check("e: %s decrypts %s" % (mid, ef["name"]), pt is not None)
                    if pt is None:
                        continue
                    pos = env["fields"].index(ef)
                    if pos != record_index[ef["name"]]:
                        wrong = sm4_gcm_decrypt(data_key[:16], bytes(8) + u32(pos), aad, ct)
                        ck.check("e: %s %s fails under the envelope-position nonce" % (mid, ef["name"]),
                                 wrong is None)
                    try:
                        if ef["kind"] == 2:
                            ck.check("e: %s opening of %s is 40 bytes" % (mid, ef["name"]), len(pt) == 40)
                            v = int.from_bytes(pt[:8], "big", signed=True)
                            r = int.from_bytes(pt[8:], "little")
                            ck.check("e: %s blinding of %s canonical (< l)" % (mid, ef["name"]), r < ED_L)
                            ck.check("e: %s Pedersen commitment of %s = v*B + r*B~" % (mid, ef["name"]),
                                     pedersen_commit(v, r) == ef["commitment"])
                            lo, hi = pf["range"] or (-(1 << 63), (1 << 63) - 1)
                            ck.check("e: %s value of %s within its range" % (mid, ef["name"]), lo <= v <= hi)
                            opened[ef["name"]] = format_minor(v, pf["scale"])
                        else:
                            opened[ef["name"]] = decode_value(pt, pf)
                            if ef["kind"] == 1:
                                ps = hmac_sm3(pkey, b"veilgate/pseudonym/v1" + lp(env["ledger"]) + pt)
                                ck.check("f: %s HMAC-SM3 pseudonym of %s" % (mid, ef["name"]),
                                         ps == ef["pseudonym"], ps.hex())
                    except (ValueError, UnicodeDecodeError) as e:
                        ck.check("e: %s value of %s decodes" % (mid, ef["name"]), False, str(e))
            ck.check("e: %s view = vector views[%s]" % (mid, mid), opened == vec["views"].get(mid),
                     json.dumps(opened, sort_keys=True))
        else:
            ck.check("e: %s (no recipient entry) has no view in the vector" % mid, mid not in vec["views"])
    ck.check("e: every view belongs to a member with a secret", set(vec["views"]) <= set(vec["secrets"]))


# ---------------------------------------------------------------------------

def find_vector(argv):
    if len(argv) > 1:
        return argv[1]
    rel = os.path.join("gateway", "core", "tests", "vectors", "envelope-sm.json")
    here = os.path.dirname(os.path.abspath(__file__))
    for base in (os.getcwd(), os.path.normpath(os.path.join(here, "..", "..", ".."))):
        if os.path.exists(os.path.join(base, rel)):
            return os.path.join(base, rel)
    return rel


def main(argv):
    path = find_vector(argv)
    with open(path) as fh:
        vec = json.load(fh)
    pol_path = vec.get("policy_file", "envelope-sm.policy")
    candidates = [os.path.join(os.path.dirname(os.path.abspath(path)), os.path.basename(pol_path))]
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), "..", "..", "..", ".."))
    candidates.append(os.path.join(root, pol_path))
    pol_file = next((c for c in candidates if os.path.exists(c)), candidates[0])
    with open(pol_file) as fh:
        policy_text = fh.read()
    env_bytes = bytes.fromhex(vec["envelope_hex"])

    ck = Checker()
    self_tests(ck)
    verify_vector(vec, env_bytes, policy_text, ck)

    # Tampered copies must fail (so the checks above cannot pass vacuously).
    env = parse_envelope(env_bytes)

    def tampered(name, mutate, expect):
        b = bytearray(env_bytes)
        mutate(b)
        t = Checker(quiet=True)
        verify_vector(vec, bytes(b), policy_text, t)
        for prefix in expect:
            ck.check("tamper %s: '%s' fails" % (name, prefix), t.failed_any(prefix), "still passes")

    sig_off = env["signed_len"] + 2
    tampered("signature byte", lambda b: b.__setitem__(sig_off + 5, b[sig_off + 5] ^ 0x01),
             ["d: SM2 signature verifies"])

    # the 4th byte of bank-b's remittance ciphertext (in the encrypted body, not the tag)
    rem = next(f for f in env["fields"] if f["name"] == "remittance")
    ct = rem["ciphertexts"][0][1]
    ct_off = env_bytes.index(ct)
    tampered("ciphertext byte", lambda b: b.__setitem__(ct_off + 3, b[ct_off + 3] ^ 0x80),
             ["e: bank-b decrypts remittance", "d: SM2 signature verifies", "json: ciphertexts of remittance"])

    wk = env["recipients"][2]["wrapped_key"]
    wk_off = env_bytes.index(wk)
    tampered("wrapped key byte", lambda b: b.__setitem__(wk_off, b[wk_off] ^ 0x01),
             ["e: regulator wrapped key", "d: SM2 signature verifies"])

    eid_off = env_bytes.index(env["envelope_id"])
    tampered("envelope id byte", lambda b: b.__setitem__(eid_off, b[eid_off] ^ 0x01),
             ["b: envelope id", "d: SM2 signature verifies", "e: bank-a wrapped key"])

    ph_off = env_bytes.index(env["policy_hash"])
    tampered("policy hash byte", lambda b: b.__setitem__(ph_off, b[ph_off] ^ 0x01),
             ["c: SM3(canonical plan) = policy hash", "d: SM2 signature verifies"])

    tampered("suite byte", lambda b: b.__setitem__(5, 1), ["a: suite byte is 2", "d: SM2 signature verifies"])
    tampered("trailing byte", lambda b: b.append(0), ["decode: strict parse"])

    pay = next(f for f in env["fields"] if f["name"] == "payee_account")
    ps_off = env_bytes.index(pay["pseudonym"])
    tampered("pseudonym byte", lambda b: b.__setitem__(ps_off, b[ps_off] ^ 0x01),
             ["f: bank-b HMAC-SM3 pseudonym of payee_account", "d: SM2 signature verifies"])

    amt = next(f for f in env["fields"] if f["name"] == "amount")
    cm_off = env_bytes.index(amt["commitment"])
    tampered("commitment byte", lambda b: b.__setitem__(cm_off + 1, b[cm_off + 1] ^ 0x01),
             ["e: bank-a Pedersen commitment of amount", "d: SM2 signature verifies"])

    if ck.failed:
        print("independent_sm: %d checks passed, %d FAILED" % (ck.passed, len(ck.failed)))
        return 1
    print("independent_sm: %d checks passed" % ck.passed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
