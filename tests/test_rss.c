/* Load, generate and unload a model 100 times: the resident set must not grow. RSS is read from
   /proc/self/statm (Linux). Ten warm-up cycles let malloc's arenas and the page cache settle;
   over the next 90 cycles RSS may grow by at most 256 KiB, so a leak of 3 KB or more per cycle
   (one tokenizer, context, KV cache or sampler is far bigger) fails the test. Under AddressSanitizer
   freed memory sits in a quarantine and RSS is meaningless: the cycles still run, and
   LeakSanitizer checks every one of them at exit instead. */
#include "rocmforge.h"
#include "rf_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define RSS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_UNDER_ASAN 1
#endif
#endif
#ifndef RSS_UNDER_ASAN
#define RSS_UNDER_ASAN 0
#endif

#define RSS_CYCLES 100
#define RSS_WARMUP 10
#define RSS_BOUND_KIB 256

static long rss_kib(void) {
    long pages = -1, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * 4; /* 4 KiB pages on x86-64 and arm64 Linux */
}

static int count_text(void *user, const char *text, size_t len) {
    (void)text;
    *(size_t *)user += len;
    return 0;
}

static rf_status cycle(const char *path, size_t *text_len) {
    rf_model *m = NULL;
    rf_ctx *c = NULL;
    rf_sampler *s = NULL;
    rf_ctx_params cp;
    rf_sampler_params sp = rf_sampler_default_params();
    rf_gen_params gp;
    rf_status st;
    static const char prompt[] = "Once upon a time, there was";
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = 128;
    cp.n_threads = 2;
    memset(&gp, 0, sizeof gp);
    gp.max_tokens = 16;
    gp.on_piece = count_text;
    gp.user = text_len;
    if ((st = rf_model_load(path, NULL, &m)) != RF_OK) return st;
    if ((st = rf_ctx_new(m, &cp, &c)) == RF_OK && (st = rf_sampler_new(&sp, rf_model_n_vocab(m), &s)) == RF_OK)
        st = rf_generate(c, s, prompt, sizeof prompt - 1, &gp, NULL);
    rf_sampler_free(s);
    rf_ctx_free(c);
    rf_model_free(m);
    return st;
}

static void rss_flat_over_100_load_generate_unload(void) {
    const char *sh = rft_shared_dir();
    char path[512];
    long warm = -1, end = -1;
    int i;
    size_t text = 0;
    if (sh) {
        snprintf(path, sizeof path, "%s/models/stories260K.gguf", sh);
    } else {
        rf_synth_params p;
        memset(&p, 0, sizeof p);
        p.dim = 64;
        p.vocab = 512;
        snprintf(path, sizeof path, "%s/rss_model.gguf", getenv("RF_BUILD") ? getenv("RF_BUILD") : "build");
        REQUIRE(rf_synth_write(&p, path) == RF_OK);
    }
    if (rss_kib() < 0) SKIP("no /proc/self/statm");
    for (i = 0; i < RSS_CYCLES; i++) {
        rf_status st = cycle(path, &text);
        REQUIRE(st == RF_OK);
        if (i + 1 == RSS_WARMUP) warm = rss_kib();
    }
    end = rss_kib();
    printf("  %d cycles of %s: RSS %ld KiB after %d, %ld KiB after %d (growth %ld KiB, bound %d KiB)%s; %zu bytes generated\n",
           RSS_CYCLES, path, warm, RSS_WARMUP, end, RSS_CYCLES, end - warm, RSS_BOUND_KIB,
           RSS_UNDER_ASAN ? " -- not checked under ASan" : "", text);
    CHECK(text > 0);
    if (!RSS_UNDER_ASAN) CHECKF(end - warm <= RSS_BOUND_KIB, "RSS grew %ld KiB", end - warm);
    if (!sh) remove(path);
}

int main(void) {
    RUN(rss_flat_over_100_load_generate_unload);
    return TEST_EXIT();
}
