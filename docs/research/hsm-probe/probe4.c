#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
static CK_FUNCTION_LIST_PTR f; static CK_BBOOL T = 1, F = 0;
static void hex(const char *l, const unsigned char *p, CK_ULONG n) { printf("  %s (%lu): ", l, n); for (CK_ULONG i = 0; i < n; i++) printf("%02x", p[i]); printf("\n"); }
static void attrs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, const char *what) {
  CK_BBOOL ext = 9, sens = 9, never = 9, always = 9, local = 9, tok = 9;
  CK_ATTRIBUTE a[] = {{CKA_EXTRACTABLE, &ext, 1}, {CKA_SENSITIVE, &sens, 1}, {CKA_NEVER_EXTRACTABLE, &never, 1}, {CKA_ALWAYS_SENSITIVE, &always, 1}, {CKA_LOCAL, &local, 1}, {CKA_TOKEN, &tok, 1}};
  CK_RV rv = f->C_GetAttributeValue(s, k, a, 6);
  printf("%s: rv 0x%lx extractable=%d sensitive=%d never_extractable=%d always_sensitive=%d local=%d token=%d\n", what, rv, ext, sens, never, always, local, tok); }
int main(void) {
  void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW); ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  f->C_Initialize(NULL); CK_SLOT_ID sl[16], slot = 0; CK_ULONG n = 16; f->C_GetSlotList(1, sl, &n);
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; f->C_GetTokenInfo(sl[i], &ti); if (!memcmp(ti.label, "veilgate-test ", 14)) slot = sl[i]; }
  CK_SESSION_HANDLE s; f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s); f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4);
  /* import P-256 private scalar d = 0xc9afa9d8...(RFC 6979 A.2.5 key) */
  unsigned char d[32]; const char *dh = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
  for (int i = 0; i < 32; i++) sscanf(dh + 2 * i, "%2hhx", &d[i]);
  static const unsigned char OID_P256[] = {0x06,0x08,0x2a,0x86,0x48,0xce,0x3d,0x03,0x01,0x07};
  CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY; CK_KEY_TYPE kt = CKK_EC; const char *label = "vg-kem-imported";
  CK_ATTRIBUTE t[] = {{CKA_CLASS, &pc, sizeof pc}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_TOKEN, &T, 1}, {CKA_PRIVATE, &T, 1},
    {CKA_EC_PARAMS, (void *)OID_P256, sizeof OID_P256}, {CKA_VALUE, d, 32}, {CKA_DERIVE, &T, 1},
    {CKA_SENSITIVE, &T, 1}, {CKA_EXTRACTABLE, &F, 1}, {CKA_LABEL, (void *)label, strlen(label)}};
  CK_OBJECT_HANDLE k; CK_RV rv = f->C_CreateObject(s, t, 10, &k); printf("CreateObject P-256 private (sensitive, non-extractable): 0x%lx\n", rv);
  attrs(s, k, "imported P-256 KEM key");
  CK_OBJECT_HANDLE found[8]; CK_ULONG nf = 0; CK_ATTRIBUTE q[] = {{CKA_LABEL, (void *)"vg-kem-p256", 11}, {CKA_CLASS, &pc, sizeof pc}};
  f->C_FindObjectsInit(s, q, 2); f->C_FindObjects(s, found, 8, &nf); f->C_FindObjectsFinal(s);
  if (nf) attrs(s, found[0], "generated P-256 KEM key (pkcs11-tool)");
  /* duplicate labels: create a second object with the same label -> find returns 2 */
  rv = f->C_CreateObject(s, t, 10, &k); nf = 0; CK_ATTRIBUTE q2[] = {{CKA_LABEL, (void *)label, strlen(label)}, {CKA_CLASS, &pc, sizeof pc}};
  f->C_FindObjectsInit(s, q2, 2); f->C_FindObjects(s, found, 8, &nf); f->C_FindObjectsFinal(s);
  printf("same label created twice: CreateObject 0x%lx, FindObjects by label returns %lu objects (the store must refuse an ambiguous label)\n", rv, nf);
  for (CK_ULONG i = 0; i < nf; i++) f->C_DestroyObject(s, found[i]);
  /* a read-only session cannot create token objects */
  CK_SESSION_HANDLE ro; f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
  rv = f->C_CreateObject(ro, t, 10, &k); printf("CreateObject token object in a read-only session: 0x%lx (0xb5 = CKR_SESSION_READ_ONLY)\n", rv);
  return 0; }
