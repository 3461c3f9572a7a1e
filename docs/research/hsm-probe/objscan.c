#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
int main(void) { CK_FUNCTION_LIST_PTR f; void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW); ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  f->C_Initialize(NULL); CK_SLOT_ID sl[32], slot = 0; CK_ULONG n = 32; f->C_GetSlotList(1, sl, &n);
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; f->C_GetTokenInfo(sl[i], &ti); if (!memcmp(ti.label, "veilgate-test ", 14)) slot = sl[i]; }
  CK_SESSION_HANDLE s; f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s); f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4);
  const char *label = "late-object"; CK_ATTRIBUTE q[] = {{CKA_LABEL, (void *)label, strlen(label)}}; CK_OBJECT_HANDLE o[4]; CK_ULONG m;
  f->C_FindObjectsInit(s, q, 1); f->C_FindObjects(s, o, 4, &m); f->C_FindObjectsFinal(s); printf("before: %lu objects labelled late-object\n", m);
  system("pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label veilgate-test --login --pin 1234 --keypairgen --key-type EC:prime256v1 --label late-object >/dev/null 2>&1");
  f->C_FindObjectsInit(s, q, 1); f->C_FindObjects(s, o, 4, &m); f->C_FindObjectsFinal(s); printf("after another process made it: %lu objects\n", m); return 0; }
