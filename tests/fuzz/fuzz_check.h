/* The one assertion the fuzz bodies use: a broken invariant aborts, which libFuzzer reports as
   a crash with the input that caused it (and tests/test_fuzz_replay.c as a failed test run). */
#ifndef RF_FUZZ_CHECK_H
#define RF_FUZZ_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define rff_check(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)
#endif
