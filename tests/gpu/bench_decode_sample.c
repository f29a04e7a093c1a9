/* One decode step's wall time on the GPU, three ways, same model and context length:
     logits  rf_ctx_decode (n_vocab floats copied back) + rf_sampler_sample on the host
     copy    rf_ctx_decode alone (the copy, no host sampling)
     token   rf_ctx_decode_sample (the chain on the device, 8 bytes back)
   for the default chain (temp 0.8, top-k 40, top-p 0.95, min-p 0.05) and greedy. Median of
   -n steps after a 16-token prompt and 8 warm-up steps; the steps alternate between the ways so
   a drifting clock moves them alike. Usage: bench_decode_sample model.gguf [steps] */
#define _POSIX_C_SOURCE 199309L
#include "rocmforge.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    rf_model_params mp;
    rf_ctx_params cp;
    rf_model *m = NULL;
    rf_ctx *c[3];
    rf_sampler *s[3];
    rf_logger lg;
    int steps = argc > 2 ? atoi(argv[2]) : 64, g, w, i, nv;
    int32_t prompt[16], tok[3];
    double *t[3];
    static const char *way[] = {"logits + host sampler", "logits copy only", "token only (device sampler)"};
    if (argc < 2 || steps < 1) return fprintf(stderr, "usage: bench_decode_sample model.gguf [steps]\n"), 2;
    memset(&mp, 0, sizeof mp), memset(&cp, 0, sizeof cp), memset(&lg, 0, sizeof lg);
    lg.level = RF_LOG_WARN;
    mp.log = &lg;
    mp.n_gpu_layers = -1;
    if (rf_model_load(argv[1], &mp, &m) != RF_OK) return fprintf(stderr, "load: %s\n", rf_last_error()), 1;
    nv = rf_model_n_vocab(m);
    cp.n_ctx = 16 + 8 + steps + 1;
    for (i = 0; i < 16; i++) prompt[i] = (int32_t)((i * 7919u + 13u) % (unsigned)nv);
    for (w = 0; w < 3; w++) t[w] = (double *)malloc(sizeof(double) * (size_t)steps);
    for (g = 0; g < 2; g++) {
        rf_sampler_params sp = rf_sampler_default_params();
        if (g) sp.temperature = 0.0f;
        for (w = 0; w < 3; w++) {
            if (rf_ctx_new(m, &cp, &c[w]) != RF_OK || rf_sampler_new(&sp, nv, &s[w]) != RF_OK ||
                rf_ctx_decode(c[w], prompt, 16) != RF_OK)
                return fprintf(stderr, "setup: %s\n", rf_last_error()), 1;
            tok[w] = prompt[15];
        }
        for (i = -8; i < steps; i++)
            for (w = 0; w < 3; w++) {
                double t0 = now();
                rf_status st;
                if (w == 2) st = rf_ctx_decode_sample(c[w], &tok[w], 1, s[w], &tok[w]);
                else {
                    st = rf_ctx_decode(c[w], &tok[w], 1);
                    if (st == RF_OK && w == 0) st = rf_sampler_sample(s[w], rf_ctx_logits(c[w]), &tok[w]);
                }
                if (st != RF_OK) return fprintf(stderr, "step: %s\n", rf_last_error()), 1;
                if (i >= 0) t[w][i] = now() - t0;
                if (w == 1) tok[w] = (tok[w] + 1) % nv; /* no sampler: any token */
            }
        printf("%s, vocab %d, %s, %d steps (median, min):\n", argv[1], nv, g ? "greedy" : "default chain", steps);
        for (w = 0; w < 3; w++) {
            qsort(t[w], (size_t)steps, sizeof(double), cmp);
            printf("  %-28s %8.3f ms  %8.3f ms\n", way[w], 1e3 * t[w][steps / 2], 1e3 * t[w][0]);
            rf_ctx_free(c[w]), rf_sampler_free(s[w]);
        }
    }
    for (w = 0; w < 3; w++) free(t[w]);
    rf_model_free(m);
    return 0;
}
