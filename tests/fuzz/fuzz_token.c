/* libFuzzer entry point for the token target (tests/fuzz/fuzz_token.h has the body).
   Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "fuzz_token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (rff_token_init() == 0) {
        fprintf(stderr, "fuzz_token: no vocab could be loaded or written\n");
        abort();
    }
    fprintf(stderr, "fuzz_token: %d vocabs, first '%s'\n", rff_n_vocabs, rff_vocab_name[0]);
    atexit(rff_token_fini);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rf_fuzz_token(data, size);
    return 0;
}
