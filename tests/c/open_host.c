/* A host for tests/run/c_api.sh: opens a client with the configuration JSON of argv[1]
   (the DLL creates and migrates its database), runs anaf_diagnose on it, prints the
   report and closes. Exit code: 0 when both calls succeeded. */
#include <stdio.h>
#include "anaf_bridge.h"

int main(int argc, char **argv) {
    AnafClient *client = NULL;
    char *json = NULL;
    int32_t rc = argc > 1 ? anaf_open(argv[1], &client) : ANAF_ERR_NULL_POINTER;
    if (rc != ANAF_OK) {
        printf("OPEN %s: %s\n", anaf_status_name(rc), anaf_last_error());
        return 1;
    }
    rc = anaf_diagnose(client, &json);
    printf("REPORT %s\n", json ? json : "");
    anaf_free(json);
    anaf_close(client);
    return rc < 0 ? 2 : 0;
}
