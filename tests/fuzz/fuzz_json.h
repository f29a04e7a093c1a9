/* Fuzz target body: the JSON reader and writer (src/json.c). The whole input is the text.
     1. rf_json_parse with the default limits. A failure leaves *out NULL and says why. A success
        is walked through every public accessor (types, lengths, i-th element, i-th key, lookup
        by key, strings, numbers, out-of-range indices), checking that strings hold no NUL and
        are valid UTF-8, that the limits held (depth, values, string bytes), and that the last
        duplicate key wins.
     2. The document is written back out (rf_json_escape for strings, %.17g for numbers) and
        parsed again: the same structure, and writing that out gives the same bytes.
     3. The same text with tight limits picked from the input's size: it parses if and only if
        the default parse did and the document fits those limits, to the same structure.
     4. rf_json_escape on the raw bytes: the buffer protocol (size query, exact and short buffers
        agree), and the literal parses back as one string (equal to the input when the input is
        valid UTF-8 without NUL).
   Shared by tests/fuzz/fuzz_json.c (libFuzzer) and tests/test_fuzz_replay.c (make test). */
#ifndef RF_FUZZ_JSON_H
#define RF_FUZZ_JSON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* The parser's explicit stack holds 256 open containers, whatever the limits ask for. */
#define RFF_JSON_STACK 256

typedef struct rff_jstats {
    int32_t nodes;     /* values, keys included */
    int32_t depth;     /* nesting: containers on the path to the deepest value, itself included */
    size_t max_str;    /* longest string (keys included) */
} rff_jstats;

typedef struct rff_buf {
    char *p;
    size_t n, cap;
} rff_buf;

static void rff_buf_put(rff_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = (char *)realloc(b->p, cap);
        rff_check(p != NULL);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, or > U+10FFFF). */
static int rff_utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t k, m;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) m = 1;
        else if (c >= 0xE0 && c <= 0xEF) { m = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { m = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return 0;
        if (n - i <= m) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (k = 2; k <= m; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += m + 1;
    }
    return 1;
}

static void rff_json_str_ok(const rf_json *j, int32_t node, rff_jstats *st) {
    size_t len = (size_t)-1;
    const char *s = rf_json_str(j, node, &len);
    rff_check(s != NULL);
    rff_check(len == (size_t)rf_json_len(j, node));
    rff_check(strlen(s) == len); /* no NUL inside: strings are C strings to their users */
    rff_check(rff_utf8_ok((const unsigned char *)s, len));
    rff_check(rf_json_num(j, node) == 0.0);
    if (len > st->max_str) st->max_str = len;
}

/* Walks the value at node (depth: containers around it); returns the index just past it. */
static int32_t rff_json_walk(const rf_json *j, int32_t node, int32_t depth, rff_jstats *st) {
    rf_json_type t = rf_json_type_of(j, node);
    int32_t n, i, next = node + 1;
    rff_check(t != RF_JSON_NONE);
    st->nodes++;
    {   /* the parser refuses to open a container when `depth` are open and depth >= max_depth */
        int32_t nest = depth + (t == RF_JSON_ARRAY || t == RF_JSON_OBJECT);
        if (nest > st->depth) st->depth = nest;
        rff_check(nest <= RFF_JSON_STACK);
    }
    if (t == RF_JSON_STRING) {
        rff_json_str_ok(j, node, st);
        return next;
    }
    rff_check(rf_json_str(j, node, NULL) == NULL);
    if (t != RF_JSON_NUMBER) rff_check(rf_json_num(j, node) == 0.0);
    if (t != RF_JSON_ARRAY && t != RF_JSON_OBJECT) {
        rff_check(rf_json_len(j, node) == 0);
        rff_check(rf_json_at(j, node, 0) == -1);
        return next;
    }
    n = rf_json_len(j, node);
    rff_check(n >= 0);
    for (i = 0; i < n; i++) {
        int32_t v = rf_json_at(j, node, i);
        if (t == RF_JSON_OBJECT) {
            const char *key = rf_json_key(j, node, i);
            int32_t found;
            rff_check(key != NULL);
            rff_check(v == next + 1); /* the key node sits just before its value */
            rff_check(rf_json_type_of(j, v - 1) == RF_JSON_STRING && rf_json_str(j, v - 1, NULL) == key);
            rff_json_str_ok(j, v - 1, st);
            st->nodes++;
            /* lookup by key finds this member or a later duplicate */
            found = rf_json_get(j, node, key);
            rff_check(found >= v);
            rff_check(strcmp(rf_json_key(j, node, i), key) == 0);
        } else {
            rff_check(rf_json_key(j, node, i) == NULL);
            rff_check(v == next);
        }
        next = rff_json_walk(j, v, depth + 1, st);
    }
    rff_check(rf_json_at(j, node, n) == -1);
    rff_check(rf_json_at(j, node, -1) == -1);
    rff_check(rf_json_key(j, node, n) == NULL);
    if (t == RF_JSON_OBJECT) {
        /* the last duplicate wins: the member rf_json_get returns has no later twin */
        for (i = 0; i < n; i++) {
            const char *key = rf_json_key(j, node, i);
            int32_t found = rf_json_get(j, node, key), k, last = -1;
            for (k = 0; k < n; k++)
                if (strcmp(rf_json_key(j, node, k), key) == 0) last = rf_json_at(j, node, k);
            rff_check(found == last);
        }
        rff_check(rf_json_get(j, node, NULL) == -1);
    } else {
        rff_check(rf_json_get(j, node, "") == -1);
    }
    return next;
}

static void rff_json_write(const rf_json *j, int32_t node, rff_buf *b) {
    rf_json_type t = rf_json_type_of(j, node);
    int32_t i, n;
    char tmp[64];
    switch (t) {
    case RF_JSON_NULL: rff_buf_put(b, "null", 4); return;
    case RF_JSON_TRUE: rff_buf_put(b, "true", 4); return;
    case RF_JSON_FALSE: rff_buf_put(b, "false", 5); return;
    case RF_JSON_NUMBER: {
        double x = rf_json_num(j, node);
        int k;
        rff_check(x == x); /* JSON has no NaN, and strtod of the grammar cannot make one */
        if (x > 1.7976931348623157e308) k = snprintf(tmp, sizeof tmp, "1e999");
        else if (x < -1.7976931348623157e308) k = snprintf(tmp, sizeof tmp, "-1e999");
        else k = snprintf(tmp, sizeof tmp, "%.17g", x);
        rff_check(k > 0 && (size_t)k < sizeof tmp);
        rff_buf_put(b, tmp, (size_t)k);
        return;
    }
    case RF_JSON_STRING: {
        size_t len, need = 0, got = 0;
        const char *s = rf_json_str(j, node, &len);
        char *e;
        rff_check(rf_json_escape(s, len, NULL, 0, &need) == (need > 0 ? RF_ERR_TOO_LARGE : RF_OK));
        e = (char *)malloc(need);
        rff_check(e != NULL);
        rff_check(rf_json_escape(s, len, e, need, &got) == RF_OK && got == need);
        rff_buf_put(b, e, need);
        free(e);
        return;
    }
    case RF_JSON_ARRAY:
    case RF_JSON_OBJECT:
        n = rf_json_len(j, node);
        rff_buf_put(b, t == RF_JSON_OBJECT ? "{" : "[", 1);
        for (i = 0; i < n; i++) {
            int32_t v = rf_json_at(j, node, i);
            if (i) rff_buf_put(b, ",", 1);
            if (t == RF_JSON_OBJECT) {
                rff_json_write(j, v - 1, b);
                rff_buf_put(b, ":", 1);
            }
            rff_json_write(j, v, b);
        }
        rff_buf_put(b, t == RF_JSON_OBJECT ? "}" : "]", 1);
        return;
    default: rff_check(!"a node of no type");
    }
}

/* Two documents hold the same values (numbers bit for bit, strings byte for byte). */
static void rff_json_same(const rf_json *a, int32_t na, const rf_json *b, int32_t nb) {
    rf_json_type t = rf_json_type_of(a, na);
    int32_t i, n;
    rff_check(t == rf_json_type_of(b, nb));
    rff_check(rf_json_len(a, na) == rf_json_len(b, nb));
    if (t == RF_JSON_NUMBER) {
        double x = rf_json_num(a, na), y = rf_json_num(b, nb);
        rff_check(memcmp(&x, &y, sizeof x) == 0);
    } else if (t == RF_JSON_STRING) {
        size_t la = 0, lb = 0;
        const char *sa = rf_json_str(a, na, &la), *sb = rf_json_str(b, nb, &lb);
        rff_check(la == lb && memcmp(sa, sb, la) == 0);
    } else if (t == RF_JSON_ARRAY || t == RF_JSON_OBJECT) {
        n = rf_json_len(a, na);
        for (i = 0; i < n; i++) {
            if (t == RF_JSON_OBJECT) rff_check(strcmp(rf_json_key(a, na, i), rf_json_key(b, nb, i)) == 0);
            rff_json_same(a, rf_json_at(a, na, i), b, rf_json_at(b, nb, i));
        }
    }
}

/* The tight limits for pass 3, from the input's size so the fuzzer can steer them. */
static rf_json_limits rff_json_tight(size_t size) {
    rf_json_limits l = rf_json_default_limits();
    l.max_depth = 1 + (int32_t)(size % 7);
    l.max_nodes = 1 + (size / 7) % 23;
    l.max_string = (size / 3) % 13;
    return l;
}

static void rff_json_escape_raw(const uint8_t *data, size_t size) {
    size_t need = 0, got = 0, half, got2 = 0, len;
    char *e, *e2;
    rf_json *j = NULL;
    const char *s;
    rf_status st = rf_json_escape((const char *)data, size, NULL, 0, &need);
    rff_check(st == RF_ERR_TOO_LARGE && need >= 2);
    e = (char *)malloc(need);
    half = need / 2;
    e2 = (char *)malloc(half ? half : 1);
    rff_check(e && e2);
    rff_check(rf_json_escape((const char *)data, size, e, need, &got) == RF_OK && got == need);
    rff_check(rf_json_escape((const char *)data, size, e2, half, &got2) == RF_ERR_TOO_LARGE && got2 == need);
    if (memchr(data, 0, size)) { /* \u0000 is JSON, but the reader refuses it (its strings are C strings) */
        free(e);
        free(e2);
        return;
    }
    rff_check(rf_json_parse(e, need, NULL, &j) == RF_OK);
    rff_check(rf_json_type_of(j, 0) == RF_JSON_STRING);
    s = rf_json_str(j, 0, &len);
    rff_check(s != NULL && rff_utf8_ok((const unsigned char *)s, len));
    if (rff_utf8_ok(data, size) && memchr(data, 0, size) == NULL) rff_check(len == size && memcmp(s, data, size) == 0);
    rf_json_free(j);
    free(e);
    free(e2);
}

static int rf_fuzz_json(const uint8_t *data, size_t size) {
    rf_json *j = NULL, *j2 = NULL, *jt = NULL;
    rf_json_limits def = rf_json_default_limits(), tight = rff_json_tight(size);
    rff_jstats st, st2;
    rff_buf out, out2;
    rf_status s, s2, stt;
    memset(&st, 0, sizeof st);
    memset(&st2, 0, sizeof st2);
    memset(&out, 0, sizeof out);
    memset(&out2, 0, sizeof out2);

    s = rf_json_parse((const char *)data, size, NULL, &j);
    stt = rf_json_parse((const char *)data, size, &tight, &jt);
    rff_check(s == RF_OK || s == RF_ERR_BAD_STRING || s == RF_ERR_TOO_LARGE);
    rff_check(stt == RF_OK || stt == RF_ERR_BAD_STRING || stt == RF_ERR_TOO_LARGE);
    rff_check((stt == RF_OK) == (jt != NULL));
    if (s != RF_OK) {
        rff_check(j == NULL);
        rff_check(rf_last_error()[0] != 0);
        /* tighter limits cannot make a bad document good; a too-large one stays too large */
        rff_check(stt != RF_OK);
        rff_json_escape_raw(data, size);
        return 0;
    }
    rff_check(j != NULL);
    rff_check(rff_json_walk(j, 0, 0, &st) == st.nodes);
    rff_check(rf_json_type_of(j, st.nodes) == RF_JSON_NONE); /* every node was reached */
    rff_check(rf_json_type_of(j, -1) == RF_JSON_NONE);
    rff_check(rf_json_type_of(NULL, 0) == RF_JSON_NONE);
    rff_check(st.depth <= def.max_depth && (size_t)st.nodes <= def.max_nodes && st.max_str <= def.max_string);

    /* round trip: write, parse, compare; the writer is a fixed point */
    rff_json_write(j, 0, &out);
    s2 = rf_json_parse(out.p, out.n, NULL, &j2);
    if (s2 != RF_OK) fprintf(stderr, "re-parse failed: %s\n%.*s\n", rf_last_error(), (int)(out.n < 400 ? out.n : 400), out.p);
    rff_check(s2 == RF_OK);
    rff_json_same(j, 0, j2, 0);
    rff_json_write(j2, 0, &out2);
    rff_check(out.n == out2.n && memcmp(out.p, out2.p, out.n) == 0);

    /* tight limits: accepted exactly when the document fits them */
    {
        int fits = st.depth <= tight.max_depth && (size_t)st.nodes <= tight.max_nodes && st.max_str <= tight.max_string;
        if (fits != (stt == RF_OK))
            fprintf(stderr, "tight limits depth %d nodes %zu string %zu; document depth %d nodes %d string %zu: %s\n",
                    tight.max_depth, tight.max_nodes, tight.max_string, st.depth, st.nodes, st.max_str,
                    stt == RF_OK ? "accepted" : rf_last_error());
        rff_check(fits == (stt == RF_OK));
        if (stt != RF_OK) rff_check(stt == RF_ERR_TOO_LARGE);
        else rff_json_same(j, 0, jt, 0);
    }
    rff_json_escape_raw(data, size);
    rf_json_free(j);
    rf_json_free(j2);
    rf_json_free(jt);
    free(out.p);
    free(out2.p);
    return 0;
}
#endif
