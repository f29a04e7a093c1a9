/* libFuzzer entry point for the chat target (tests/fuzz/fuzz_chat.h has the body).
   Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "fuzz_chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rf_fuzz_chat(data, size);
    return 0;
}
