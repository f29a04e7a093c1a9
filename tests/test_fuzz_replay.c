/* Replays the fuzz corpora through the fuzz target bodies, so every seed and every input that
   once crashed (tests/fuzz/regress/NAME/) is checked by `make test` and `make asan` without
   clang's libFuzzer. A target aborts on a broken invariant and ASan reports bad reads, so a
   regression fails this program. It is its own implementation TU, with the server compiled in
   (ROCMFORGE_HTTP), because fuzz_http.h calls the static HTTP parser and request validation. */
#define _POSIX_C_SOURCE 200809L
#define ROCMFORGE_IMPLEMENTATION
#define ROCMFORGE_HTTP
#include "rocmforge.h"
#include "rf_test.h"
#include <dirent.h>
#include "fuzz/fuzz_gguf.h"
#include "fuzz/fuzz_token.h"
#include "fuzz/fuzz_chat.h"
#include "fuzz/fuzz_json.h"
#include "fuzz/fuzz_http.h"

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        *n = (size_t)len;
    }
    fclose(f);
    return buf;
}

/* Runs fn over every file in dir; the number of files, or -1 when the folder is missing. */
static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    char path[1024];
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        unsigned char *buf;
        size_t n = 0;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(buf = read_all(path, &n))) continue;
        fn(buf, n);
        free(buf);
        count++;
    }
    closedir(d);
    return count;
}

static void replay(const char *name, int (*fn)(const uint8_t *, size_t)) {
    char dir[256];
    int seeds, regress;
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    seeds = replay_dir(dir, fn);
    snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", name);
    regress = replay_dir(dir, fn);
    CHECKF(seeds > 0, "no seed corpus in tests/fuzz/corpus/%s (run from the repository root)", name);
    printf("  %s: %d seeds, %d regression inputs replayed\n", name, seeds, regress < 0 ? 0 : regress);
}

static void fuzz_replay_gguf(void) { replay("gguf", rf_fuzz_gguf); }
static void fuzz_replay_token(void) {
    if (rff_token_init() == 0) SKIP("no vocab could be loaded or written");
    replay("token", rf_fuzz_token);
}
static void fuzz_replay_chat(void) { replay("chat", rf_fuzz_chat); }
static void fuzz_replay_json(void) { replay("json", rf_fuzz_json); }
static void fuzz_replay_http(void) {
    if (!rff_http_init()) SKIP("the synthetic model could not be written or loaded");
    replay("http", rf_fuzz_http);
}

/* The bytes of the first gguf finding, kept here too so the fix is pinned even if the corpus
   folder moves: a tensor offset near 2^64 once made base + offset wrap (UB) before the
   placement check refused it. */
static void fuzz_regress_offset_wraps(void) {
    size_t n = 0;
    unsigned char *buf = read_all("tests/fuzz/regress/gguf/offset_wraps_pointer.gguf", &n);
    rf_gguf *g = NULL;
    REQUIRE(buf != NULL);
    CHECK(rf_gguf_open_memory(buf, n, &g) != RF_OK);
    CHECK(g == NULL);
    rf_gguf_close(g);
    free(buf);
}

/* A token_type array of floats with a NaN: the range check let NaN through and the cast to
   uint8_t was UB (found by UBSan on a crafted file, the kind fuzz_gguf feeds the tokenizer). */
static void fuzz_regress_token_type_nan(void) {
    size_t n = 0;
    unsigned char *buf = read_all("tests/fuzz/regress/gguf/token_type_nan.gguf", &n);
    rf_gguf *g = NULL;
    rf_tokenizer *t = NULL;
    REQUIRE(buf != NULL);
    REQUIRE(rf_gguf_open_memory(buf, n, &g) == RF_OK);
    CHECK(rf_tokenizer_load(g, &t) == RF_ERR_BAD_TYPE);
    CHECK(t == NULL);
    rf_tokenizer_free(t);
    rf_gguf_close(g);
    free(buf);
}

int main(void) {
    RUN(fuzz_replay_gguf);
    RUN(fuzz_replay_token);
    RUN(fuzz_replay_chat);
    RUN(fuzz_replay_json);
    RUN(fuzz_replay_http);
    RUN(fuzz_regress_offset_wraps);
    RUN(fuzz_regress_token_type_nan);
    rff_token_fini();
    rff_http_fini();
    return TEST_EXIT();
}
