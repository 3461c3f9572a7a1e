#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
static CK_FUNCTION_LIST_PTR f; static CK_SESSION_HANDLE s;
static CK_BBOOL T = 1, F = 0;
static void hex(const char *l, const unsigned char *p, CK_ULONG n) { printf("  %s (%lu): ", l, n); for (CK_ULONG i = 0; i < n; i++) printf("%02x", p[i]); printf("\n"); }
int main(void) {
  void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW);
  ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  f->C_Initialize(NULL);
  CK_SLOT_ID sl[16]; CK_ULONG n = 16; f->C_GetSlotList(1, sl, &n); CK_SLOT_ID slot = 0;
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; f->C_GetTokenInfo(sl[i], &ti); if (!memcmp(ti.label, "veilgate-test ", 14)) slot = sl[i]; }
  f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
  printf("login %lx\n", f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4));
  static const unsigned char OID_X25519[] = {0x06,0x03,0x2b,0x65,0x6e};
  CK_MECHANISM gen = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
  CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &F, 1}, {CKA_EC_PARAMS, (void *)OID_X25519, 5}, {CKA_DERIVE, &T, 1}};
  CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}, {CKA_DERIVE, &T, 1}};
  CK_OBJECT_HANDLE pub, priv;
  CK_RV rv = f->C_GenerateKeyPair(s, &gen, pubt, 3, privt, 4, &pub, &priv);
  printf("GenerateKeyPair EC_EDWARDS with X25519 OID, derive=true: 0x%lx\n", rv);
  CK_KEY_TYPE kt = 0; unsigned char pt[64]; CK_ATTRIBUTE a[] = {{CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_EC_POINT, pt, sizeof pt}};
  printf("get attrs 0x%lx key type 0x%lx\n", f->C_GetAttributeValue(s, pub, a, 2), kt); hex("EC_POINT", pt, a[1].ulValueLen);
  unsigned char peer[32]; FILE *fp = fopen("xpeer_point.bin", "rb"); fread(peer, 1, 32, fp); fclose(fp);
  CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, 32, peer};
  CK_MECHANISM md = {CKM_ECDH1_DERIVE, &dp, sizeof dp};
  CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE gk = CKK_GENERIC_SECRET; CK_ULONG vl = 32;
  CK_ATTRIBUTE st[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl}, {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
  CK_OBJECT_HANDLE sk;
  rv = f->C_DeriveKey(s, &md, priv, st, 6, &sk);
  printf("ECDH1_DERIVE on that key with raw 32-byte X25519 peer: 0x%lx\n", rv);
  if (rv == 0) { unsigned char v[64]; CK_ATTRIBUTE va = {CKA_VALUE, v, 64}; f->C_GetAttributeValue(s, sk, &va, 1); hex("Z", v, va.ulValueLen);
    FILE *fo = fopen("xz_hsm.bin", "wb"); fwrite(v, 1, va.ulValueLen, fo); fclose(fo);
    fo = fopen("xhsm_point.bin", "wb"); fwrite(pt + 2, 1, 32, fo); fclose(fo); }
  unsigned char derpeer[34] = {0x04, 32}; memcpy(derpeer + 2, peer, 32);
  CK_ECDH1_DERIVE_PARAMS dp2 = {CKD_NULL, 0, NULL, 34, derpeer}; CK_MECHANISM md2 = {CKM_ECDH1_DERIVE, &dp2, sizeof dp2};
  printf("ECDH1_DERIVE with DER-wrapped X25519 peer: 0x%lx\n", f->C_DeriveKey(s, &md2, priv, st, 6, &sk));
  /* import X25519 private as CKK_EC_EDWARDS */
  unsigned char sk32[32]; memset(sk32, 0x11, 32); CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY; CK_KEY_TYPE ek = CKK_EC_EDWARDS;
  CK_ATTRIBUTE it[] = {{CKA_CLASS, &pc, sizeof pc}, {CKA_KEY_TYPE, &ek, sizeof ek}, {CKA_TOKEN, &F, 1}, {CKA_EC_PARAMS, (void *)OID_X25519, 5}, {CKA_VALUE, sk32, 32}, {CKA_DERIVE, &T, 1}, {CKA_SENSITIVE, &T, 1}};
  CK_OBJECT_HANDLE k; rv = f->C_CreateObject(s, it, 7, &k);
  printf("CreateObject X25519 secret as CKK_EC_EDWARDS: 0x%lx\n", rv);
  if (rv == 0) { rv = f->C_DeriveKey(s, &md, k, st, 6, &sk); printf("  derive with imported: 0x%lx\n", rv);
    if (rv == 0) { unsigned char v[64]; CK_ATTRIBUTE va = {CKA_VALUE, v, 64}; f->C_GetAttributeValue(s, sk, &va, 1); hex("Z(imported 0x11..)", v, va.ulValueLen); } }
  /* wrong pin / lock behaviour on a fresh session */
  f->C_Logout(s);
  for (int i = 0; i < 12; i++) { rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"0000", 4); if (i < 2 || i > 9) printf("wrong PIN attempt %d: 0x%lx\n", i + 1, rv); }
  CK_TOKEN_INFO ti; f->C_GetTokenInfo(slot, &ti); printf("token flags after 12 wrong PINs: 0x%lx (locked %d, final try %d, count low %d)\n", ti.flags, !!(ti.flags & CKF_USER_PIN_LOCKED), !!(ti.flags & CKF_USER_PIN_FINAL_TRY), !!(ti.flags & CKF_USER_PIN_COUNT_LOW));
  printf("right PIN after that: 0x%lx\n", f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4));
  return 0;
}
