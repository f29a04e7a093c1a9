/* libFuzzer entry point for the gguf target (tests/fuzz/fuzz_gguf.h has the body).
   Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "fuzz_gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rf_fuzz_gguf(data, size);
    return 0;
}
