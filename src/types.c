/* The table of tensor types. Ids, block sizes and byte sizes are ggml's (the GGUF spec's type
   table); Q8_1 is 36 bytes as ggml lays it out (fp16 d, fp16 s, 32 x int8) -- gguf-py's
   constant table still says 40, from an older float/float layout that no file carries. */

#define RF__T(name, bs, ts, deq, q, dot) {name, bs, ts, deq, q, dot}
static const rf_type_traits rf__types[RF_TYPE_COUNT] = {
    /*  0 */ RF__T("f32", 1, 4, 1, 1, RF_TYPE_F32),
    /*  1 */ RF__T("f16", 1, 2, 1, 1, RF_TYPE_F32),
    /*  2 */ RF__T("q4_0", 32, 18, 1, 1, RF_TYPE_Q8_0),
    /*  3 */ RF__T("q4_1", 32, 20, 1, 1, RF_TYPE_Q8_1),
    /*  4 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired Q4_2 */
    /*  5 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired Q4_3 */
    /*  6 */ RF__T("q5_0", 32, 22, 1, 1, RF_TYPE_Q8_0),
    /*  7 */ RF__T("q5_1", 32, 24, 1, 1, RF_TYPE_Q8_1),
    /*  8 */ RF__T("q8_0", 32, 34, 1, 1, RF_TYPE_Q8_0),
    /*  9 */ RF__T("q8_1", 32, 36, 1, 1, RF_TYPE_Q8_1),
    /* 10 */ RF__T("q2_K", 256, 84, 1, 1, RF_TYPE_Q8_K),
    /* 11 */ RF__T("q3_K", 256, 110, 1, 1, RF_TYPE_Q8_K),
    /* 12 */ RF__T("q4_K", 256, 144, 1, 1, RF_TYPE_Q8_K),
    /* 13 */ RF__T("q5_K", 256, 176, 1, 1, RF_TYPE_Q8_K),
    /* 14 */ RF__T("q6_K", 256, 210, 1, 1, RF_TYPE_Q8_K),
    /* 15 */ RF__T("q8_K", 256, 292, 1, 1, RF_TYPE_Q8_K),
    /* 16 */ RF__T("iq2_xxs", 256, 66, 0, 0, RF_TYPE_Q8_K),
    /* 17 */ RF__T("iq2_xs", 256, 74, 0, 0, RF_TYPE_Q8_K),
    /* 18 */ RF__T("iq3_xxs", 256, 98, 0, 0, RF_TYPE_Q8_K),
    /* 19 */ RF__T("iq1_s", 256, 50, 0, 0, RF_TYPE_Q8_K),
    /* 20 */ RF__T("iq4_nl", 32, 18, 1, 1, RF_TYPE_Q8_0),
    /* 21 */ RF__T("iq3_s", 256, 110, 0, 0, RF_TYPE_Q8_K),
    /* 22 */ RF__T("iq2_s", 256, 82, 0, 0, RF_TYPE_Q8_K),
    /* 23 */ RF__T("iq4_xs", 256, 136, 1, 1, RF_TYPE_Q8_K),
    /* 24 */ RF__T("i8", 1, 1, 0, 0, RF_TYPE_F32),
    /* 25 */ RF__T("i16", 1, 2, 0, 0, RF_TYPE_F32),
    /* 26 */ RF__T("i32", 1, 4, 0, 0, RF_TYPE_F32),
    /* 27 */ RF__T("i64", 1, 8, 0, 0, RF_TYPE_F32),
    /* 28 */ RF__T("f64", 1, 8, 0, 0, RF_TYPE_F32),
    /* 29 */ RF__T("iq1_m", 256, 56, 0, 0, RF_TYPE_Q8_K),
    /* 30 */ RF__T("bf16", 1, 2, 1, 1, RF_TYPE_F32),
    /* 31 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired Q4_0_4_4 */
    /* 32 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired Q4_0_4_8 */
    /* 33 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired Q4_0_8_8 */
    /* 34 */ RF__T("tq1_0", 256, 54, 0, 0, RF_TYPE_Q8_K),
    /* 35 */ RF__T("tq2_0", 256, 66, 0, 0, RF_TYPE_Q8_K),
    /* 36 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired IQ4_NL_4_4 */
    /* 37 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired IQ4_NL_4_8 */
    /* 38 */ RF__T(NULL, 0, 0, 0, 0, RF_TYPE_F32),  /* retired IQ4_NL_8_8 */
    /* 39 */ RF__T("mxfp4", 32, 17, 1, 1, RF_TYPE_Q8_0),
};
#undef RF__T

RF_API const rf_type_traits *rf_type_get(uint32_t type_id) {
    if (type_id >= RF_TYPE_COUNT || !rf__types[type_id].name) return NULL;
    return &rf__types[type_id];
}

RF_API const char *rf_type_name(uint32_t type_id) {
    const rf_type_traits *t = rf_type_get(type_id);
    return t ? t->name : "?";
}

static int rf__strieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        int ca = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a, cb = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
        if (ca != cb) return 0;
    }
    return *a == *b;
}

RF_API int rf_type_from_name(const char *name, rf_type *out) {
    int i;
    if (!name) return 0;
    for (i = 0; i < RF_TYPE_COUNT; i++) {
        if (rf__types[i].name && rf__strieq(rf__types[i].name, name)) {
            if (out) *out = (rf_type)i;
            return 1;
        }
    }
    return 0;
}

RF_API rf_status rf_type_row_bytes(rf_type type, int64_t n, uint64_t *out) {
    const rf_type_traits *t = rf_type_get((uint32_t)type);
    uint64_t bytes;
    if (!t) return rf__err(RF_ERR_BAD_TYPE, "unknown tensor type id %d", (int)type);
    if (n < 0 || n % t->block_size != 0)
        return rf__err(RF_ERR_BAD_SHAPE, "%lld elements of type %s: not a multiple of its block size %d",
                       (long long)n, t->name, (int)t->block_size);
    if (!rf__mul_u64((uint64_t)(n / t->block_size), (uint64_t)t->type_size, &bytes))
        return rf__err(RF_ERR_TOO_LARGE, "%lld elements of type %s: byte size overflows", (long long)n, t->name);
    if (out) *out = bytes;
    return RF_OK;
}
