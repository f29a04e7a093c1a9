/* rf_ctx_decode_sample: decode, then pick the next token with a sampler. On a GPU context whose
   sampler chain the device runs (src/sample.c's rf__sampler_plan: no logit bias, no active
   penalties, no typical-p; greedy or top-k up to RF_HIP_SAMPLE_K_MAX), the chain runs on the
   device from the uniform number the sampler's RNG would draw next, and only the token id comes
   back (hip.c, kernels/sample.hip). Otherwise it is rf_ctx_decode + rf_sampler_sample. Either
   way the token is the one rf_sampler_sample picks from the same logits and RNG state.

   It arms a pick in the context's GPU state and calls rf_ctx_decode, so the checks and the
   bookkeeping of a decode stay in forward.c. */

RF_API rf_status rf_ctx_decode_sample(rf_ctx *c, const int32_t *tokens, int32_t n, rf_sampler *s, int32_t *out) {
    rf__sample_plan plan;
    rf_status st;
    int32_t tok = 0, n_valid = 0;
    /* *out is written only after the decode: it may be the caller's tokens[0] (one-token steps). */
    if (!c || !s || !out || n < 1) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode_sample: bad arguments");
    if (!rf__sched_whole_gpu(c) || !rf__sampler_plan(s, &plan) || !rf__hip_pick_arm(c->gpu, &plan, rf__sampler_peek_uniform(s))) {
        if ((st = rf_ctx_decode(c, tokens, n)) != RF_OK) return *out = 0, st;
        return rf_sampler_sample(s, c->logits, out);
    }
    st = rf_ctx_decode(c, tokens, n);
    if (!rf__hip_pick_take(c->gpu, &tok, &n_valid) && st == RF_OK)
        st = rf__err(RF_ERR_DEVICE, "rf_ctx_decode_sample: the device made no pick (a bug)");
    *out = 0;
    if (st != RF_OK) return st;
    if (n_valid == 0)
        return rf__err(RF_ERR_INVALID_ARG, "rf_sampler_sample: every logit is -inf or NaN "
                       "(after bias and penalties); returned token 0");
    if (plan.temperature > 0.0f) rf__sampler_skip_uniform(s);
    *out = tok;
    return RF_OK;
}
