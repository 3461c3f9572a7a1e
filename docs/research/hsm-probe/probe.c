/* Probe SoftHSM2 for Veilgate key custody (issue 17). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <time.h>
#include <p11-kit/pkcs11.h>

#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY 0x41UL
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN 0x1056UL
#endif

static CK_FUNCTION_LIST_PTR f;
static CK_SESSION_HANDLE s;
static const char *rvname(CK_RV rv) {
  switch (rv) {
  case CKR_OK: return "CKR_OK";
  case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
  case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
  case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
  case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
  case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
  case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
  case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
  case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
  case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
  case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
  case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
  case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
  case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
  case CKR_CURVE_NOT_SUPPORTED: return "CKR_CURVE_NOT_SUPPORTED";
  case CKR_DOMAIN_PARAMS_INVALID: return "CKR_DOMAIN_PARAMS_INVALID";
  case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
  case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
  case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
  case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
  case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
  case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
  case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
  case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
  default: { static char b[32]; snprintf(b, 32, "0x%lx", rv); return b; }
  }
}
#define SHOW(label, rv) printf("%-60s %s\n", label, rvname(rv))
static void hex(const char *l, const unsigned char *p, CK_ULONG n) {
  printf("  %s (%lu): ", l, n); for (CK_ULONG i = 0; i < n; i++) printf("%02x", p[i]); printf("\n");
}
static CK_BBOOL T = CK_TRUE, F = CK_FALSE;
static const unsigned char OID_P256[] = {0x06,0x08,0x2a,0x86,0x48,0xce,0x3d,0x03,0x01,0x07};
static const unsigned char OID_ED25519[] = {0x06,0x03,0x2b,0x65,0x70};
static const unsigned char OID_X25519[] = {0x06,0x03,0x2b,0x65,0x6e};
static const unsigned char PS_ED25519[] = {0x13,0x0c,'e','d','w','a','r','d','s','2','5','5','1','9'};
static const unsigned char PS_X25519[] = {0x13,0x0a,'c','u','r','v','e','2','5','5','1','9'};

static CK_RV genpair(CK_MECHANISM_TYPE m, const unsigned char *params, CK_ULONG plen, const char *label,
                     CK_BBOOL sign, CK_BBOOL derive, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv) {
  CK_MECHANISM mech = {m, NULL, 0};
  CK_ATTRIBUTE pubt[] = {
    {CKA_TOKEN, &T, 1}, {CKA_EC_PARAMS, (void *)params, plen}, {CKA_VERIFY, &sign, 1},
    {CKA_LABEL, (void *)label, strlen(label)},
  };
  CK_ATTRIBUTE privt[] = {
    {CKA_TOKEN, &T, 1}, {CKA_PRIVATE, &T, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1},
    {CKA_SIGN, &sign, 1}, {CKA_DERIVE, &derive, 1}, {CKA_LABEL, (void *)label, strlen(label)},
  };
  return f->C_GenerateKeyPair(s, &mech, pubt, 4, privt, 7, pub, priv);
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  const char *pin = argc > 1 ? argv[1] : "1234";
  void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW);
  CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  gfl(&f);
  CK_C_INITIALIZE_ARGS ia = {0}; ia.flags = CKF_OS_LOCKING_OK;
  SHOW("C_Initialize(CKF_OS_LOCKING_OK)", f->C_Initialize(&ia));
  CK_SLOT_ID slots[16]; CK_ULONG n = 16;
  f->C_GetSlotList(CK_TRUE, slots, &n);
  CK_SLOT_ID slot = 0; int found = 0;
  for (CK_ULONG i = 0; i < n; i++) {
    CK_TOKEN_INFO ti; f->C_GetTokenInfo(slots[i], &ti);
    if (memcmp(ti.label, "veilgate-test", 13) == 0 && ti.label[13] == ' ') { slot = slots[i]; found = 1;
      printf("token 'veilgate-test' in slot %lu, flags 0x%lx (login required %d, user pin locked %d, count low %d)\n",
        slot, ti.flags, !!(ti.flags & CKF_LOGIN_REQUIRED), !!(ti.flags & CKF_USER_PIN_LOCKED), !!(ti.flags & CKF_USER_PIN_COUNT_LOW)); }
  }
  if (!found) { printf("no token\n"); return 1; }
  SHOW("C_OpenSession(RW|SERIAL)", f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
  CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
  SHOW("C_Login(user)", rv);
  if (rv != CKR_OK) return 2;

  CK_OBJECT_HANDLE pub, priv;
  /* 1. Ed25519 */
  printf("\n== Ed25519 ==\n");
  rv = genpair(CKM_EC_EDWARDS_KEY_PAIR_GEN, OID_ED25519, sizeof OID_ED25519, "probe-ed-oid", T, F, &pub, &priv);
  SHOW("GenerateKeyPair EC_EDWARDS, params=OID 1.3.101.112", rv);
  CK_OBJECT_HANDLE edpub, edpriv;
  rv = genpair(CKM_EC_EDWARDS_KEY_PAIR_GEN, PS_ED25519, sizeof PS_ED25519, "probe-ed-ps", T, F, &edpub, &edpriv);
  SHOW("GenerateKeyPair EC_EDWARDS, params=PrintableString edwards25519", rv);
  if (rv == CKR_OK) { edpub = pub; edpriv = priv; }
  {
    unsigned char pt[128]; CK_ATTRIBUTE a = {CKA_EC_POINT, pt, sizeof pt};
    SHOW("GetAttribute CKA_EC_POINT (public)", f->C_GetAttributeValue(s, pub, &a, 1));
    hex("EC_POINT", pt, a.ulValueLen);
    unsigned char msg[] = "veilgate/envelope/v1 probe"; unsigned char sig[128]; CK_ULONG sl = sizeof sig;
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    SHOW("SignInit CKM_EDDSA (no params = Ed25519 pure)", f->C_SignInit(s, &m, priv));
    SHOW("Sign", f->C_Sign(s, msg, sizeof msg - 1, sig, &sl));
    hex("signature", sig, sl);
    /* timing */
    double t0 = now(); int N = 2000;
    for (int i = 0; i < N; i++) { sl = sizeof sig; f->C_SignInit(s, &m, priv); f->C_Sign(s, msg, sizeof msg - 1, sig, &sl); }
    printf("  Ed25519 sign via SoftHSM: %.1f us/op (%d ops, one session)\n", (now() - t0) / N * 1e6, N);
    CK_MECHANISM md = {CKM_ECDH1_DERIVE, NULL, 0};
    CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, 32, pt + 2};
    md.pParameter = &dp; md.ulParameterLen = sizeof dp;
    CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE gk = CKK_GENERIC_SECRET; CK_ULONG vl = 32;
    CK_ATTRIBUTE st[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl},
      {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
    CK_OBJECT_HANDLE sk;
    SHOW("ECDH1_DERIVE with an Ed25519 private key (X25519-style)", f->C_DeriveKey(s, &md, priv, st, 6, &sk));
  }
  /* RFC 8032 test 1 import */
  {
    unsigned char seed[32] = {0x9d,0x61,0xb1,0x9d,0xef,0xfd,0x5a,0x60,0xba,0x84,0x4a,0xf4,0x92,0xec,0x2c,0xc4,0x44,0x49,0xc5,0x69,0x7b,0x32,0x69,0x19,0x70,0x3b,0xac,0x03,0x1c,0xae,0x7f,0x60};
    CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY; CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &pc, sizeof pc}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_TOKEN, &F, 1},
      {CKA_EC_PARAMS, (void *)OID_ED25519, sizeof OID_ED25519}, {CKA_VALUE, seed, 32}, {CKA_SIGN, &T, 1},
      {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}};
    CK_OBJECT_HANDLE k;
    rv = f->C_CreateObject(s, t, 8, &k);
    SHOW("CreateObject Ed25519 private key (RFC 8032 test 1 seed)", rv);
    if (rv == CKR_OK) {
      unsigned char sig[64]; CK_ULONG sl = 64; CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
      f->C_SignInit(s, &m, k); rv = f->C_Sign(s, (unsigned char *)"", 0, sig, &sl);
      SHOW("Sign empty message", rv); hex("signature", sig, sl);
      printf("  RFC 8032 expects: e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b\n");
    }
  }
  /* 2. Montgomery */
  printf("\n== X25519 / Montgomery ==\n");
  rv = genpair(CKM_EC_MONTGOMERY_KEY_PAIR_GEN, OID_X25519, sizeof OID_X25519, "probe-x", F, T, &pub, &priv);
  SHOW("GenerateKeyPair CKM_EC_MONTGOMERY_KEY_PAIR_GEN (0x1056)", rv);
  rv = genpair(CKM_EC_EDWARDS_KEY_PAIR_GEN, OID_X25519, sizeof OID_X25519, "probe-x2", F, T, &pub, &priv);
  SHOW("GenerateKeyPair EC_EDWARDS_KEY_PAIR_GEN with OID 1.3.101.110", rv);
  rv = genpair(CKM_EC_EDWARDS_KEY_PAIR_GEN, PS_X25519, sizeof PS_X25519, "probe-x3", F, T, &pub, &priv);
  SHOW("GenerateKeyPair EC_EDWARDS_KEY_PAIR_GEN with 'curve25519'", rv);
  rv = genpair(CKM_EC_KEY_PAIR_GEN, OID_X25519, sizeof OID_X25519, "probe-x4", F, T, &pub, &priv);
  SHOW("GenerateKeyPair CKM_EC_KEY_PAIR_GEN with OID 1.3.101.110", rv);
  {
    unsigned char sk32[32]; memset(sk32, 0x11, 32);
    CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY; CK_KEY_TYPE kt = CKK_EC_MONTGOMERY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &pc, sizeof pc}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_TOKEN, &F, 1},
      {CKA_EC_PARAMS, (void *)OID_X25519, sizeof OID_X25519}, {CKA_VALUE, sk32, 32}, {CKA_DERIVE, &T, 1}};
    CK_OBJECT_HANDLE k;
    SHOW("CreateObject CKK_EC_MONTGOMERY private key", f->C_CreateObject(s, t, 6, &k));
  }
  /* 3. P-256 ECDH */
  printf("\n== P-256 ==\n");
  CK_OBJECT_HANDLE ppub, ppriv;
  rv = genpair(CKM_EC_KEY_PAIR_GEN, OID_P256, sizeof OID_P256, "probe-p256", F, T, &ppub, &ppriv);
  SHOW("GenerateKeyPair CKM_EC_KEY_PAIR_GEN P-256 (derive)", rv);
  unsigned char ppt[128]; CK_ATTRIBUTE pa = {CKA_EC_POINT, ppt, sizeof ppt};
  f->C_GetAttributeValue(s, ppub, &pa, 1); hex("own EC_POINT (DER OCTET STRING)", ppt, pa.ulValueLen);
  FILE *fo = fopen("/tmp/hsm/probe/hsm_point.bin", "wb"); fwrite(ppt + 2, 1, pa.ulValueLen - 2, fo); fclose(fo);
  /* peer point from file (raw 65 bytes) */
  unsigned char peer[65]; FILE *fp = fopen("/tmp/hsm/probe/peer_point.bin", "rb");
  if (fp) {
    fread(peer, 1, 65, fp); fclose(fp);
    CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE gk = CKK_GENERIC_SECRET; CK_ULONG vl = 32;
    CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, 65, peer};
    CK_MECHANISM md = {CKM_ECDH1_DERIVE, &dp, sizeof dp};
    CK_OBJECT_HANDLE sk;
    CK_ATTRIBUTE st[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl},
      {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
    rv = f->C_DeriveKey(s, &md, ppriv, st, 6, &sk);
    SHOW("ECDH1_DERIVE CKD_NULL raw point -> GENERIC_SECRET extractable", rv);
    if (rv == CKR_OK) {
      unsigned char v[64]; CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof v};
      SHOW("  GetAttribute CKA_VALUE of derived secret", f->C_GetAttributeValue(s, sk, &a, 1));
      hex("Z (x-coordinate)", v, a.ulValueLen);
      FILE *fz = fopen("/tmp/hsm/probe/z_hsm.bin", "wb"); fwrite(v, 1, a.ulValueLen, fz); fclose(fz);
      f->C_DestroyObject(s, sk);
      double t0 = now(); int N = 500;
      for (int i = 0; i < N; i++) { f->C_DeriveKey(s, &md, ppriv, st, 6, &sk); CK_ATTRIBUTE b = {CKA_VALUE, v, sizeof v}; f->C_GetAttributeValue(s, sk, &b, 1); f->C_DestroyObject(s, sk); }
      printf("  P-256 ECDH derive+read+destroy via SoftHSM: %.1f us/op\n", (now() - t0) / N * 1e6);
    }
    /* no VALUE_LEN */
    CK_ATTRIBUTE st2[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk},
      {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
    rv = f->C_DeriveKey(s, &md, ppriv, st2, 5, &sk);
    SHOW("ECDH1_DERIVE without CKA_VALUE_LEN", rv);
    if (rv == CKR_OK) { unsigned char v[80]; CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof v}; f->C_GetAttributeValue(s, sk, &a, 1); printf("  value length %lu\n", a.ulValueLen); f->C_DestroyObject(s, sk); }
    /* DER-wrapped point */
    unsigned char derpt[67] = {0x04, 65}; memcpy(derpt + 2, peer, 65);
    CK_ECDH1_DERIVE_PARAMS dp2 = {CKD_NULL, 0, NULL, 67, derpt};
    CK_MECHANISM md2 = {CKM_ECDH1_DERIVE, &dp2, sizeof dp2};
    rv = f->C_DeriveKey(s, &md2, ppriv, st, 6, &sk);
    SHOW("ECDH1_DERIVE with DER OCTET STRING-wrapped point", rv);
    if (rv == CKR_OK) f->C_DestroyObject(s, sk);
    /* sensitive derived key */
    CK_ATTRIBUTE st3[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl},
      {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}};
    rv = f->C_DeriveKey(s, &md, ppriv, st3, 6, &sk);
    SHOW("ECDH1_DERIVE -> sensitive secret", rv);
    if (rv == CKR_OK) { unsigned char v[64]; CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof v};
      SHOW("  GetAttribute CKA_VALUE of sensitive derived secret", f->C_GetAttributeValue(s, sk, &a, 1)); f->C_DestroyObject(s, sk); }
    /* CKD_SHA256_KDF */
    CK_ECDH1_DERIVE_PARAMS dp4 = {CKD_SHA256_KDF, 0, NULL, 65, peer};
    CK_MECHANISM md4 = {CKM_ECDH1_DERIVE, &dp4, sizeof dp4};
    SHOW("ECDH1_DERIVE with CKD_SHA256_KDF", f->C_DeriveKey(s, &md4, ppriv, st, 6, &sk));
    /* invalid point: off-curve */
    unsigned char bad[65]; memcpy(bad, peer, 65); bad[64] ^= 1;
    CK_ECDH1_DERIVE_PARAMS dp5 = {CKD_NULL, 0, NULL, 65, bad};
    CK_MECHANISM md5 = {CKM_ECDH1_DERIVE, &dp5, sizeof dp5};
    rv = f->C_DeriveKey(s, &md5, ppriv, st, 6, &sk);
    SHOW("ECDH1_DERIVE with an off-curve point", rv);
    /* derive to AES key (for in-token HKDF alternative?) */
    CK_KEY_TYPE ak = CKK_AES;
    CK_ATTRIBUTE st6[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &ak, sizeof ak}, {CKA_VALUE_LEN, &vl, sizeof vl},
      {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}, {CKA_DECRYPT, &T, 1}};
    SHOW("ECDH1_DERIVE -> AES-256 key, sensitive", f->C_DeriveKey(s, &md, ppriv, st6, 7, &sk));
  } else printf("(no peer_point.bin yet)\n");
  /* ECDSA */
  {
    CK_OBJECT_HANDLE epub, epriv;
    rv = genpair(CKM_EC_KEY_PAIR_GEN, OID_P256, sizeof OID_P256, "probe-ecdsa", T, F, &epub, &epriv);
    unsigned char dg[32]; memset(dg, 7, 32); unsigned char sig[80]; CK_ULONG sl = sizeof sig;
    CK_MECHANISM m1 = {CKM_ECDSA_SHA256, NULL, 0};
    SHOW("SignInit CKM_ECDSA_SHA256", f->C_SignInit(s, &m1, epriv));
    CK_MECHANISM m2 = {CKM_ECDSA, NULL, 0};
    SHOW("SignInit CKM_ECDSA", f->C_SignInit(s, &m2, epriv));
    SHOW("Sign 32-byte digest", f->C_Sign(s, dg, 32, sig, &sl)); printf("  signature length %lu (r||s)\n", sl);
  }
  /* non-extractable checks on the P-256 private key */
  printf("\n== Non-extractable ==\n");
  {
    CK_BBOOL ext = 9, sens = 9, never = 9, always = 9, local = 9; unsigned char v[64];
    CK_ATTRIBUTE a[] = {{CKA_EXTRACTABLE, &ext, 1}, {CKA_SENSITIVE, &sens, 1}, {CKA_NEVER_EXTRACTABLE, &never, 1},
      {CKA_ALWAYS_SENSITIVE, &always, 1}, {CKA_LOCAL, &local, 1}};
    SHOW("GetAttribute EXTRACTABLE,SENSITIVE,NEVER_EXTRACTABLE,ALWAYS_SENSITIVE,LOCAL", f->C_GetAttributeValue(s, ppriv, a, 5));
    printf("  extractable=%d sensitive=%d never_extractable=%d always_sensitive=%d local=%d\n", ext, sens, never, always, local);
    CK_ATTRIBUTE va = {CKA_VALUE, v, sizeof v};
    SHOW("GetAttribute CKA_VALUE of P-256 private key", f->C_GetAttributeValue(s, ppriv, &va, 1));
    printf("  ulValueLen = %ld (CK_UNAVAILABLE_INFORMATION = -1)\n", (long)va.ulValueLen);
    CK_ATTRIBUTE va2 = {CKA_VALUE, v, sizeof v};
    SHOW("GetAttribute CKA_VALUE of Ed25519 private key", f->C_GetAttributeValue(s, edpriv, &va2, 1));
    CK_ATTRIBUTE set = {CKA_EXTRACTABLE, &T, 1};
    SHOW("SetAttribute CKA_EXTRACTABLE=true on it", f->C_SetAttributeValue(s, ppriv, &set, 1));
    CK_BBOOL sensf = CK_FALSE; CK_ATTRIBUTE set2 = {CKA_SENSITIVE, &sensf, 1};
    SHOW("SetAttribute CKA_SENSITIVE=false on it", f->C_SetAttributeValue(s, ppriv, &set2, 1));
    /* wrap with an AES key */
    CK_OBJECT_HANDLE wk; CK_ULONG l32 = 32; CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE ak = CKK_AES;
    CK_ATTRIBUTE wt[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &ak, sizeof ak}, {CKA_VALUE_LEN, &l32, sizeof l32}, {CKA_TOKEN, &F, 1}, {CKA_WRAP, &T, 1}};
    CK_MECHANISM kg = {CKM_AES_KEY_GEN, NULL, 0};
    f->C_GenerateKey(s, &kg, wt, 5, &wk);
    CK_MECHANISM wm = {CKM_AES_KEY_WRAP_PAD, NULL, 0}; unsigned char out[512]; CK_ULONG ol = sizeof out;
    SHOW("WrapKey(AES-KEY-WRAP-PAD) of the P-256 private key", f->C_WrapKey(s, &wm, wk, ppriv, out, &ol));
  }
  f->C_Logout(s); f->C_CloseSession(s); f->C_Finalize(NULL);
  return 0;
}
