#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
#include <p11-kit/pkcs11.h>
static CK_FUNCTION_LIST_PTR f; static CK_SLOT_ID slot; static CK_BBOOL T = 1, F = 0;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_CLASS c) {
  CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)}, {CKA_CLASS, &c, sizeof c}}; CK_OBJECT_HANDLE o[4]; CK_ULONG n = 0;
  f->C_FindObjectsInit(s, t, 2); f->C_FindObjects(s, o, 4, &n); f->C_FindObjectsFinal(s); return n == 1 ? o[0] : 0; }
static void *worker(void *arg) {
  int N = *(int *)arg; CK_SESSION_HANDLE s; f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
  CK_OBJECT_HANDLE k = find(s, "vg-sign-ed", CKO_PRIVATE_KEY); unsigned char sig[64]; CK_ULONG sl; CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
  unsigned char msg[600]; memset(msg, 1, sizeof msg);
  for (int i = 0; i < N; i++) { sl = 64; f->C_SignInit(s, &m, k); f->C_Sign(s, msg, sizeof msg, sig, &sl); }
  f->C_CloseSession(s); return NULL; }
int main(void) {
  void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW); ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  CK_C_INITIALIZE_ARGS ia = {0}; ia.flags = CKF_OS_LOCKING_OK; f->C_Initialize(&ia);
  CK_SLOT_ID sl[16]; CK_ULONG n = 16; f->C_GetSlotList(1, sl, &n);
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; f->C_GetTokenInfo(sl[i], &ti); if (!memcmp(ti.label, "veilgate-test ", 14)) slot = sl[i]; }
  CK_SESSION_HANDLE s; f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
  f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4); /* login is per token: every session of the app is logged in */
  CK_OBJECT_HANDLE k = find(s, "vg-sign-ed", CKO_PRIVATE_KEY);
  CK_KEY_TYPE kt = 99; CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt}; f->C_GetAttributeValue(s, k, &a, 1); printf("vg-sign-ed key type 0x%lx\n", kt);
  CK_OBJECT_HANDLE ek = find(s, "vg-kem-p256", CKO_PRIVATE_KEY); printf("find by label vg-kem-p256: %s\n", ek ? "found" : "missing");
  for (int threads = 1; threads <= 2; threads++) {
    int N = 1000; pthread_t th[2]; double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, worker, &N);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double dt = now() - t0; printf("%d thread(s), one session each: %.0f Ed25519 signs/s (600-byte message)\n", threads, threads * N / dt);
  }
  /* X25519 derive timing on an X25519 key generated via EC_EDWARDS + OID 1.3.101.110 */
  static const unsigned char OID_X25519[] = {0x06,0x03,0x2b,0x65,0x6e};
  CK_MECHANISM gen = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
  CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &F, 1}, {CKA_EC_PARAMS, (void *)OID_X25519, 5}};
  CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}, {CKA_DERIVE, &T, 1}};
  CK_OBJECT_HANDLE pub, priv; f->C_GenerateKeyPair(s, &gen, pubt, 2, privt, 4, &pub, &priv);
  CK_KEY_TYPE xt = 99; CK_ATTRIBUTE xa = {CKA_KEY_TYPE, &xt, sizeof xt}; f->C_GetAttributeValue(s, priv, &xa, 1); printf("X25519 private key type 0x%lx (0x40 = CKK_EC_EDWARDS)\n", xt);
  unsigned char peer[32]; FILE *fp = fopen("xpeer_point.bin", "rb"); fread(peer, 1, 32, fp); fclose(fp);
  CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, 32, peer}; CK_MECHANISM md = {CKM_ECDH1_DERIVE, &dp, sizeof dp};
  CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE gk = CKK_GENERIC_SECRET; CK_ULONG vl = 32;
  CK_ATTRIBUTE st[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl}, {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
  double t0 = now(); int N = 500; CK_OBJECT_HANDLE sk; unsigned char v[32];
  for (int i = 0; i < N; i++) { f->C_DeriveKey(s, &md, priv, st, 6, &sk); CK_ATTRIBUTE b = {CKA_VALUE, v, 32}; f->C_GetAttributeValue(s, sk, &b, 1); f->C_DestroyObject(s, sk); }
  printf("X25519 derive+read+destroy: %.1f us/op\n", (now() - t0) / N * 1e6);
  /* small-order X25519 point (all zeros) */
  unsigned char zero[32] = {0}; CK_ECDH1_DERIVE_PARAMS dz = {CKD_NULL, 0, NULL, 32, zero}; CK_MECHANISM mz = {CKM_ECDH1_DERIVE, &dz, sizeof dz};
  CK_RV rv = f->C_DeriveKey(s, &mz, priv, st, 6, &sk); printf("X25519 derive with the all-zero point: 0x%lx\n", rv);
  if (rv == 0) { CK_ATTRIBUTE b = {CKA_VALUE, v, 32}; f->C_GetAttributeValue(s, sk, &b, 1); printf("  Z[0..4] = %02x%02x%02x%02x (all-zero Z must be refused by the caller, as RFC 9180 DHKEM does)\n", v[0], v[1], v[2], v[3]); }
  return 0; }
