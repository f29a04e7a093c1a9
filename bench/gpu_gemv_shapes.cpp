/* The decode GEMV's shapes on the GPU at hand: rf_gemv_q8_kernel (kernels/gemv_q8.hip) with U
   items per lane in flight and R rows per wave, for each int8 type and each matrix of a 7B layer
   (QKV 12288 x 4096, wo 4096 x 4096, gate+up 22016 x 4096, down 4096 x 11008; 11264 for the
   K-quants' 256-blocks). Each figure: 200 launches captured as one graph (as the decode step
   runs) and replayed, the weights cycled through copies filling > 400 MB so the cache does not
   serve them; us per launch and the weight bytes' GB/s. Every shape's output is compared bit
   for bit with the first's (the lanes pair items with rows the same way whatever U and R).
   A matrix alone is not the model: rf_gemv_q8_launch's shapes were then chosen by whole-model
   tg128 (kernels/host.hip says which won where; docs/perf.md).

     make CUDA=1 build/gpu/bench_gemv_shapes && build/gpu/bench_gemv_shapes   (or HIP=1) */
#define ROCMFORGE_HIP_IMPLEMENTATION
#include "rocmforge_hip.h"
#include <vector>

static const int shapes[][2] = {{4, 2}, {2, 2}, {4, 1}, {1, 2}, {2, 1}}; /* {U, R} */

template <int T>
static void launch(rf_hip_dev *d, int u, int r, const uint8_t *w, int64_t ne0, int64_t ne1, const uint8_t *act, float *y) {
#define RF_SHAPE(U_, R_) \
    if (u == U_ && r == R_) return rf_gemv_q8_go<T, 1, U_, R_>(d, w, ne0, ne1, act, 1, y, ne1, 0, NULL, 0.0f);
    RF_SHAPE(4, 2) RF_SHAPE(2, 2) RF_SHAPE(4, 1) RF_SHAPE(1, 2) RF_SHAPE(2, 1)
#undef RF_SHAPE
}

static double now(void) { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

template <int T>
static int run(rf_hip_dev *d, const char *name, int64_t ne0, int64_t ne1, int k_quant, const float *dx) {
    const int64_t bs = T == RF_T_Q4_0 ? 18 : T == RF_T_Q8_0 ? 34 : T == RF_T_Q4_K ? 144 : 210, per = T == RF_T_Q4_K || T == RF_T_Q6_K ? 256 : 32;
    const size_t wb = (size_t)(ne0 / per * ne1 * bs);
    const int ncopy = (int)(400e6 / (double)wb) + 2, iters = 200;
    std::vector<uint8_t> h(wb);
    std::vector<float> y0((size_t)ne1), y1((size_t)ne1);
    rf_hip_buf *b = NULL;
    uint8_t *w, *act;
    float *y;
    if (rf_hip_buf_new(d, wb * (size_t)ncopy + rf_hip_act_q8_bytes(ne0, 1) + sizeof(float) * (size_t)ne1 + 3 * 256, &b)) return -1;
    w = (uint8_t *)rf_hip_buf_alloc(b, wb * (size_t)ncopy, 256);
    act = (uint8_t *)rf_hip_buf_alloc(b, rf_hip_act_q8_bytes(ne0, 1), 256);
    y = (float *)rf_hip_buf_alloc(b, sizeof(float) * (size_t)ne1, 256);
    for (int c = 0; c < ncopy; c++) { /* random bytes with bit 6 clear: every fp16 scale finite (|x| < 2) */
        for (size_t i = 0; i < wb; i++) h[i] = (uint8_t)(next() & 0xBF);
        if (rf_hip_upload(d, w + wb * (size_t)c, h.data(), wb)) return -1;
    }
    if (rf_hip_act_q8(d, k_quant, dx, ne0, NULL, 0.0f, ne0, 1, act) || rf_hip_sync(d)) return -1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int u = shapes[s][0], r = shapes[s][1];
        rf_hip_graph *g = NULL;
        launch<T>(d, u, r, w, ne0, ne1, act, y);
        if (rf_hip_sync(d) || rf_hip_download(d, s ? y1.data() : y0.data(), y, sizeof(float) * (size_t)ne1)) return -1;
        if (rf_hip_capture_begin(d)) return -1;
        for (int it = 0; it < iters; it++) launch<T>(d, u, r, w + wb * (size_t)(it % ncopy), ne0, ne1, act, y);
        if (rf_hip_capture_end(d, &g) || rf_hip_graph_launch(d, g) || rf_hip_sync(d)) return -1;
        const double t0 = now();
        if (rf_hip_graph_launch(d, g) || rf_hip_sync(d)) return -1;
        const double us = (now() - t0) * 1e6 / iters;
        rf_hip_graph_free(g);
        printf("%-5s %6lld x %6lld  U %d R %d  %8.2f us  %7.1f GB/s  %s\n", name, (long long)ne1, (long long)ne0, u, r, us,
               (double)wb / us / 1e3, !s ? "" : memcmp(y0.data(), y1.data(), sizeof(float) * (size_t)ne1) ? "DIFFERENT bits" : "same bits");
    }
    rf_hip_buf_free(b);
    return 0;
}

int main(void) {
    static const int64_t mats[][2] = {{4096, 12288}, {4096, 4096}, {4096, 22016}, {11008, 4096}}; /* {cols, rows} */
    const int64_t kmax = 11264;
    std::vector<float> x((size_t)kmax);
    rf_hip_dev *d = NULL;
    rf_hip_info info;
    rf_hip_buf *bx = NULL;
    char err[256];
    float *dx;
    if (rf_hip_open(0, &d, err, sizeof err)) {
        fprintf(stderr, "no GPU: %s\n", err);
        return 1;
    }
    rf_hip_get_info(d, &info);
    printf("%s (%s), %d CUs, wave %d\n", info.name, info.arch, info.n_cu, info.wave);
    for (int64_t i = 0; i < kmax; i++) x[(size_t)i] = (float)((double)(next() % 2001) / 1000.0 - 1.0);
    if (rf_hip_buf_new(d, sizeof(float) * (size_t)kmax, &bx) || !(dx = (float *)rf_hip_buf_alloc(bx, sizeof(float) * (size_t)kmax, 256)) ||
        rf_hip_upload(d, dx, x.data(), sizeof(float) * (size_t)kmax))
        goto fail;
    for (int m = 0; m < 4; m++) {
        const int64_t ne0 = mats[m][0], ne1 = mats[m][1], ne0k = (ne0 + 255) / 256 * 256;
        if (run<RF_T_Q4_0>(d, "q4_0", ne0, ne1, 0, dx) || run<RF_T_Q8_0>(d, "q8_0", ne0, ne1, 0, dx) ||
            run<RF_T_Q4_K>(d, "q4_K", ne0k, ne1, 1, dx) || run<RF_T_Q6_K>(d, "q6_K", ne0k, ne1, 1, dx))
            goto fail;
    }
    rf_hip_buf_free(bx);
    rf_hip_close(d);
    return 0;
fail:
    fprintf(stderr, "%s\n", rf_hip_error(d));
    rf_hip_buf_free(bx);
    rf_hip_close(d);
    return 1;
}
