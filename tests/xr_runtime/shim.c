/*
 * Loader-facing shim of the test OpenXR runtime.
 *
 * The OpenXR loader dlopen()s this library (named by the manifest that
 * XR_RUNTIME_JSON points at) and negotiates through
 * xrNegotiateLoaderRuntimeInterface.  Every function lookup is forwarded to a
 * handler installed from Python with shim_set_handler().  Lookups that the
 * handler cannot serve get a stub that returns XR_ERROR_FUNCTION_UNSUPPORTED,
 * so the loader never receives a NULL function pointer.
 */
#include <stddef.h>
#include <stdint.h>

typedef int32_t XrResult;
typedef uint64_t XrVersion;
typedef struct XrInstance_T *XrInstance;
typedef void (*PFN_xrVoidFunction)(void);
typedef XrResult (*PFN_xrGetInstanceProcAddr)(XrInstance, const char *, PFN_xrVoidFunction *);

#define XR_SUCCESS 0
#define XR_ERROR_VALIDATION_FAILURE (-1)
#define XR_ERROR_INITIALIZATION_FAILED (-6)
#define XR_ERROR_FUNCTION_UNSUPPORTED (-7)
#define XR_LOADER_INTERFACE_STRUCT_LOADER_INFO 1
#define XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST 3
#define XR_LOADER_INFO_STRUCT_VERSION 1
#define XR_RUNTIME_INFO_STRUCT_VERSION 1
#define XR_CURRENT_LOADER_RUNTIME_VERSION 1
#define SHIM_MAKE_VERSION(major, minor, patch) \
    ((((uint64_t)(major) & 0xffffULL) << 48) | (((uint64_t)(minor) & 0xffffULL) << 32) | ((uint64_t)(patch) & 0xffffffffULL))

typedef struct {
    int structType;
    uint32_t structVersion;
    size_t structSize;
    uint32_t minInterfaceVersion;
    uint32_t maxInterfaceVersion;
    XrVersion minApiVersion;
    XrVersion maxApiVersion;
} XrNegotiateLoaderInfo;

typedef struct {
    int structType;
    uint32_t structVersion;
    size_t structSize;
    uint32_t runtimeInterfaceVersion;
    XrVersion runtimeApiVersion;
    PFN_xrGetInstanceProcAddr getInstanceProcAddr;
} XrNegotiateRuntimeRequest;

static PFN_xrGetInstanceProcAddr handler = NULL;

static XrResult unsupported(void) { return XR_ERROR_FUNCTION_UNSUPPORTED; }

static XrResult shim_get_instance_proc_addr(XrInstance instance, const char *name, PFN_xrVoidFunction *function) {
    if (function == NULL || name == NULL) {
        return XR_ERROR_VALIDATION_FAILURE;
    }
    if (handler != NULL) {
        PFN_xrVoidFunction found = NULL;
        XrResult result = handler(instance, name, &found);
        if (result == XR_SUCCESS && found != NULL) {
            *function = found;
            return XR_SUCCESS;
        }
    }
    *function = (PFN_xrVoidFunction)unsupported;
    return XR_ERROR_FUNCTION_UNSUPPORTED;
}

/* Install (or clear, with NULL) the Python function-lookup handler. */
void shim_set_handler(PFN_xrGetInstanceProcAddr new_handler) { handler = new_handler; }

XrResult xrNegotiateLoaderRuntimeInterface(const XrNegotiateLoaderInfo *loader_info,
                                           XrNegotiateRuntimeRequest *runtime_request) {
    if (loader_info == NULL || runtime_request == NULL) {
        return XR_ERROR_INITIALIZATION_FAILED;
    }
    if (loader_info->structType != XR_LOADER_INTERFACE_STRUCT_LOADER_INFO ||
        loader_info->structVersion != XR_LOADER_INFO_STRUCT_VERSION ||
        loader_info->structSize != sizeof(XrNegotiateLoaderInfo)) {
        return XR_ERROR_INITIALIZATION_FAILED;
    }
    if (runtime_request->structType != XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST ||
        runtime_request->structVersion != XR_RUNTIME_INFO_STRUCT_VERSION ||
        runtime_request->structSize != sizeof(XrNegotiateRuntimeRequest)) {
        return XR_ERROR_INITIALIZATION_FAILED;
    }
    if (loader_info->minInterfaceVersion > XR_CURRENT_LOADER_RUNTIME_VERSION ||
        loader_info->maxInterfaceVersion < XR_CURRENT_LOADER_RUNTIME_VERSION) {
        return XR_ERROR_INITIALIZATION_FAILED;
    }
    XrVersion api_version = SHIM_MAKE_VERSION(1, 0, 0);
    if (loader_info->maxApiVersion < api_version || loader_info->minApiVersion > api_version) {
        api_version = loader_info->maxApiVersion;
    }
    runtime_request->runtimeInterfaceVersion = XR_CURRENT_LOADER_RUNTIME_VERSION;
    runtime_request->runtimeApiVersion = api_version;
    runtime_request->getInstanceProcAddr = shim_get_instance_proc_addr;
    return XR_SUCCESS;
}
