/* Sampler: turns one step's logits into a token id through a fixed chain, and finds stop
   strings in streamed text.

   The chain (api.h documents it for users):
       logit bias -> repeat/presence/frequency penalties -> [temperature <= 0: argmax]
       -> top-k -> typical-p -> top-p -> min-p -> temperature -> draw
   The filters (top-k .. min-p) look at the distribution at temperature 1; temperature only
   reshapes what survives them, as in llama.cpp's default chain.

   Numerics: logits are copied into a candidate list (id, logit) so the caller's array is
   never touched. NaN is treated as -inf (a token the model cannot mean), +inf as FLT_MAX (so
   several +inf tokens share the mass instead of producing inf - inf = NaN). Tokens at -inf
   are dropped before any filter. Probabilities are computed in double.

   Memory: rf_sampler_new allocates everything sampling needs, sized from n_vocab; sampling
   allocates nothing. */

/* A candidate token: its id and its current (biased, penalised, filtered) logit. */
typedef struct rf__cand {
    int32_t id;
    float logit;
} rf__cand;

/* A candidate with a sort key (typical-p's distance from the entropy) and its probability. */
typedef struct rf__keyed {
    double key;
    double p;
    rf__cand c;
} rf__keyed;

struct rf_sampler {
    rf_sampler_params p;      /* validated copy; p.logit_bias points at `bias` below */
    int32_t n_vocab;
    rf_logit_bias *bias;      /* copy of the caller's logit bias list */
    /* Penalty window: counts[t] is how often t occurs among the last penalty_last_n accepted
       tokens; `ring` holds those tokens in order so the oldest can be forgotten. With
       penalty_last_n < 0 the window is unbounded and there is no ring. */
    uint32_t *counts;
    int32_t *ring;
    int32_t ring_cap, ring_len, ring_head;  /* head: index of the oldest entry */
    /* Scratch for one sample() call. */
    rf__cand *cand;
    double *prob;             /* per candidate, parallel to cand */
    rf__keyed *keyed;        /* typical-p's sort */
    int32_t n_cand;
    uint64_t rng[4];          /* xoshiro256** state */
};

/* ---------------------------------------------------------------------------------------------
   RNG: xoshiro256** (Blackman & Vigna, 2018), seeded by expanding the 64-bit seed with
   splitmix64 as its authors recommend. Pure 64-bit integer arithmetic, so a seed gives the
   same stream on every platform and compiler. */

static uint64_t rf__splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rf__rng_seed(uint64_t st[4], uint64_t seed) {
    int i;
    /* splitmix64 never yields four zero words in a row, so the state is never all zero
       (the one state xoshiro cannot leave). */
    for (i = 0; i < 4; i++) st[i] = rf__splitmix64(&seed);
}

static uint64_t rf__rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rf__rng_next(uint64_t st[4]) {
    uint64_t result = rf__rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rf__rotl64(st[3], 45);
    return result;
}

/* Uniform double in [0, 1): the top 53 bits scaled by 2^-53, exact in every IEEE double. */
static double rf__rng_uniform(uint64_t st[4]) {
    return (double)(rf__rng_next(st) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------------------------------------
   Parameters and lifetime */

RF_API rf_sampler_params rf_sampler_default_params(void) {
    rf_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.typical_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.0f;
    p.penalty_last_n = 64;
    p.seed = 0xC0FFEE;
    return p;
}

RF_API void rf_sampler_free(rf_sampler *s) {
    if (!s) return;
    RF_FREE(s->bias);
    RF_FREE(s->counts);
    RF_FREE(s->ring);
    RF_FREE(s->cand);
    RF_FREE(s->prob);
    RF_FREE(s->keyed);
    RF_FREE(s);
}

RF_API rf_status rf_sampler_new(const rf_sampler_params *p, int32_t n_vocab, rf_sampler **out) {
    rf_sampler *s;
    size_t i;
    if (!out) return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: out is NULL");
    *out = NULL;
    if (!p) return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: params are NULL");
    if (n_vocab <= 0) return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: n_vocab %d", (int)n_vocab);
    /* NaN parameters would silently disable or break a stage; refuse them. (x != x is NaN.) */
    if (p->temperature != p->temperature || p->top_p != p->top_p || p->min_p != p->min_p ||
        p->typical_p != p->typical_p || p->repeat_penalty != p->repeat_penalty ||
        p->presence_penalty != p->presence_penalty || p->frequency_penalty != p->frequency_penalty)
        return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: a parameter is NaN");
    if (p->repeat_penalty <= 0.0f)
        return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: repeat_penalty %g must be > 0 (1 is off)",
                       (double)p->repeat_penalty);
    if (p->n_logit_bias && !p->logit_bias)
        return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: n_logit_bias %zu but logit_bias is NULL",
                       p->n_logit_bias);
    for (i = 0; i < p->n_logit_bias; i++) {
        int32_t t = p->logit_bias[i].token;
        if (t < 0 || t >= n_vocab)
            return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_new: logit_bias[%zu].token %d outside [0, %d)",
                           i, (int)t, (int)n_vocab);
    }

    s = RF__NEWZ(rf_sampler, 1);
    if (!s) return rf__err(RF_ERR_OOM, "rf_sampler_new: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->ring_cap = p->penalty_last_n > 0 ? p->penalty_last_n : 0;
    s->counts = RF__NEWZ(uint32_t, n_vocab);
    s->cand = RF__NEW(rf__cand, n_vocab);
    s->prob = RF__NEW(double, n_vocab);
    s->keyed = RF__NEW(rf__keyed, n_vocab);
    if (s->ring_cap) s->ring = RF__NEW(int32_t, s->ring_cap);
    if (p->n_logit_bias) {
        s->bias = RF__NEW(rf_logit_bias, p->n_logit_bias);
        if (s->bias) memcpy(s->bias, p->logit_bias, sizeof(rf_logit_bias) * p->n_logit_bias);
    }
    if (!s->counts || !s->cand || !s->prob || !s->keyed || (s->ring_cap && !s->ring) ||
        (p->n_logit_bias && !s->bias)) {
        rf_sampler_free(s);
        return rf__err(RF_ERR_OOM, "rf_sampler_new: out of memory (n_vocab %d)", (int)n_vocab);
    }
    s->p.logit_bias = s->bias;
    rf__rng_seed(s->rng, p->seed);
    *out = s;
    return RF_OK;
}

RF_API void rf_sampler_reset(rf_sampler *s) {
    if (!s) return;
    memset(s->counts, 0, sizeof(uint32_t) * (size_t)s->n_vocab);
    s->ring_len = 0;
    s->ring_head = 0;
    rf__rng_seed(s->rng, s->p.seed);
}

RF_API void rf_sampler_accept(rf_sampler *s, int32_t token) {
    /* Out-of-range ids cannot be penalised; ignoring them keeps counts[] in bounds. */
    if (!s || token < 0 || token >= s->n_vocab || s->p.penalty_last_n == 0) return;
    if (s->ring_cap) {
        if (s->ring_len == s->ring_cap) {  /* full: forget the oldest token */
            s->counts[s->ring[s->ring_head]]--;
            s->ring[s->ring_head] = token;
            s->ring_head = (s->ring_head + 1) % s->ring_cap;
        } else {
            s->ring[(s->ring_head + s->ring_len) % s->ring_cap] = token;
            s->ring_len++;
        }
    }
    if (s->counts[token] < UINT32_MAX) s->counts[token]++;
}

/* ---------------------------------------------------------------------------------------------
   Ordering. Candidates are ordered by logit, highest first, ties to the lower id: a total
   order, so every sort below gives one answer on every platform whatever qsort does. */

static int rf__cand_before(const rf__cand *a, const rf__cand *b) {
    if (a->logit != b->logit) return a->logit > b->logit;
    return a->id < b->id;
}

static int rf__cand_cmp(const void *pa, const void *pb) {
    const rf__cand *a = (const rf__cand *)pa, *b = (const rf__cand *)pb;
    if (rf__cand_before(a, b)) return -1;
    if (rf__cand_before(b, a)) return 1;
    return 0;
}

static int rf__keyed_cmp(const void *pa, const void *pb) {
    const rf__keyed *a = (const rf__keyed *)pa, *b = (const rf__keyed *)pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return rf__cand_cmp(&a->c, &b->c);
}

/* Min-heap on "before": the root is the worst of the kept candidates. */
static void rf__heap_sift_down(rf__cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        rf__cand t;
        if (l < n && rf__cand_before(&h[w], &h[l])) w = l;
        if (r < n && rf__cand_before(&h[w], &h[r])) w = r;
        if (w == i) return;
        t = h[i]; h[i] = h[w]; h[w] = t;
        i = w;
    }
}

/* Keep the k best candidates, sorted best first, in O(n log k): a heap of the k best so far
   replaces its worst whenever a better one comes by; then a heap sort puts them in order.
   This avoids sorting the whole vocabulary (150k+) on every token. */
static void rf__top_k(rf__cand *c, int32_t n, int32_t k) {
    int32_t i;
    rf__cand t;
    for (i = k / 2 - 1; i >= 0; i--) rf__heap_sift_down(c, k, i);
    for (i = k; i < n; i++) {
        if (rf__cand_before(&c[i], &c[0])) {
            c[0] = c[i];
            rf__heap_sift_down(c, k, 0);
        }
    }
    /* Pop the worst to the back, repeatedly: leaves c[0..k) best first. */
    for (i = k - 1; i > 0; i--) {
        t = c[0]; c[0] = c[i]; c[i] = t;
        rf__heap_sift_down(c, i, 0);
    }
}

/* Softmax of the candidates' logits at temperature 1 (in double) into s->prob. */
static void rf__sampler_softmax(rf_sampler *s) {
    int32_t i, n = s->n_cand;
    double mx = s->cand[0].logit, sum = 0.0;
    for (i = 1; i < n; i++) if (s->cand[i].logit > mx) mx = s->cand[i].logit;
    for (i = 0; i < n; i++) sum += (s->prob[i] = exp((double)s->cand[i].logit - mx));
    for (i = 0; i < n; i++) s->prob[i] /= sum;
}

/* ---------------------------------------------------------------------------------------------
   The chain's stages. Each works on s->cand[0..n_cand) and may shrink n_cand (never to 0). */

static int rf__penalties_on(const rf_sampler_params *p) {
    return p->penalty_last_n != 0 &&
           (p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f);
}

static void rf__apply_penalties(rf_sampler *s) {
    const rf_sampler_params *p = &s->p;
    int32_t i;
    if (!rf__penalties_on(p)) return;
    /* The candidates are still in id order here, so cand[t] is token t. Looping over the
       vocabulary (not the window) applies each penalty once per distinct token. */
    for (i = 0; i < s->n_vocab; i++) {
        uint32_t c = s->counts[i];
        float l;
        if (!c) continue;
        l = s->cand[i].logit;
        /* Dividing a positive logit and multiplying a negative one both make the token less
           likely (CTRL, Keskar et al. 2019, as llama.cpp applies it). */
        l = l > 0.0f ? l / p->repeat_penalty : l * p->repeat_penalty;
        l -= (float)c * p->frequency_penalty + p->presence_penalty;
        s->cand[i].logit = l;
    }
}

/* Locally typical sampling (Meister et al. 2022): order tokens by how far their surprise
   -log p is from the entropy of the distribution, most typical first, and keep the smallest
   such prefix whose mass reaches typical_p (compared at float precision, as in top-p). */
static void rf__typical(rf_sampler *s, float typical_p) {
    int32_t i, n = s->n_cand;
    double ent = 0.0, cum = 0.0;
    rf__sampler_softmax(s);
    for (i = 0; i < n; i++)
        if (s->prob[i] > 0.0) ent -= s->prob[i] * log(s->prob[i]);
    for (i = 0; i < n; i++) {
        /* p == 0 (underflow) is as atypical as a token gets. */
        s->keyed[i].key = s->prob[i] > 0.0 ? fabs(-log(s->prob[i]) - ent) : HUGE_VAL;
        s->keyed[i].p = s->prob[i];
        s->keyed[i].c = s->cand[i];
    }
    qsort(s->keyed, (size_t)n, sizeof(rf__keyed), rf__keyed_cmp);
    for (i = 0; i < n; i++) {
        s->cand[i] = s->keyed[i].c;
        s->prob[i] = s->keyed[i].p;
    }
    for (i = 0; i < n; i++) {
        cum += s->prob[i];
        if ((float)cum >= typical_p) {
            s->n_cand = i + 1;
            return;
        }
    }
}

/* Nucleus sampling (Holtzman et al. 2020): the smallest set of most likely tokens whose mass
   reaches top_p. The sum is compared at float precision because top_p is a float: 0.8f is
   0.800000012, and a mass of exactly 0.8 should count as reaching it. */
static void rf__top_p(rf_sampler *s, float top_p) {
    int32_t i, n = s->n_cand;
    double cum = 0.0;
    qsort(s->cand, (size_t)n, sizeof(rf__cand), rf__cand_cmp);
    rf__sampler_softmax(s);
    for (i = 0; i < n; i++) {
        cum += s->prob[i];
        if ((float)cum >= top_p) {
            s->n_cand = i + 1;
            return;
        }
    }
}

/* Keep tokens whose probability is at least min_p times the most likely one's. */
static void rf__min_p(rf_sampler *s, float min_p) {
    int32_t i, kept = 0;
    double pmax = 0.0;
    rf__sampler_softmax(s);
    for (i = 0; i < s->n_cand; i++) if (s->prob[i] > pmax) pmax = s->prob[i];
    for (i = 0; i < s->n_cand; i++) {
        if (s->prob[i] >= (double)min_p * pmax) {
            s->cand[kept] = s->cand[i];
            s->prob[kept] = s->prob[i];
            kept++;
        }
    }
    s->n_cand = kept;  /* >= 1: the most likely token always passes */
}

/* Softmax at temperature t, then walk the cumulative mass up to a uniform draw. */
static int32_t rf__draw(rf_sampler *s, double t) {
    int32_t i, n = s->n_cand;
    double mx = s->cand[0].logit, sum = 0.0, target, cum = 0.0;
    for (i = 1; i < n; i++) if (s->cand[i].logit > mx) mx = s->cand[i].logit;
    /* (l - max) / t <= 0, so exp never overflows even for tiny t; the max itself gives 1. */
    for (i = 0; i < n; i++) sum += (s->prob[i] = exp(((double)s->cand[i].logit - mx) / t));
    target = rf__rng_uniform(s->rng) * sum;
    for (i = 0; i < n; i++) {
        cum += s->prob[i];
        if (target < cum) return s->cand[i].id;
    }
    return s->cand[n - 1].id;  /* rounding left target == sum: the last candidate */
}

RF_API rf_status rf_sampler_sample(rf_sampler *s, const float *logits, int32_t *out) {
    const rf_sampler_params *p;
    int32_t i, n;
    size_t b;
    if (out) *out = 0;
    if (!s || !logits || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_sample: NULL argument");
    p = &s->p;

    for (i = 0; i < s->n_vocab; i++) {
        s->cand[i].id = i;
        s->cand[i].logit = logits[i];
    }
    for (b = 0; b < p->n_logit_bias; b++) s->cand[p->logit_bias[b].token].logit += p->logit_bias[b].bias;
    rf__apply_penalties(s);

    /* Drop -inf (and NaN) candidates; clamp +inf. Keeps id order. */
    n = 0;
    for (i = 0; i < s->n_vocab; i++) {
        float l = s->cand[i].logit;
        if (l != l || l == -INFINITY) continue;
        if (l == INFINITY) l = FLT_MAX;
        s->cand[n].id = s->cand[i].id;
        s->cand[n].logit = l;
        n++;
    }
    s->n_cand = n;
    if (n == 0)
        return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_sample: every logit is -inf or NaN "
                       "(after bias and penalties); returned token 0");

    if (p->temperature <= 0.0f) {
        /* Argmax; strict > keeps the lowest id among ties, as the list is in id order. */
        int32_t best = 0;
        for (i = 1; i < n; i++) if (s->cand[i].logit > s->cand[best].logit) best = i;
        *out = s->cand[best].id;
        return RF_OK;
    }

    if (p->top_k > 0 && p->top_k < s->n_cand) {
        rf__top_k(s->cand, s->n_cand, p->top_k);
        s->n_cand = p->top_k;
    }
    if (p->typical_p < 1.0f && s->n_cand > 1) rf__typical(s, p->typical_p);
    if (p->top_p < 1.0f && s->n_cand > 1) rf__top_p(s, p->top_p);
    if (p->min_p > 0.0f && s->n_cand > 1) rf__min_p(s, p->min_p);
    *out = rf__draw(s, (double)p->temperature);
    return RF_OK;
}

/* ---------------------------------------------------------------------------------------------
   The chain on a device (rf_ctx_decode_sample, hip.c, kernels/sample.hip). A device that holds
   the logits runs the stages below from these parameters, with the uniform number this
   sampler's RNG would draw next; the semantics stay rf_sampler_sample's above. */

typedef struct rf__sample_plan {
    int32_t n_vocab;
    int32_t top_k;       /* as rf_sampler_params: <= 0 off (a device may refuse that) */
    float temperature;   /* <= 0: greedy */
    float top_p, min_p;
} rf__sample_plan;

/* 1 and *out filled when the chain is one a device runs without the host's state: no logit
   bias, no active penalties (they read the accepted-token window), and typical-p off unless
   greedy (greedy ignores it). 0: decode to host logits and call rf_sampler_sample. */
static int rf__sampler_plan(const rf_sampler *s, rf__sample_plan *out) {
    const rf_sampler_params *p = &s->p;
    out->n_vocab = s->n_vocab;
    out->top_k = p->top_k;
    out->temperature = p->temperature;
    out->top_p = p->top_p;
    out->min_p = p->min_p;
    if (p->n_logit_bias || rf__penalties_on(p)) return 0;
    return p->temperature <= 0.0f || p->typical_p >= 1.0f;
}

/* The uniform number rf__draw would use next, without using it up: the host advances with
   rf__sampler_skip_uniform once the device has drawn (and not when there was nothing to draw,
   as rf_sampler_sample draws nothing then). */
static double rf__sampler_peek_uniform(const rf_sampler *s) {
    uint64_t st[4];
    memcpy(st, s->rng, sizeof st);
    return rf__rng_uniform(st);
}
static void rf__sampler_skip_uniform(rf_sampler *s) { (void)rf__rng_next(s->rng); }

/* ---------------------------------------------------------------------------------------------
   Stop strings */

/* 1 if needle[0..m) occurs at text[at..at+m), which the caller keeps inside the text. */
static int rf__match_at(const char *text, size_t at, const char *needle, size_t m) {
    return memcmp(text + at, needle, m) == 0;
}

RF_API void rf_stop_scan(const char *const *stops, size_t n_stops, const char *text, size_t len,
                         size_t *stop_at, size_t *safe_len) {
    size_t first = len, hold = 0, i, at, k;
    if (!text) len = 0;
    first = len;
    /* The earliest complete occurrence of any stop string. Empty and NULL stops never match
       (an empty stop would end every generation at once). */
    for (i = 0; stops && i < n_stops; i++) {
        size_t m;
        if (!stops[i] || !(m = strlen(stops[i])) || m > len) continue;
        for (at = 0; at + m <= len && at < first; at++) {
            if (rf__match_at(text, at, stops[i], m)) {
                first = at;
                break;
            }
        }
    }
    if (first < len) {
        if (stop_at) *stop_at = first;
        if (safe_len) *safe_len = first;
        return;
    }
    /* No stop yet: hold back the longest tail that is a proper prefix of some stop string, as
       the next piece of text may complete it. */
    for (i = 0; stops && i < n_stops; i++) {
        size_t m = stops[i] ? strlen(stops[i]) : 0;
        for (k = RF__MIN(m ? m - 1 : 0, len); k > hold; k--) {
            if (rf__match_at(text, len - k, stops[i], k)) {
                hold = k;
                break;
            }
        }
    }
    if (stop_at) *stop_at = len;
    if (safe_len) *safe_len = len - hold;
}
