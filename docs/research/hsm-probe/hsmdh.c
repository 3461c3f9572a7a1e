/* usage: hsmdh <p256|x25519> <skRm hex> <pkEm hex> : imports skRm (non-extractable), derives Z via CKM_ECDH1_DERIVE/CKD_NULL, prints Z hex */
#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
static int unhex(const char *h, unsigned char *o) { int n = strlen(h) / 2; for (int i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &o[i]); return n; }
int main(int argc, char **argv) {
  CK_FUNCTION_LIST_PTR f; void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW); ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  f->C_Initialize(NULL); CK_SLOT_ID sl[16], slot = 0; CK_ULONG n = 16; f->C_GetSlotList(1, sl, &n);
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; f->C_GetTokenInfo(sl[i], &ti); if (!memcmp(ti.label, "veilgate-test ", 14)) slot = sl[i]; }
  CK_SESSION_HANDLE s; f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s); f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4);
  int p256 = !strcmp(argv[1], "p256");
  static const unsigned char OID_P256[] = {0x06,0x08,0x2a,0x86,0x48,0xce,0x3d,0x03,0x01,0x07}, OID_X25519[] = {0x06,0x03,0x2b,0x65,0x6e};
  unsigned char sk[32], pk[65]; unhex(argv[2], sk); int pkl = unhex(argv[3], pk);
  CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY; CK_KEY_TYPE kt = p256 ? CKK_EC : CKK_EC_EDWARDS; CK_BBOOL T = 1, F = 0;
  CK_ATTRIBUTE t[] = {{CKA_CLASS, &pc, sizeof pc}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_TOKEN, &F, 1},
    {CKA_EC_PARAMS, (void *)(p256 ? OID_P256 : OID_X25519), p256 ? 10 : 5}, {CKA_VALUE, sk, 32}, {CKA_DERIVE, &T, 1}, {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}};
  CK_OBJECT_HANDLE k; CK_RV rv = f->C_CreateObject(s, t, 8, &k); if (rv) { printf("create 0x%lx\n", rv); return 1; }
  CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, pkl, pk}; CK_MECHANISM md = {CKM_ECDH1_DERIVE, &dp, sizeof dp};
  CK_OBJECT_CLASS sc = CKO_SECRET_KEY; CK_KEY_TYPE gk = CKK_GENERIC_SECRET; CK_ULONG vl = 32;
  CK_ATTRIBUTE st[] = {{CKA_CLASS, &sc, sizeof sc}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_VALUE_LEN, &vl, sizeof vl}, {CKA_TOKEN, &F, 1}, {CKA_SENSITIVE, &F, 1}, {CKA_EXTRACTABLE, &T, 1}};
  CK_OBJECT_HANDLE z; rv = f->C_DeriveKey(s, &md, k, st, 6, &z); if (rv) { printf("derive 0x%lx\n", rv); return 1; }
  unsigned char v[32]; CK_ATTRIBUTE va = {CKA_VALUE, v, 32}; f->C_GetAttributeValue(s, z, &va, 1);
  for (int i = 0; i < 32; i++) printf("%02x", v[i]); printf("\n"); return 0; }
