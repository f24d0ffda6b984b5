/*
 * Test-only stand-in for bcryptprimitives.dll under Wine 8, which lacks it. Rust's std
 * imports ProcessPrng from it for random numbers; Windows 10+ has the real DLL, so this
 * file is never shipped. Built by scripts/dist.sh into target/wine-shim/<arch>/.
 */
#include <windows.h>

/* RtlGenRandom, exported by advapi32 as SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
