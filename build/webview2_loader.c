/*
 * The WebView2 loader of anaf_bridge.dll, so the DLL ships as one file.
 *
 * webview2-com-sys imports four functions from WebView2Loader.dll, a file most ERP
 * installations do not have. This archive provides the same four functions inside the
 * DLL: in the runtime folder it is given, it loads EmbeddedBrowserWebView.dll and
 * hands the environment request to CreateWebViewEnvironmentWithOptionsInternal, which
 * is what Microsoft's loader does too.
 *
 * Which runtime folder to use is decided in Rust (src/platform/webview2_lookup.rs: the
 * WEBVIEW2_BROWSER_EXECUTABLE_FOLDER variable, the BrowserExecutableFolder policy, the
 * config's webview2_folder, the EdgeUpdate keys of each release channel, each folder
 * checked by one rule), which calls anaf_webview2_create below with the chosen folder. The four standard functions take only an explicit folder: this
 * loader looks nothing up by itself, so nothing reaches LoadLibrary unchecked.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <objbase.h>
#include <wchar.h>

#define PATH_CHARS 1024

#if defined(_WIN64)
#define CLIENT_DLL L"\\EBWebView\\x64\\EmbeddedBrowserWebView.dll"
#else
#define CLIENT_DLL L"\\EBWebView\\x86\\EmbeddedBrowserWebView.dll"
#endif

/* The runtime's entry point: (check running instance, runtime type, user data folder,
 * options, completed handler). Runtime type 0 = installed Evergreen, 1 = fixed version. */
typedef HRESULT(STDMETHODCALLTYPE *create_internal_fn)(BOOL, int, PCWSTR, IUnknown *, IUnknown *);

/* A runtime found on this machine: its folder, the client DLL inside it, its version. */
typedef struct {
    WCHAR folder[PATH_CHARS];
    WCHAR dll[PATH_CHARS];
    WCHAR version[64];
    int fixed;
} runtime_t;

static int file_exists(const WCHAR *path) {
    DWORD a = GetFileAttributesW(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/* Copies folder + CLIENT_DLL into rt and checks that the DLL is there. */
static int take_folder(runtime_t *rt, const WCHAR *folder, int fixed) {
    size_t n = wcslen(folder);
    while (n > 0 && (folder[n - 1] == L'\\' || folder[n - 1] == L'/'))
        n--;
    if (n == 0 || n + wcslen(CLIENT_DLL) + 1 >= PATH_CHARS)
        return 0;
    wmemcpy(rt->folder, folder, n);
    rt->folder[n] = 0;
    wcscpy(rt->dll, rt->folder);
    wcscat(rt->dll, CLIENT_DLL);
    rt->fixed = fixed;
    return file_exists(rt->dll);
}

/* The version: the runtime folder is named after it (…\Application\120.0.2210.91);
 * a fixed-version folder may be named otherwise. */
static void find_version(runtime_t *rt) {
    const WCHAR *last = wcsrchr(rt->folder, L'\\');
    const WCHAR *name = last ? last + 1 : rt->folder;
    int dots = 0, ok = *name != 0;
    const WCHAR *p;
    for (p = name; *p; p++) {
        if (*p == L'.')
            dots++;
        else if (*p < L'0' || *p > L'9')
            ok = 0;
    }
    if (ok && dots == 3 && wcslen(name) < 64) {
        wcscpy(rt->version, name);
        return;
    }
    wcscpy(rt->version, L"0.0.0.0"); /* present but not named by version: still usable */
}

/* The runtime in `folder` (an installed Evergreen one when `fixed` is 0). No folder: none. */
static int find_runtime(PCWSTR folder, int fixed, runtime_t *rt) {
    if (!folder || !folder[0] || !take_folder(rt, folder, fixed))
        return 0;
    find_version(rt);
    return 1;
}

/* Called by anaf-bridge (src/platform.rs) with the folder it chose and checked. */
HRESULT anaf_webview2_create(PCWSTR folder, int fixed, PCWSTR userDataFolder, IUnknown *environmentOptions,
                             IUnknown *environmentCreatedHandler) {
    runtime_t rt;
    HMODULE client;
    create_internal_fn create;
    if (!environmentCreatedHandler)
        return E_POINTER;
    if (!find_runtime(folder, fixed, &rt))
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    /* Its own dependencies from its own folder and System32 only: never the current
     * folder or PATH. */
    client = LoadLibraryExW(rt.dll, NULL, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!client)
        return HRESULT_FROM_WIN32(GetLastError());
    create = (create_internal_fn)(void (*)(void))GetProcAddress(client, "CreateWebViewEnvironmentWithOptionsInternal");
    if (!create) {
        FreeLibrary(client);
        return HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND);
    }
    /* The client DLL stays loaded for the life of the process, as with Microsoft's loader. */
    return create(TRUE, rt.fixed ? 1 : 0, userDataFolder, environmentOptions, environmentCreatedHandler);
}

/* An explicit folder is a fixed-version runtime, as with Microsoft's loader. */
STDAPI CreateCoreWebView2EnvironmentWithOptions(PCWSTR browserExecutableFolder, PCWSTR userDataFolder,
                                                IUnknown *environmentOptions, IUnknown *environmentCreatedHandler) {
    return anaf_webview2_create(browserExecutableFolder, 1, userDataFolder, environmentOptions,
                                environmentCreatedHandler);
}

STDAPI CreateCoreWebView2Environment(IUnknown *environmentCreatedHandler) {
    return CreateCoreWebView2EnvironmentWithOptions(NULL, NULL, NULL, environmentCreatedHandler);
}

/* CoTaskMemAlloc, looked up at run time: the archive is linked after ole32's import
 * library on some targets (i686), so a static reference would stay unresolved. */
typedef LPVOID(WINAPI *co_task_mem_alloc_fn)(SIZE_T);

static LPVOID com_alloc(SIZE_T bytes) {
    HMODULE ole32 = LoadLibraryExW(L"ole32.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    co_task_mem_alloc_fn alloc =
        ole32 ? (co_task_mem_alloc_fn)(void (*)(void))GetProcAddress(ole32, "CoTaskMemAlloc") : NULL;
    return alloc ? alloc(bytes) : NULL;
}

/* The caller frees the string with CoTaskMemFree, so it must come from CoTaskMemAlloc. */
STDAPI GetAvailableCoreWebView2BrowserVersionString(PCWSTR browserExecutableFolder, LPWSTR *versionInfo) {
    runtime_t rt;
    size_t bytes;
    if (!versionInfo)
        return E_POINTER;
    *versionInfo = NULL;
    if (!find_runtime(browserExecutableFolder, 1, &rt))
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    bytes = (wcslen(rt.version) + 1) * sizeof(WCHAR);
    *versionInfo = (LPWSTR)com_alloc(bytes);
    if (!*versionInfo)
        return E_OUTOFMEMORY;
    memcpy(*versionInfo, rt.version, bytes);
    return S_OK;
}

STDAPI GetAvailableCoreWebView2BrowserVersionStringWithOptions(PCWSTR browserExecutableFolder,
                                                               IUnknown *environmentOptions, LPWSTR *versionInfo) {
    (void)environmentOptions;
    return GetAvailableCoreWebView2BrowserVersionString(browserExecutableFolder, versionInfo);
}

/* Compares dotted versions part by part: -1, 0 or 1 in *result. */
STDAPI CompareBrowserVersions(PCWSTR version1, PCWSTR version2, int *result) {
    const WCHAR *a = version1, *b = version2;
    int i;
    if (!a || !b || !result)
        return E_INVALIDARG;
    *result = 0;
    for (i = 0; i < 4; i++) {
        unsigned long x = wcstoul(a, (WCHAR **)&a, 10);
        unsigned long y = wcstoul(b, (WCHAR **)&b, 10);
        if (x != y) {
            *result = x < y ? -1 : 1;
            return S_OK;
        }
        if (*a == L'.')
            a++;
        if (*b == L'.')
            b++;
    }
    return S_OK;
}
