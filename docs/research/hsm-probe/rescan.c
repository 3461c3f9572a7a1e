#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
static void list(CK_FUNCTION_LIST_PTR f, const char *when) { CK_SLOT_ID sl[32]; CK_ULONG n = 32; f->C_GetSlotList(1, sl, &n); printf("%s:", when);
  for (CK_ULONG i = 0; i < n; i++) { CK_TOKEN_INFO ti; if (f->C_GetTokenInfo(sl[i], &ti) == 0 && (ti.flags & CKF_TOKEN_INITIALIZED)) printf(" [%.12s]", ti.label); } printf("\n"); }
int main(void) { CK_FUNCTION_LIST_PTR f; void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW); ((CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList"))(&f);
  f->C_Initialize(NULL); list(f, "after C_Initialize");
  system("softhsm2-util --init-token --free --label late-token --so-pin 87654321 --pin 1234 >/dev/null");
  list(f, "after another process created `late-token`");
  f->C_Finalize(NULL); f->C_Initialize(NULL); list(f, "after C_Finalize + C_Initialize"); return 0; }
