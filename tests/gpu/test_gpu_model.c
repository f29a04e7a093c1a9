/* Whole-model GPU vs CPU: for each GGUF given, the same model loaded twice (n_gpu_layers 0 and
   all), the same tokens decoded by both: a 1-token start, a 37-token prefill, 24 greedy steps,
   then a 512-token prefill in a fresh context (the batched path, and gemma3's sliding window).
   Pass: the greedy tokens identical -- or, for quantized weights, different only at near-ties,
   where the CPU's own top two are closer than twice the step's largest |gpu - cpu| logit
   difference (random-weight models have flat logits; a one-step flip at such a tie is the q8
   rounding below, not a bug: both sides are fed the CPU's token, so a flip does not carry
   over) -- and every step's logits within 1e-3 of the CPU's
   (max |gpu - cpu| / max |cpu|) for float weights, 5e-2 for quantized ones: both sides round
   activations to q8 before each quantized product, so a float-order difference of 1e-7 that
   flips one rounding moves that value by a whole q8 step (~1/254 of its block's max), and
   random-weight layers compound it (measured on the H100: 1e-3..3e-2 quantized, <= 1.2e-4 float);
   8e-2 for quantized ones where prefill batches run on the matrix cores (src/hip.c: kernels/gemm.hip
   from 32 tokens on): there the 37 tokens' activations are rounded to f16, not to the CPU's q8, so
   every one of them differs from the CPU's by up to half a q8 step, not only where a rounding
   flips, and the KV cache they leave carries it into the decode steps (measured on the H200:
   llama-q4_k_m 5.5e-2 with the matrix-core prefill, 3.1e-2 with RF_GPU_NO_MMA=1).
   Then 32 tokens from seeded samplers with rf_ctx_decode_sample (the chain on the device) against
   rf_ctx_decode + rf_sampler_sample on the same GPU model: identical tokens.
   Usage: test_gpu_model model.gguf ... */
#include "rocmforge.h"
#include "rocmforge_hip.h" /* its C declarations: rf_hip_mma_kind */
#include "rf_test.h"
#include "logits.h"
#include <math.h>

static const char *path_;


/* Whether prefill batches run on the matrix cores, as src/hip.c decides it. */
static int prefill_on_matrix_cores(void) {
    rf_hip_dev *d = NULL;
    char err[256];
    int kind;
    if (getenv("RF_GPU_NO_MMA") || rf_hip_open(0, &d, err, sizeof err)) return 0;
    kind = rf_hip_mma_kind(d);
    rf_hip_close(d);
    return kind > 0;
}

static void test_model(void) {
    rf_model_params mp;
    rf_ctx_params cp;
    rf_model *mc = NULL, *mg = NULL;
    rf_ctx *cc = NULL, *cg = NULL;
    rf_logger lg;
    int32_t toks[512];
    int i, nv, same = 1, steps = 0, ties = 0;
    double worst = 0, tol = 1e-3;
    const rf_gguf_tensor *tw;
    memset(&mp, 0, sizeof mp);
    memset(&cp, 0, sizeof cp);
    memset(&lg, 0, sizeof lg);
    lg.level = RF_LOG_WARN;
    mp.log = &lg;
    REQUIRE(rf_model_load(path_, &mp, &mc) == RF_OK);
    mp.n_gpu_layers = -1;
    if (rf_model_load(path_, &mp, &mg) != RF_OK) {
        CHECKF(0, "GPU load: %s", rf_last_error());
        rf_model_free(mc);
        return;
    }
    nv = rf_model_n_vocab(mc);
    tw = rf_gguf_find_tensor(rf_model_gguf(mc), "blk.0.ffn_down.weight");
    if (tw && tw->type != RF_TYPE_F32 && tw->type != RF_TYPE_F16 && tw->type != RF_TYPE_BF16) tol = prefill_on_matrix_cores() ? 8e-2 : 5e-2;
    cp.n_ctx = 1024;
    REQUIRE(rf_ctx_new(mc, &cp, &cc) == RF_OK);
    REQUIRE(rf_ctx_new(mg, &cp, &cg) == RF_OK);
    for (i = 0; i < 512; i++) toks[i] = (int32_t)((i * 7919u + 13u) % (unsigned)nv);
    /* 1 token, then a 37-token prefill, then greedy decode */
    REQUIRE(rf_ctx_decode(cc, toks, 1) == RF_OK && rf_ctx_decode(cg, toks, 1) == RF_OK);
    worst = diff(rf_ctx_logits(cg), rf_ctx_logits(cc), nv);
    REQUIRE(rf_ctx_decode(cc, toks + 1, 37) == RF_OK);
    if (rf_ctx_decode(cg, toks + 1, 37) != RF_OK) {
        CHECKF(0, "GPU decode: %s", rf_last_error());
        goto done;
    }
    for (steps = 0; steps < 24; steps++) {
        const float *lc = rf_ctx_logits(cc), *lgp = rf_ctx_logits(cg);
        int32_t tc = argmax(lc, nv), tg = argmax(lgp, nv);
        double e = diff(lgp, lc, nv);
        worst = e > worst ? e : worst;
        if (tc != tg) {
            if (tol > 1e-3 && near_tie(lc, lgp, nv, tc, tg)) ties++; /* a near-tie (see the top) */
            else same = 0;
        }
        REQUIRE(rf_ctx_decode(cc, &tc, 1) == RF_OK && rf_ctx_decode(cg, &tc, 1) == RF_OK);
    }
    printf("  %s: decode max rel logit diff %.2e over %d steps, greedy %s (%d near-tie flips)\n", path_, worst, steps,
           same ? "identical" : "DIFFERENT", ties);
    CHECKF(worst < tol, "logits differ by %.3g", worst);
    CHECK(same);
    /* a 512-token prefill in fresh contexts */
    rf_ctx_free(cc), rf_ctx_free(cg);
    cc = cg = NULL;
    REQUIRE(rf_ctx_new(mc, &cp, &cc) == RF_OK && rf_ctx_new(mg, &cp, &cg) == RF_OK);
    REQUIRE(rf_ctx_decode(cc, toks, 512) == RF_OK && rf_ctx_decode(cg, toks, 512) == RF_OK);
    {
        double e = diff(rf_ctx_logits(cg), rf_ctx_logits(cc), nv);
        int a = argmax(rf_ctx_logits(cc), nv), b = argmax(rf_ctx_logits(cg), nv);
        const int tie = a != b && tol > 1e-3 && near_tie(rf_ctx_logits(cc), rf_ctx_logits(cg), nv, a, b);
        printf("  %s: 512-token prefill max rel logit diff %.2e, argmax %d vs %d%s\n", path_, e, a, b,
               tie ? " (a near-tie: accepted as in the decode steps)" : "");
        CHECKF(e < tol && (a == b || tie), "prefill: %.3g, argmax %d vs %d", e, a, b);
    }
    /* 32 tokens from a seeded sampler: rf_ctx_decode_sample (the chain on the device, or the
       host's for penalties) against rf_ctx_decode + rf_sampler_sample on the same GPU model. */
    {
        static const char *names[] = {"default chain", "top-k 256 top-p 0.9 temp 1.5", "greedy", "repeat penalty (host)"};
        int v;
        for (v = 0; v < 4; v++) {
            rf_sampler_params sp = rf_sampler_default_params();
            rf_sampler *sd = NULL, *sh = NULL;
            int32_t td = 0, th = 0, gen_d[32], gen_h[32];
            int j, equal = 1;
            rf_status sd_st, sh_st;
            memset(gen_d, 0, sizeof gen_d), memset(gen_h, 0, sizeof gen_h);
            sp.seed = 42 + (uint64_t)v;
            if (v == 1) sp.top_k = 256, sp.top_p = 0.9f, sp.min_p = 0.0f, sp.temperature = 1.5f;
            if (v == 2) sp.temperature = 0.0f;
            if (v == 3) sp.repeat_penalty = 1.3f, sp.temperature = 1.0f;
            rf_ctx_free(cc), rf_ctx_free(cg);
            cc = cg = NULL;
            REQUIRE(rf_ctx_new(mg, &cp, &cc) == RF_OK && rf_ctx_new(mg, &cp, &cg) == RF_OK);
            REQUIRE(rf_sampler_new(&sp, nv, &sd) == RF_OK && rf_sampler_new(&sp, nv, &sh) == RF_OK);
            for (j = 0; j < 8; j++) rf_sampler_accept(sd, toks[j]), rf_sampler_accept(sh, toks[j]);
            sd_st = rf_ctx_decode_sample(cg, toks, 8, sd, &td);
            sh_st = rf_ctx_decode(cc, toks, 8);
            if (sh_st == RF_OK) sh_st = rf_sampler_sample(sh, rf_ctx_logits(cc), &th);
            for (j = 0; j < 32 && sd_st == RF_OK && sh_st == RF_OK; j++) {
                gen_d[j] = td, gen_h[j] = th;
                equal &= td == th;
                rf_sampler_accept(sd, td), rf_sampler_accept(sh, th);
                sd_st = rf_ctx_decode_sample(cg, &td, 1, sd, &td);
                sh_st = rf_ctx_decode(cc, &th, 1);
                if (sh_st == RF_OK) sh_st = rf_sampler_sample(sh, rf_ctx_logits(cc), &th);
            }
            printf("  %s: %s, 32 tokens device vs host sampling %s (first %d %d %d %d)\n", path_, names[v],
                   equal && j == 32 ? "identical" : "DIFFERENT", gen_d[0], gen_d[1], gen_d[2], gen_d[3]);
            CHECKF(sd_st == RF_OK && sh_st == RF_OK, "%s: %s", names[v], rf_last_error());
            CHECKF(equal && j == 32, "%s: device and host sampling differ", names[v]);
            for (j = 0; j < 32 && !equal; j++) printf("    %2d: %d %d\n", j, gen_d[j], gen_h[j]);
            rf_sampler_free(sd), rf_sampler_free(sh);
        }
    }
done:
    rf_ctx_free(cc), rf_ctx_free(cg);
    rf_model_free(mc), rf_model_free(mg);
}

int main(int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        const char *base = strrchr(argv[i], '/');
        char name[256];
        path_ = argv[i];
        snprintf(name, sizeof name, "gpu_vs_cpu %s", base ? base + 1 : argv[i]);
        rft_run_(name, test_model);
    }
    return TEST_EXIT();
}
