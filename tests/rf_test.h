/* A very small test harness. Each test program runs its tests with RUN(fn) and prints one line
   per test, which tests/run.sh counts:
       ok NAME
       FAIL NAME: file:line: what went wrong
       skip NAME: why
   CHECK records a failure and goes on; REQUIRE returns from the test. */
#ifndef RF_TEST_H
#define RF_TEST_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rft_failures_;      /* failures in the current test */
static int rft_any_failed_;    /* any test failed: the exit code */
static char rft_skip_[256];    /* set by SKIP */

#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (rft_failures_++ < 5) {                                         \
                printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
                printf(__VA_ARGS__);                                           \
                printf("\n");                                                  \
            }                                                                  \
        }                                                                      \
    } while (0)
#define CHECK(cond) CHECKF(cond, "%s", "")
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        int rft_ok_ = (cond) ? 1 : 0; /* evaluated once */                     \
        CHECKF(rft_ok_, "%s", #cond);                                          \
        if (!rft_ok_) return;                                                  \
    } while (0)
/* A skip reason, cut to the buffer if long (through vsnprintf: no truncation warning). */
static inline void rft_set_skip_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rft_skip_, sizeof rft_skip_, fmt, ap);
    va_end(ap);
}
#define SKIP(...)                                                              \
    do {                                                                       \
        rft_set_skip_(__VA_ARGS__);                                            \
        return;                                                                \
    } while (0)

#define RUN(fn) rft_run_(#fn, fn)
static void rft_run_(const char *name, void (*fn)(void)) {
    rft_failures_ = 0;
    rft_skip_[0] = 0;
    fn();
    if (rft_failures_) {
        printf("FAIL %s: %d check(s) failed\n", name, rft_failures_);
        rft_any_failed_ = 1;
    } else if (rft_skip_[0]) {
        printf("skip %s: %s\n", name, rft_skip_);
    } else {
        printf("ok %s\n", name);
    }
    fflush(stdout);
}
#define TEST_EXIT() (rft_any_failed_ ? 1 : 0)

/* The shared/ folder beside the repository (real models and llama.cpp references), or NULL. */
static inline const char *rft_shared_dir(void) {
    static const char *cands[] = {"../shared", "../../shared", NULL};
    const char *env = getenv("RF_SHARED");
    FILE *f;
    char p[512];
    int i;
    if (env && *env) return env;
    for (i = 0; cands[i]; i++) {
        snprintf(p, sizeof p, "%s/models/stories260K.gguf", cands[i]);
        if ((f = fopen(p, "rb")) != NULL) {
            fclose(f);
            return cands[i];
        }
    }
    return NULL;
}
#endif
