/* A minimal Windows host for tests/run/installer.sh: loads anaf_bridge.dll the way an ERP
   does (by name, so Windows finds the installed copy in System32), runs
   anaf_diagnose_config and prints the report. Exit code: 0 when the report was made. */
#include <stdio.h>
#include <windows.h>
#include "anaf_bridge.h"

typedef int32_t (*diag_fn)(const char *, char **);
typedef void (*free_fn)(char *);

int main(int argc, char **argv) {
    HMODULE m = LoadLibraryA("anaf_bridge.dll");
    if (!m) {
        printf("LOAD_ERROR %lu\n", GetLastError());
        return 2;
    }
    char path[MAX_PATH];
    GetModuleFileNameA(m, path, MAX_PATH);
    printf("LOADED_FROM %s\n", path);
    diag_fn diag = (diag_fn)GetProcAddress(m, "anaf_diagnose_config");
    free_fn fr = (free_fn)GetProcAddress(m, "anaf_free");
    if (!diag || !fr) {
        printf("NO_EXPORT\n");
        return 3;
    }
    char *json = NULL;
    int32_t rc = diag(argc > 1 ? argv[1] : "{}", &json);
    printf("RC %d\nREPORT %s\n", rc, json ? json : "");
    fr(json);
    return rc == 0 ? 0 : 4;
}
