/* The hybrid scheduler's planner (src/sched.c), on the CPU: rf__sched_fit is a pure function of
   per-layer GPU bytes, KV bytes per layer, a context's scratch, the budget and the asked layer
   count, so its answers are checked against hand-computed plans. Then what a CPU-only build does
   with GPU layers asked for (a plan of nothing, the same logits), and rf synth's MoE models,
   which the GPU split tests run. This file compiles the implementation itself (the planner is
   internal), so the Makefile builds it without impl.o. The GPU side: tests/gpu/test_gpu_split.c. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "rf_test.h"

#define NL 8

/* 8 layers of 100 bytes, KV 10 per layer, RoPE base 1, scratch 50, embedding + head 200 */
static uint64_t lb_[NL];
static uint8_t ok_[NL], gpu_[NL];

static rf__fit fit(int32_t want, uint64_t budget) {
    rf__fit f;
    int i;
    memset(&f, 0, sizeof f);
    for (i = 0; i < NL; i++) lb_[i] = 100, ok_[i] = 1;
    f.n_layer = NL;
    f.layer_bytes = lb_;
    f.gpu_ok = ok_;
    f.io_bytes = 200;
    f.io_ok = 1;
    f.base_bytes = 1;
    f.kv_layer_bytes = 10;
    f.ctx_bytes = 50;
    f.budget = budget;
    f.want = want;
    f.gpu = gpu_;
    return f;
}

/* "0-2" style: which layers the plan put on the GPU */
static const char *placed(const rf__fit *f) {
    static char buf[64];
    rf__sched_ranges(f->gpu, f->n_layer, 1, buf, sizeof buf);
    return buf;
}

static void test_fit_last_n_layers(void) { /* llama.cpp's -ngl: the last N, head on the CPU */
    rf__fit f = fit(3, UINT64_MAX);
    rf__sched_fit(&f);
    CHECKF(!strcmp(placed(&f), "5-7"), "%s", placed(&f));
    CHECK(f.n_gpu == 3 && f.io == 0);
    CHECKF(f.bytes == 3 * (100 + 10) + 1 + 50, "%llu", (unsigned long long)f.bytes);
}

static void test_fit_all_and_beyond(void) { /* every layer: the head too */
    int32_t wants[] = {RF_GPU_LAYERS_ALL, NL, NL + 5, -7};
    int i;
    for (i = 0; i < 4; i++) {
        rf__fit f = fit(wants[i], UINT64_MAX);
        rf__sched_fit(&f);
        CHECKF(f.n_gpu == NL && f.io == 1 && f.bytes == NL * 110 + 1 + 50 + 200, "want %d: %lld layers, io %d, %llu bytes",
               (int)wants[i], (long long)f.n_gpu, f.io, (unsigned long long)f.bytes);
    }
}

static void test_fit_zero(void) {
    rf__fit f = fit(0, UINT64_MAX);
    rf__sched_fit(&f);
    CHECK(f.n_gpu == 0 && f.io == 0 && f.bytes == 0 && placed(&f)[0] == 0);
}

static void test_fit_auto_budget(void) {
    /* budget -> layers: each layer costs 110, any GPU layer 51 more, the head 200 more */
    static const struct { uint64_t budget; int64_t n_gpu; int io; } cases[] = {
        {UINT64_MAX, NL, 1}, {NL * 110 + 51 + 200, NL, 1}, /* exactly everything */
        {NL * 110 + 51 + 199, NL, 0},                      /* one byte short: the head goes first */
        {5 * 110 + 51, 5, 0}, {5 * 110 + 50, 4, 0},        /* exactly 5 layers; one byte short */
        {110 + 51, 1, 0}, {160, 0, 0}, {0, 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rf__fit f = fit(RF_GPU_LAYERS_AUTO, cases[i].budget);
        rf__sched_fit(&f);
        CHECKF(f.n_gpu == cases[i].n_gpu && f.io == cases[i].io && f.bytes <= cases[i].budget,
               "budget %llu: %lld layers (want %lld), io %d, %llu bytes", (unsigned long long)cases[i].budget,
               (long long)f.n_gpu, (long long)cases[i].n_gpu, f.io, (unsigned long long)f.bytes);
        if (f.n_gpu > 0) /* always a suffix of the layers */
            CHECKF(gpu_[NL - f.n_gpu] && (f.n_gpu == NL || !gpu_[NL - f.n_gpu - 1]), "budget %llu: %s",
                   (unsigned long long)cases[i].budget, placed(&f));
    }
}

static void test_fit_auto_uneven_layers(void) { /* big layers at the end: fewer fit */
    rf__fit f = fit(RF_GPU_LAYERS_AUTO, 0);
    lb_[6] = lb_[7] = 300;
    f.budget = 310 + 310 + 51; /* layers 6, 7 exactly */
    rf__sched_fit(&f);
    CHECKF(!strcmp(placed(&f), "6-7") && f.bytes == f.budget, "%s, %llu", placed(&f), (unsigned long long)f.bytes);
}

static void test_fit_capability_fallback(void) {
    /* a layer the GPU has no kernel for stays on the CPU; the head needs every layer there */
    rf__fit f = fit(3, UINT64_MAX);
    ok_[6] = 0;
    rf__sched_fit(&f);
    CHECKF(!strcmp(placed(&f), "5,7") && f.n_gpu == 2 && !f.io, "%s", placed(&f));
    f = fit(RF_GPU_LAYERS_ALL, UINT64_MAX);
    ok_[0] = 0;
    rf__sched_fit(&f);
    CHECKF(!strcmp(placed(&f), "1-7") && f.n_gpu == 7 && !f.io, "%s", placed(&f));
    f = fit(RF_GPU_LAYERS_ALL, UINT64_MAX);
    f.io_ok = 0;
    rf__sched_fit(&f);
    CHECK(f.n_gpu == NL && !f.io && f.bytes == NL * 110 + 51);
}

static void test_parse_size(void) {
    static const struct { const char *s; int ok; uint64_t v; } cases[] = {
        {"123", 1, 123}, {"2G", 1, 2ull << 30}, {"500M", 1, 500ull << 20}, {"1.5K", 1, 1536}, {"2GiB", 1, 2ull << 30},
        {"2gb", 1, 2ull << 30}, {"1T", 1, 1ull << 40}, {"0", 1, 0}, {"", 0, 0}, {"x", 0, 0}, {"-1", 0, 0},
        {"12Q", 0, 0}, {"5M junk", 0, 0}, {"1e30", 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 7;
        int ok = rf__sched_parse_size(cases[i].s, &v);
        CHECKF(ok == cases[i].ok && (!ok || v == cases[i].v), "'%s': ok %d, %llu", cases[i].s, ok, (unsigned long long)v);
    }
}

static void test_ranges(void) {
    const uint8_t on[9] = {0, 1, 1, 1, 0, 1, 0, 1, 1};
    char b[32], tiny[4];
    rf__sched_ranges(on, 9, 1, b, sizeof b);
    CHECKF(!strcmp(b, "1-3,5,7-8"), "%s", b);
    rf__sched_ranges(on, 9, 0, b, sizeof b);
    CHECKF(!strcmp(b, "0,4,6"), "%s", b);
    rf__sched_ranges(on, 9, 1, tiny, sizeof tiny); /* truncated, still a string */
    CHECK(strlen(tiny) < sizeof tiny);
}

static char path_[2][256];

/* a 4-layer synth model in /tmp (slot 0 dense, 1 MoE) */
static const char *synth_(int64_t experts) {
    char *path = path_[experts > 0];
    rf_synth_params p;
    rf_logger lg;
    memset(&p, 0, sizeof p);
    memset(&lg, 0, sizeof lg);
    lg.level = RF_LOG_ERROR;
    snprintf(path, sizeof path_[0], "/tmp/rf_test_sched_%s_%d.gguf", experts ? "moe" : "dense", (int)getpid());
    p.log = &lg;
    p.type = "q8_0";
    p.n_layers = 4;
    p.n_experts = experts;
    p.n_experts_used = experts ? 2 : 0;
    return rf_synth_write(&p, path) == RF_OK ? path : NULL;
}

/* A build without the GPU backend runs every layer on the CPU whatever is asked, with a plan of
   nothing, and the same logits; the CPU's seconds are counted, the GPU's are 0. */
static void test_cpu_build_ignores_gpu_layers(void) {
    const char *path = synth_(0);
    int32_t asks[] = {2, RF_GPU_LAYERS_ALL, RF_GPU_LAYERS_AUTO};
    rf_model_params mp;
    rf_logger lg;
    rf_model *m0 = NULL, *m = NULL;
    rf_ctx *c0 = NULL, *c = NULL;
    rf_gpu_plan plan;
    int32_t toks[5] = {1, 5, 9, 200, 7};
    double cpu_s = -1, gpu_s = -1;
    int i;
    REQUIRE(path);
    memset(&mp, 0, sizeof mp);
    memset(&lg, 0, sizeof lg);
    lg.level = RF_LOG_ERROR;
    mp.log = &lg;
    REQUIRE(rf_model_load(path, &mp, &m0) == RF_OK && rf_ctx_new(m0, NULL, &c0) == RF_OK);
    REQUIRE(rf_ctx_decode(c0, toks, 5) == RF_OK);
    rf_ctx_device_seconds(c0, &cpu_s, &gpu_s);
    CHECKF(cpu_s > 0 && gpu_s == 0, "cpu %g s, gpu %g s", cpu_s, gpu_s);
    for (i = 0; i < 3; i++) {
        mp.n_gpu_layers = asks[i];
        REQUIRE(rf_model_load(path, &mp, &m) == RF_OK && rf_ctx_new(m, NULL, &c) == RF_OK);
        rf_model_gpu_plan(m, &plan);
        CHECKF(plan.n_layer == 4 && plan.n_gpu_layers == 0 && plan.first_gpu_layer == -1 && !plan.io_on_gpu &&
                   plan.gpu_weight_bytes == 0,
               "ask %d: %d layers on the GPU", (int)asks[i], (int)plan.n_gpu_layers);
        REQUIRE(rf_ctx_decode(c, toks, 5) == RF_OK);
        CHECK(!memcmp(rf_ctx_logits(c), rf_ctx_logits(c0), sizeof(float) * (size_t)rf_model_n_vocab(m)));
        rf_ctx_free(c), rf_model_free(m);
        c = NULL, m = NULL;
    }
    rf_ctx_free(c0), rf_model_free(m0);
    remove(path);
}

/* rf synth --experts: a Mixtral-layout model (router f32, experts stacked) that loads and runs */
static void test_synth_moe(void) {
    const char *path = synth_(4);
    const rf_gguf_tensor *t;
    rf_model *m = NULL;
    rf_ctx *c = NULL;
    rf_synth_params bad;
    int32_t toks[3] = {1, 2, 3};
    REQUIRE(path);
    REQUIRE(rf_model_load(path, NULL, &m) == RF_OK);
    t = rf_gguf_find_tensor(rf_model_gguf(m), "blk.3.ffn_up_exps.weight");
    CHECK(t && t->n_dims == 3 && t->ne[2] == 4 && t->type == RF_TYPE_Q8_0);
    t = rf_gguf_find_tensor(rf_model_gguf(m), "blk.0.ffn_gate_inp.weight");
    CHECK(t && t->type == RF_TYPE_F32 && t->ne[1] == 4);
    CHECK(!rf_gguf_find_tensor(rf_model_gguf(m), "blk.0.ffn_up.weight"));
    REQUIRE(rf_ctx_new(m, NULL, &c) == RF_OK);
    CHECK(rf_ctx_decode(c, toks, 3) == RF_OK);
    rf_ctx_free(c), rf_model_free(m);
    remove(path);
    memset(&bad, 0, sizeof bad);
    bad.n_experts = 2, bad.n_experts_used = 3;
    CHECK(rf_synth_write(&bad, "/tmp/rf_test_sched_never_written.gguf") == RF_ERR_INVALID_ARG);
}

int main(void) {
    RUN(test_fit_last_n_layers);
    RUN(test_fit_all_and_beyond);
    RUN(test_fit_zero);
    RUN(test_fit_auto_budget);
    RUN(test_fit_auto_uneven_layers);
    RUN(test_fit_capability_fallback);
    RUN(test_parse_size);
    RUN(test_ranges);
    RUN(test_cpu_build_ignores_gpu_layers);
    RUN(test_synth_moe);
    return TEST_EXIT();
}
