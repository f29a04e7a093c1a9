/* Sampler and stop-string tests. Every expected number is derived in a comment from the
   formula (softmax, the stage's definition), never from running the sampler. Statistical
   checks use bounds of 3-4 standard errors (or a chi-square critical value), with fixed
   seeds, so they are deterministic and far from flaky. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rocmforge.h"
#include "rf_test.h"

/* rf_test.h's REQUIRE evaluates its condition twice (in CHECK and in the if); conditions with
   side effects (creating a sampler, drawing) go through this once-only form. */
#define REQUIRE_ONCE(expr)                  \
    do {                                    \
        int once_ok_ = (expr);              \
        CHECKF(once_ok_, "%s", #expr);      \
        if (!once_ok_) return;              \
    } while (0)

/* Params with every stage off; tests switch on the one they test. */
static rf_sampler_params plain(float temperature) {
    rf_sampler_params p = rf_sampler_default_params();
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.typical_p = 1.0f;
    p.seed = 1234;
    return p;
}

/* Draws n tokens from fixed logits and counts each id (counts has n_vocab slots). */
static int draw_counts(const rf_sampler_params *p, const float *logits, int32_t n_vocab, int n,
                       long *counts) {
    rf_sampler *s = NULL;
    int i;
    memset(counts, 0, sizeof(long) * (size_t)n_vocab);
    if (rf_sampler_new(p, n_vocab, &s) != RF_OK) return 0;
    for (i = 0; i < n; i++) {
        int32_t t = -1;
        if (rf_sampler_sample(s, logits, &t) != RF_OK || t < 0 || t >= n_vocab) {
            rf_sampler_free(s);
            return 0;
        }
        counts[t]++;
    }
    rf_sampler_free(s);
    return 1;
}

static int32_t greedy_pick(const rf_sampler_params *p, const float *logits, int32_t n_vocab,
                           const int32_t *accepted, int n_acc) {
    rf_sampler *s = NULL;
    int32_t t = -1;
    int i;
    if (rf_sampler_new(p, n_vocab, &s) != RF_OK) return -2;
    for (i = 0; i < n_acc; i++) rf_sampler_accept(s, accepted[i]);
    if (rf_sampler_sample(s, logits, &t) != RF_OK) t = -3;
    rf_sampler_free(s);
    return t;
}

/* |observed frequency - p| within k standard errors of a binomial proportion over n draws. */
static int within_se(long count, int n, double p, double k) {
    double se = sqrt(p * (1.0 - p) / n);
    return fabs((double)count / n - p) <= k * se;
}

/* The four-token distribution used below: probabilities 0.5, 0.3, 0.15, 0.05 exactly (up to
   float rounding of the logs), since softmax(log p) = p when the p sum to 1. */
static void four_logits(float *l) {
    l[0] = (float)log(0.5);
    l[1] = (float)log(0.3);
    l[2] = (float)log(0.15);
    l[3] = (float)log(0.05);
}

static void test_default_params(void) {
    rf_sampler_params p = rf_sampler_default_params();  /* values from api.h's comment */
    CHECK(p.temperature == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    CHECK(p.typical_p == 1.0f && p.repeat_penalty == 1.0f && p.presence_penalty == 0.0f);
    CHECK(p.frequency_penalty == 0.0f && p.penalty_last_n == 64 && p.seed == 0xC0FFEE);
    CHECK(p.logit_bias == NULL && p.n_logit_bias == 0);
}

static void test_invalid_args(void) {
    rf_sampler_params p = plain(1.0f);
    rf_sampler *s = (rf_sampler *)&p;  /* a non-NULL value that must be overwritten */
    rf_logit_bias b;
    int32_t t;
    float l[2] = {0.0f, 0.0f};
    CHECK(rf_sampler_new(&p, 0, &s) == RF_ERR_INVALID_ARG && s == NULL);
    CHECK(rf_sampler_new(NULL, 4, &s) == RF_ERR_INVALID_ARG);
    b.token = 2;  /* out of range for n_vocab 2 */
    b.bias = 1.0f;
    p.logit_bias = &b;
    p.n_logit_bias = 1;
    CHECK(rf_sampler_new(&p, 2, &s) == RF_ERR_INVALID_ARG);
    p = plain(1.0f);
    p.top_p = NAN;
    CHECK(rf_sampler_new(&p, 2, &s) == RF_ERR_INVALID_ARG);
    p = plain(1.0f);
    REQUIRE_ONCE(rf_sampler_new(&p, 2, &s) == RF_OK);
    CHECK(rf_sampler_sample(s, NULL, &t) == RF_ERR_INVALID_ARG);
    CHECK(rf_sampler_sample(s, l, NULL) == RF_ERR_INVALID_ARG);
    rf_sampler_accept(s, -1);  /* ignored, must not write out of bounds (ASan) */
    rf_sampler_accept(s, 2);
    rf_sampler_free(s);
    rf_sampler_free(NULL);
}

static void test_greedy_argmax_ties_lowest(void) {
    rf_sampler_params p = plain(0.0f);
    float l[6] = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f, 3.0f};  /* max 3 at ids 1, 3, 5 */
    float neg[3] = {-5.0f, -1.0f, -1.0f};
    CHECK(greedy_pick(&p, l, 6, NULL, 0) == 1);
    CHECK(greedy_pick(&p, neg, 3, NULL, 0) == 1);
    p.temperature = -1.0f;  /* any temperature <= 0 is greedy */
    CHECK(greedy_pick(&p, l, 6, NULL, 0) == 1);
    p.top_k = 1;            /* the filters do not change the argmax */
    CHECK(greedy_pick(&p, l, 6, NULL, 0) == 1);
}

static void test_top_k(void) {
    /* The three highest of these are ids 7 (5.0), 2 (4.5) and 9 (4.4). */
    float l[10] = {1.0f, 0.5f, 4.5f, -1.0f, 3.9f, 0.0f, 2.0f, 5.0f, 4.0f, 4.4f};
    long c[10];
    rf_sampler_params p = plain(1.0f);
    int i;
    p.top_k = 3;
    REQUIRE_ONCE(draw_counts(&p, l, 10, 10000, c));
    for (i = 0; i < 10; i++)
        if (i != 7 && i != 2 && i != 9) CHECKF(c[i] == 0, "id %d drawn %ld times", i, c[i]);
    CHECK(c[7] > 0 && c[2] > 0 && c[9] > 0);
    /* Renormalised over the three: p7 = e^5 / (e^5 + e^4.5 + e^4.4) = 1 / (1 + e^-0.5 + e^-0.6)
       = 1 / (1 + 0.60653 + 0.54881) = 0.46397. */
    CHECKF(within_se(c[7], 10000, 0.46397, 4.0), "p7 %g", c[7] / 10000.0);
    p.top_k = 1;  /* k = 1 is greedy whatever the temperature */
    REQUIRE_ONCE(draw_counts(&p, l, 10, 1000, c));
    CHECK(c[7] == 1000);
}

/* Top-k on a big vocabulary (the partial-sort path): only the k highest ever come out. The
   expected set is found here by brute force (k passes of "largest not yet taken"). */
static void test_top_k_large_vocab(void) {
    enum { N = 5000, K = 5 };
    static float l[N];
    static long c[N];
    int top[K], i, j, ok = 1;
    uint32_t x = 12345;
    rf_sampler_params p = plain(1.5f);
    for (i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;  /* LCG: arbitrary, reproducible logits in [0, 8) */
        l[i] = (float)(x >> 8) / (float)(1u << 24) * 8.0f;
    }
    for (j = 0; j < K; j++) {
        int best = -1, k;
        for (i = 0; i < N; i++) {
            int taken = 0;
            for (k = 0; k < j; k++) taken |= top[k] == i;
            if (!taken && (best < 0 || l[i] > l[best])) best = i;
        }
        top[j] = best;
    }
    p.top_k = K;
    REQUIRE_ONCE(draw_counts(&p, l, N, 5000, c));
    for (i = 0; i < N; i++) {
        int in = 0;
        for (j = 0; j < K; j++) in |= top[j] == i;
        if (!in && c[i]) ok = 0;
    }
    CHECK(ok);
    for (j = 0; j < K; j++) CHECK(c[top[j]] > 0);
}

static void test_top_p(void) {
    float l[4];
    long c[4];
    rf_sampler_params p = plain(1.0f);
    four_logits(l);
    /* Cumulative mass 0.5, 0.8, 0.95, 1.0: the smallest prefix reaching 0.8 is {0, 1};
       renormalised 0.5/0.8 = 0.625 and 0.3/0.8 = 0.375. */
    p.top_p = 0.8f;
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[2] == 0 && c[3] == 0);
    CHECKF(within_se(c[0], 20000, 0.625, 3.0), "p0 %g", c[0] / 20000.0);
    /* 0.81 needs the third token: {0, 1, 2} with 0.5/0.95 = 0.526316. */
    p.top_p = 0.81f;
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[3] == 0 && c[2] > 0);
    CHECKF(within_se(c[0], 20000, 0.5 / 0.95, 3.0), "p0 %g", c[0] / 20000.0);
    /* 0.4: the first token alone already has 0.5. */
    p.top_p = 0.4f;
    REQUIRE_ONCE(draw_counts(&p, l, 4, 2000, c));
    CHECK(c[0] == 2000);
}

static void test_min_p(void) {
    float l[4];
    long c[4];
    rf_sampler_params p = plain(1.0f);
    four_logits(l);
    /* min_p 0.35: threshold 0.35 * 0.5 = 0.175 keeps 0.5 and 0.3 -> {0, 1}, 0.625 / 0.375. */
    p.min_p = 0.35f;
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[2] == 0 && c[3] == 0);
    CHECKF(within_se(c[0], 20000, 0.625, 3.0), "p0 %g", c[0] / 20000.0);
    /* min_p 0.2: threshold 0.1 keeps 0.15 too, drops 0.05 -> {0, 1, 2}. */
    p.min_p = 0.2f;
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[3] == 0 && c[2] > 0);
    CHECKF(within_se(c[2], 20000, 0.15 / 0.95, 3.0), "p2 %g", c[2] / 20000.0);
}

static void test_typical_p(void) {
    /* Entropy of (0.5, 0.3, 0.15, 0.05) in nats:
         H = 0.5*0.693147 + 0.3*1.203973 + 0.15*1.897120 + 0.05*2.995732 = 1.142245.
       Surprise -ln p: 0.693147, 1.203973, 1.897120, 2.995732; distance |surprise - H|:
         id0 0.449098, id1 0.061728, id2 0.754875, id3 1.853487.
       Most typical first: 1, 0, 2, 3 with cumulative mass 0.3, 0.8, 0.95, 1.0. */
    float l[4];
    long c[4];
    rf_sampler_params p = plain(1.0f);
    four_logits(l);
    p.typical_p = 0.25f;  /* {1} alone: the most likely token (0) is dropped */
    REQUIRE_ONCE(draw_counts(&p, l, 4, 2000, c));
    CHECK(c[1] == 2000);
    p.typical_p = 0.7f;   /* {1, 0}: 0.375 / 0.625 */
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[2] == 0 && c[3] == 0);
    CHECKF(within_se(c[1], 20000, 0.375, 3.0), "p1 %g", c[1] / 20000.0);
    p.typical_p = 0.9f;   /* {1, 0, 2} */
    REQUIRE_ONCE(draw_counts(&p, l, 4, 20000, c));
    CHECK(c[3] == 0 && c[2] > 0);
}

/* Chi-square of observed counts against the analytic softmax(l / T), 3 categories. */
static double chi_square_temp(float t, const float *l, long *c, int n) {
    double e[3], sum = 0.0, chi = 0.0;
    int i;
    for (i = 0; i < 3; i++) sum += (e[i] = exp(l[i] / t));
    for (i = 0; i < 3; i++) {
        double expect = n * e[i] / sum;
        chi += (c[i] - expect) * (c[i] - expect) / expect;
    }
    return chi;
}

static void test_temperature(void) {
    float l[3] = {0.0f, 1.0f, 2.0f};
    long c2[3], c05[3];
    rf_sampler_params p = plain(2.0f);
    int n = 20000;
    REQUIRE_ONCE(draw_counts(&p, l, 3, n, c2));
    p.temperature = 0.5f;
    REQUIRE_ONCE(draw_counts(&p, l, 3, n, c05));
    /* 2 degrees of freedom: P(chi2 > 18.4) = 1e-4. */
    CHECKF(chi_square_temp(2.0f, l, c2, n) < 18.4, "T=2 chi2 %g", chi_square_temp(2.0f, l, c2, n));
    CHECKF(chi_square_temp(0.5f, l, c05, n) < 18.4, "T=0.5 chi2 %g", chi_square_temp(0.5f, l, c05, n));
    /* And the wrong temperature is rejected by the same test (the test has power): at T=2
       id 2 has e^1/(1+e^0.5+e^1) = 0.506, at T=1 it would be 0.665. */
    CHECK(chi_square_temp(1.0f, l, c2, n) > 100.0);
    /* Sharper at 0.5: id 2 has e^4/(1+e^2+e^4) = 0.867 vs 0.506 at T=2. */
    CHECK(c05[2] > c2[2]);
}

static void test_seed_reproducible(void) {
    enum { N = 200, V = 50 };
    float l[V];
    int32_t a[N], b[N], d[N];
    rf_sampler *s1 = NULL, *s2 = NULL, *s3 = NULL;
    rf_sampler_params p = plain(1.0f);
    int i, same_ab = 1, same_ad = 1;
    for (i = 0; i < V; i++) l[i] = (float)((i * 7) % 11) * 0.3f;
    REQUIRE_ONCE(rf_sampler_new(&p, V, &s1) == RF_OK);
    REQUIRE_ONCE(rf_sampler_new(&p, V, &s2) == RF_OK);
    p.seed = 1235;
    REQUIRE_ONCE(rf_sampler_new(&p, V, &s3) == RF_OK);
    for (i = 0; i < N; i++) {
        CHECK(rf_sampler_sample(s1, l, &a[i]) == RF_OK);
        CHECK(rf_sampler_sample(s2, l, &b[i]) == RF_OK);
        CHECK(rf_sampler_sample(s3, l, &d[i]) == RF_OK);
        same_ab &= a[i] == b[i];
        same_ad &= a[i] == d[i];
    }
    CHECK(same_ab);
    CHECK(!same_ad);
    /* reset reseeds: the same sequence again. */
    rf_sampler_reset(s1);
    for (i = 0; i < N; i++) {
        int32_t t = -1;
        CHECK(rf_sampler_sample(s1, l, &t) == RF_OK);
        if (t != a[i]) {
            CHECKF(0, "after reset, draw %d: %d != %d", i, (int)t, (int)a[i]);
            break;
        }
    }
    rf_sampler_free(s1);
    rf_sampler_free(s2);
    rf_sampler_free(s3);
}

/* Penalties, checked through greedy outcomes around the formula's exact threshold. */
static void test_repeat_penalty(void) {
    rf_sampler_params p = plain(0.0f);
    float pos[2] = {2.0f, 1.9f}, neg[2] = {-1.0f, -1.05f}, once[2] = {2.0f, 1.7f};
    int32_t acc0[3] = {0, 0, 0};
    p.repeat_penalty = 1.1f;
    /* Positive logit divided: 2 / 1.1 = 1.818 < 1.9 -> id 1. */
    CHECK(greedy_pick(&p, pos, 2, acc0, 1) == 1);
    CHECK(greedy_pick(&p, pos, 2, NULL, 0) == 0);  /* nothing accepted: no penalty */
    /* 2 / 1.04 = 1.923 > 1.9 -> still id 0. */
    p.repeat_penalty = 1.04f;
    CHECK(greedy_pick(&p, pos, 2, acc0, 1) == 0);
    /* Negative logit multiplied: -1 * 1.1 = -1.1 < -1.05 -> id 1. (Dividing would give
       -0.909 and keep id 0.) */
    p.repeat_penalty = 1.1f;
    CHECK(greedy_pick(&p, neg, 2, acc0, 1) == 1);
    /* Once per distinct token: three occurrences still give 2 / 1.1 = 1.818 > 1.7 -> id 0
       (three times would be 2 / 1.331 = 1.503 < 1.7). */
    CHECK(greedy_pick(&p, once, 2, acc0, 3) == 0);
}

static void test_presence_frequency_penalty(void) {
    rf_sampler_params p = plain(0.0f);
    float l[2] = {2.0f, 1.5f}, l2[2] = {2.0f, 0.35f}, l3[2] = {2.0f, 0.25f};
    int32_t acc0[3] = {0, 0, 0};
    /* Presence, once per distinct token: 2 - 0.4 = 1.6 > 1.5 -> 0 (thrice: 0.8 -> 1). */
    p.presence_penalty = 0.4f;
    CHECK(greedy_pick(&p, l, 2, acc0, 3) == 0);
    p.presence_penalty = 0.6f;  /* 2 - 0.6 = 1.4 < 1.5 */
    CHECK(greedy_pick(&p, l, 2, acc0, 3) == 1);
    /* Frequency, per occurrence: 2 - 3 * 0.15 = 1.55 > 1.5 -> 0; 2 - 3 * 0.2 = 1.4 -> 1. */
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.15f;
    CHECK(greedy_pick(&p, l, 2, acc0, 3) == 0);
    p.frequency_penalty = 0.2f;
    CHECK(greedy_pick(&p, l, 2, acc0, 3) == 1);
    /* All three, repeat first: 2 / 2 - 2 * 0.2 - 0.3 = 0.3, between 0.25 and 0.35. */
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.2f;
    p.presence_penalty = 0.3f;
    CHECK(greedy_pick(&p, l2, 2, acc0, 2) == 1);
    CHECK(greedy_pick(&p, l3, 2, acc0, 2) == 0);
}

static void test_penalty_window(void) {
    rf_sampler_params p = plain(0.0f);
    float l[8] = {2.0f, 1.5f, 0, 0, 0, 0, 0, 0};
    int32_t seq_old[3] = {0, 5, 6}, seq_new[3] = {5, 0, 6};
    p.presence_penalty = 1.0f;
    p.penalty_last_n = 2;
    /* Window of 2: after 0, 5, 6 the window is {5, 6}, id 0 is no longer penalised. */
    CHECK(greedy_pick(&p, l, 8, seq_old, 3) == 0);
    /* After 5, 0, 6 it is {0, 6}: 2 - 1 = 1 < 1.5 -> 1. */
    CHECK(greedy_pick(&p, l, 8, seq_new, 3) == 1);
    p.penalty_last_n = 0;  /* no window: no penalties */
    CHECK(greedy_pick(&p, l, 8, seq_new, 3) == 0);
    p.penalty_last_n = -1; /* unbounded: everything since reset */
    CHECK(greedy_pick(&p, l, 8, seq_old, 3) == 1);
}

static void test_reset_clears_window(void) {
    rf_sampler_params p = plain(0.0f);
    float l[2] = {2.0f, 1.5f};
    rf_sampler *s = NULL;
    int32_t t = -1;
    p.presence_penalty = 1.0f;
    REQUIRE_ONCE(rf_sampler_new(&p, 2, &s) == RF_OK);
    rf_sampler_accept(s, 0);
    CHECK(rf_sampler_sample(s, l, &t) == RF_OK && t == 1);
    rf_sampler_reset(s);
    CHECK(rf_sampler_sample(s, l, &t) == RF_OK && t == 0);
    rf_sampler_free(s);
}

static void test_logit_bias(void) {
    float l[3] = {3.0f, 1.0f, 0.0f};
    long c[3];
    rf_logit_bias b[2];
    rf_sampler_params p = plain(1.0f);
    b[0].token = 0;
    b[0].bias = -INFINITY;  /* banned */
    b[1].token = 2;
    b[1].bias = 1.0f;       /* 0 + 1 = 1: ties with id 1 -> 50/50 */
    p.logit_bias = b;
    p.n_logit_bias = 2;
    REQUIRE_ONCE(draw_counts(&p, l, 3, 10000, c));
    CHECK(c[0] == 0);
    CHECKF(within_se(c[1], 10000, 0.5, 4.0), "p1 %g", c[1] / 10000.0);
    p.temperature = 0.0f;   /* greedy: the tie goes to the lower id */
    CHECK(greedy_pick(&p, l, 3, NULL, 0) == 1);
}

static void test_nan_inf_logits(void) {
    float nan_l[4] = {NAN, 1.0f, NAN, 0.5f};
    float all_ninf[3] = {-INFINITY, -INFINITY, NAN};
    float pinf[4] = {0.0f, INFINITY, 100.0f, INFINITY};
    long c[4];
    rf_sampler_params p = plain(0.0f);
    rf_sampler *s = NULL;
    int32_t t = 7;
    CHECK(greedy_pick(&p, nan_l, 4, NULL, 0) == 1);  /* NaN is -inf, never the max */
    p.temperature = 1.0f;
    REQUIRE_ONCE(draw_counts(&p, nan_l, 4, 2000, c));
    CHECK(c[0] == 0 && c[2] == 0);
    /* Every logit -inf/NaN: an error status, and token 0 so a careless caller stays in range. */
    REQUIRE_ONCE(rf_sampler_new(&p, 3, &s) == RF_OK);
    CHECK(rf_sampler_sample(s, all_ninf, &t) == RF_ERR_INVALID_ARG);
    CHECK(t == 0);
    rf_sampler_free(s);
    /* +inf tokens share the mass equally; finite ones (even 100) get none. */
    REQUIRE_ONCE(draw_counts(&p, pinf, 4, 10000, c));
    CHECK(c[0] == 0 && c[2] == 0);
    CHECKF(within_se(c[1], 10000, 0.5, 4.0), "p1 %g", c[1] / 10000.0);
    p.top_k = 3;
    p.top_p = 0.9f;
    p.min_p = 0.1f;
    p.typical_p = 0.9f;  /* every stage on: still no NaN trouble */
    REQUIRE_ONCE(draw_counts(&p, nan_l, 4, 1000, c));
    CHECK(c[0] == 0 && c[2] == 0);
    REQUIRE_ONCE(draw_counts(&p, pinf, 4, 1000, c));
    CHECK(c[0] == 0 && c[2] == 0);
}

/* ---------------------------------------------------------------------------------------------
   Stop strings */

static void scan(const char *const *stops, size_t n, const char *text, size_t *at, size_t *safe) {
    rf_stop_scan(stops, n, text, strlen(text), at, safe);
}

static void test_stop_first_match(void) {
    const char *stops[2] = {"</s>", "User:"};
    size_t at, safe;
    scan(stops, 2, "Hello User: hi </s>", &at, &safe);
    CHECK(at == 6 && safe == 6);          /* "User:" at 6 comes before "</s>" at 15 */
    scan(stops, 2, "no stop here", &at, &safe);
    CHECK(at == 12 && safe == 12);
    scan(stops, 2, "</s>", &at, &safe);
    CHECK(at == 0 && safe == 0);
}

static void test_stop_hold_back(void) {
    const char *stops[2] = {"</s>", "User:"};
    size_t at, safe;
    scan(stops, 2, "Hello </", &at, &safe);
    CHECK(at == 8 && safe == 6);          /* "</" may become "</s>" */
    scan(stops, 2, "Hello Use", &at, &safe);
    CHECK(at == 9 && safe == 6);
    scan(stops, 2, "Hello <", &at, &safe);
    CHECK(at == 7 && safe == 6);
    scan(stops, 2, "Hello s>", &at, &safe);
    CHECK(at == 8 && safe == 8);          /* a suffix of a stop is not a prefix of one */
    scan(stops, 2, "<", &at, &safe);
    CHECK(at == 1 && safe == 0);          /* the whole text may be a stop's start */
}

static void test_stop_overlapping(void) {
    const char *stops[3] = {"abcd", "bce", "aab"};
    size_t at, safe;
    /* Held tails: "aa" (prefix of "aab") is the longest. */
    scan(stops, 3, "xxaa", &at, &safe);
    CHECK(at == 4 && safe == 2);
    /* "aabc": "aab" complete at 0 wins over "abcd" that has not completed. */
    scan(stops, 3, "aabc", &at, &safe);
    CHECK(at == 0 && safe == 0);
    /* "xabce": "abcd" fails at 'e', "bce" completes at 2. */
    scan(stops, 3, "xabce", &at, &safe);
    CHECK(at == 2 && safe == 2);
    /* Self-overlapping stop: "aaab" in "xaaaab" at 2. */
    {
        const char *s1[1] = {"aaab"};
        scan(s1, 1, "xaaaab", &at, &safe);
        CHECK(at == 2 && safe == 2);
        scan(s1, 1, "xaaaa", &at, &safe); /* the longest held tail is "aaa" */
        CHECK(at == 5 && safe == 2);
    }
}

static void test_stop_empty_and_bounds(void) {
    const char *with_empty[3] = {"", NULL, "END"};
    size_t at = 99, safe = 99;
    char buf[8];
    rf_stop_scan(NULL, 0, "abc", 3, &at, &safe);
    CHECK(at == 3 && safe == 3);
    scan(with_empty, 3, "abc", &at, &safe);  /* empty and NULL stops never match */
    CHECK(at == 3 && safe == 3);
    scan(with_empty, 3, "abEN", &at, &safe);
    CHECK(at == 4 && safe == 2);
    rf_stop_scan(with_empty, 3, "", 0, &at, &safe);
    CHECK(at == 0 && safe == 0);
    /* Not NUL-terminated: "ENDX" with len 2 must see only "EN" (ASan catches over-reads
       into the rest only if we read past len; the X shows we do not match "END"). */
    memcpy(buf, "ENDXXXXX", 8);
    rf_stop_scan(with_empty, 3, buf, 2, &at, &safe);
    CHECK(at == 2 && safe == 0);
    rf_stop_scan(with_empty, 3, buf, 3, &at, &safe);
    CHECK(at == 0 && safe == 0);
}

/* rf_ctx_decode_sample on the CPU is rf_ctx_decode + rf_sampler_sample (api.h): the same tokens
   from the same seed on a random-weight model, 16 steps of the default chain; out may alias the
   input token; n < 1 and NULL arguments are refused. (The GPU's device sampling is checked
   against this in tests/gpu.) */
static void test_decode_sample_cpu(void) {
    rf_synth_params sy;
    rf_model *m = NULL;
    rf_ctx *ca = NULL, *cb = NULL;
    rf_sampler *sa = NULL, *sb = NULL;
    rf_sampler_params sp = rf_sampler_default_params();
    char path[512];
    int32_t prompt[4] = {5, 17, 300, 42}, ta = 0, tb = 0;
    int i, same = 1;
    rf_status st = RF_OK;
    memset(&sy, 0, sizeof sy);
    snprintf(path, sizeof path, "%s/decode_sample_model.gguf", getenv("RF_BUILD") ? getenv("RF_BUILD") : "build");
    REQUIRE(rf_synth_write(&sy, path) == RF_OK);
    REQUIRE(rf_model_load(path, NULL, &m) == RF_OK);
    REQUIRE_ONCE(rf_ctx_new(m, NULL, &ca) == RF_OK && rf_ctx_new(m, NULL, &cb) == RF_OK);
    sp.seed = 7;
    REQUIRE_ONCE(rf_sampler_new(&sp, rf_model_n_vocab(m), &sa) == RF_OK && rf_sampler_new(&sp, rf_model_n_vocab(m), &sb) == RF_OK);
    CHECK(rf_ctx_decode_sample(ca, prompt, 0, sa, &ta) == RF_ERR_INVALID_ARG);
    CHECK(rf_ctx_decode_sample(ca, prompt, 4, NULL, &ta) == RF_ERR_INVALID_ARG);
    CHECK(rf_ctx_decode_sample(ca, prompt, 4, sa, NULL) == RF_ERR_INVALID_ARG);
    CHECK(rf_ctx_pos(ca) == 0);
    st = rf_ctx_decode_sample(ca, prompt, 4, sa, &ta);
    if (st == RF_OK) st = rf_ctx_decode(cb, prompt, 4);
    if (st == RF_OK) st = rf_sampler_sample(sb, rf_ctx_logits(cb), &tb);
    for (i = 0; i < 16 && st == RF_OK; i++) {
        same &= ta == tb;
        rf_sampler_accept(sa, ta), rf_sampler_accept(sb, tb);
        st = rf_ctx_decode_sample(ca, &ta, 1, sa, &ta);
        if (st == RF_OK) st = rf_ctx_decode(cb, &tb, 1);
        if (st == RF_OK) st = rf_sampler_sample(sb, rf_ctx_logits(cb), &tb);
    }
    CHECKF(st == RF_OK, "%s", rf_last_error());
    CHECK(same && ta == tb && rf_ctx_pos(ca) == 20);
    rf_sampler_free(sa), rf_sampler_free(sb);
    rf_ctx_free(ca), rf_ctx_free(cb);
    rf_model_free(m);
    remove(path);
}

int main(void) {
    (void)rft_shared_dir;  /* rf_test.h's helper; these tests need no shared files */
    RUN(test_default_params);
    RUN(test_invalid_args);
    RUN(test_greedy_argmax_ties_lowest);
    RUN(test_top_k);
    RUN(test_top_k_large_vocab);
    RUN(test_top_p);
    RUN(test_min_p);
    RUN(test_typical_p);
    RUN(test_temperature);
    RUN(test_seed_reproducible);
    RUN(test_repeat_penalty);
    RUN(test_presence_frequency_penalty);
    RUN(test_penalty_window);
    RUN(test_reset_clears_window);
    RUN(test_logit_bias);
    RUN(test_nan_inf_logits);
    RUN(test_stop_first_match);
    RUN(test_stop_hold_back);
    RUN(test_stop_overlapping);
    RUN(test_stop_empty_and_bounds);
    RUN(test_decode_sample_cpu);
    return TEST_EXIT();
}
