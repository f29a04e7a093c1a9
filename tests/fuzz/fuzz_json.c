/* libFuzzer entry point for the json target (tests/fuzz/fuzz_json.h has the body).
   Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rf_fuzz_json(data, size);
    return 0;
}
