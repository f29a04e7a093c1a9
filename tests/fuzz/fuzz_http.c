/* libFuzzer entry point for the http target (tests/fuzz/fuzz_http.h has the body). The parser
   and the request validation are static, so this TU holds the implementation with the server.
   Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#define ROCMFORGE_IMPLEMENTATION
#define ROCMFORGE_HTTP
#include "rocmforge.h"
#include "fuzz_http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (!rff_http_init()) {
        fprintf(stderr, "fuzz_http: the synthetic model could not be written or loaded\n");
        abort();
    }
    atexit(rff_http_fini);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rf_fuzz_http(data, size);
    return 0;
}
