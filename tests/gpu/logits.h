/* Logit comparisons the whole-model GPU tests share (test_gpu_model.c, test_gpu_split.c). */
#include <math.h>

/* the index of the largest of x[0..n) (the first on ties) */
static int argmax(const float *x, int n) {
    int i, b = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}
/* max |a - b| / max |b| (1e30 when a holds a NaN) */
static double diff(const float *a, const float *b, int n) {
    double mx = 0, e = 0;
    int i;
    for (i = 0; i < n; i++) {
        if (fabs(b[i]) > mx) mx = fabs(b[i]);
        if (fabs(a[i] - b[i]) > e || a[i] != a[i]) e = a[i] != a[i] ? 1e30 : fabs(a[i] - b[i]);
    }
    return e / (mx > 0 ? mx : 1);
}
/* Whether the GPU's pick tg instead of the CPU's tc is a near-tie: the CPU's own top two are
   closer than twice the largest |gpu - cpu| logit difference of that step. */
static inline int near_tie(const float *cpu, const float *gpu, int n, int tc, int tg) {
    double abs_e = 0;
    int k;
    for (k = 0; k < n; k++) abs_e = fabs(gpu[k] - cpu[k]) > abs_e ? fabs(gpu[k] - cpu[k]) : abs_e;
    return cpu[tc] - cpu[tg] <= 2 * abs_e;
}
