/* GGUF v2/v3 reader.

   File layout (GGUF spec; gguf-py's gguf_reader.py reads the same fields in the same order):
       "GGUF"  u32 version  u64 n_tensors  u64 n_kv
       n_kv x      { string key, u32 value_type, value }
       n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
       padding to general.alignment (default 32), then the data section; each tensor's offset is
       relative to the data section and a multiple of the alignment.
   A string is u64 length + bytes (no NUL). An array is u32 element type + u64 count + elements;
   elements may be strings or arrays themselves. v1 had 32-bit counts and lengths; v2 moved
   them to 64 bits and v3 added big-endian files, so v2 and v3 share one encoding.

   Every length and count is checked against the bytes left in the file before it is used,
   so nothing below reads past `size` or allocates more than a small multiple of the file size.

   All multi-byte fields are little-endian and read with memcpy (they are unaligned). On a
   little-endian host memcpy is the decode; big-endian hosts are out of scope (they would need a
   byte swap in rf__gguf_rd16/32/64 and the writer's rf__gguf_wr*). */

/* Limits. Names: llama.cpp's own keys are < 100 bytes; 64 KiB is generous and keeps error
   messages and hash keys small. Depth: real files nest at most 2 levels; 8 bounds recursion.
   RF__GGUF_MAX_BYTES: a count whose minimal encoding needs more than 2^48 bytes (256 TiB) could
   not be in any file, so it is TOO_LARGE; a smaller one that exceeds the bytes left in this
   file is TRUNCATED. */
#define RF__GGUF_MAX_NAME 65535u
#define RF__GGUF_MAX_DEPTH 8
#define RF__GGUF_MAX_BYTES ((uint64_t)1 << 48)
#define RF__GGUF_DEFAULT_ALIGNMENT 32u
#define RF__GGUF_NAMEFMT "%.*s" /* with RF__GGUF_SHOWN(name): keys in messages are cut at 128 bytes */
#define RF__GGUF_SHOWN(s) 128, (s)

/* Byte size of each fixed-size value type; 0 for STRING and ARRAY (variable size). */
static const uint8_t rf__gguf_vsize[RF_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const rf__gguf_vname[RF_GGUF_VTYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};

/* One parsed array. Fixed-size elements are read straight from `data`; strings and nested
   arrays vary in size, so their positions are recorded once at open time. */
typedef struct rf__gguf_arr {
    rf_gguf_vtype elem_type;
    uint64_t n;
    const uint8_t *data;       /* first element, inside the file */
    uint64_t *offs;            /* STRING elements: offset of element i's length field from data */
    struct rf__gguf_arr *sub;  /* ARRAY elements: one node per element */
} rf__gguf_arr;

typedef struct rf__gguf_kv {
    char *key;
    rf_gguf_value v;
    rf__gguf_arr *arr;   /* ARRAY only; v.priv_ points here */
    const uint8_t *raw;  /* the encoded value (after the type field), for rf_gguf_writer_copy_kv */
    uint64_t raw_len;
} rf__gguf_kv;

/* Open-addressing hash from name to index (keys and tensor names): lookups and the duplicate
   check stay linear-time even for files with many entries. */
typedef struct rf__gguf_slot {
    const char *name;  /* NULL: empty */
    int64_t i;
} rf__gguf_slot;
typedef struct rf__gguf_index {
    rf__gguf_slot *slots;
    uint64_t mask;
} rf__gguf_index;

struct rf_gguf {
    const uint8_t *base;  /* the whole file */
    uint64_t size;
    void *map;            /* mmap'ed region, or NULL */
    uint8_t *owned;       /* read() buffer, or NULL */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;         /* entries allocated in kv (all zeroed until parsed) */
    rf__gguf_kv *kv;
    int64_t n_tensors;
    rf_gguf_tensor *tensors;
    rf__gguf_index kv_index, tensor_index;
};

static uint16_t rf__gguf_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rf__gguf_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rf__gguf_rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int rf__gguf_is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* ---- name index ---- */

static uint64_t rf__gguf_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static rf_status rf__gguf_index_init(rf__gguf_index *x, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;  /* n is bounded by the file size, so this cannot overflow */
    x->slots = RF__NEWZ(rf__gguf_slot, cap);
    if (!x->slots) return rf__err(RF_ERR_OOM, "out of memory for a %llu-entry name index", (unsigned long long)n);
    x->mask = cap - 1;
    return RF_OK;
}

/* Index of `name`, or -1. */
static int64_t rf__gguf_index_find(const rf__gguf_index *x, const char *name) {
    uint64_t h;
    if (!x->slots) return -1;
    for (h = rf__gguf_hash(name) & x->mask; x->slots[h].name; h = (h + 1) & x->mask)
        if (strcmp(x->slots[h].name, name) == 0) return x->slots[h].i;
    return -1;
}

/* Insert name -> i unless present; returns the existing index, or -1 when inserted. The table is
   at least twice the number of entries, so a free slot always exists. */
static int64_t rf__gguf_index_insert(rf__gguf_index *x, const char *name, int64_t i) {
    uint64_t h;
    for (h = rf__gguf_hash(name) & x->mask; x->slots[h].name; h = (h + 1) & x->mask)
        if (strcmp(x->slots[h].name, name) == 0) return x->slots[h].i;
    x->slots[h].name = name;
    x->slots[h].i = i;
    return -1;
}

/* ---- cursor over the file ---- */

typedef struct rf__gguf_cur {
    const uint8_t *p;
    uint64_t size, pos;  /* invariant: pos <= size */
} rf__gguf_cur;

static uint64_t rf__gguf_left(const rf__gguf_cur *c) { return c->size - c->pos; }

static rf_status rf__gguf_need(const rf__gguf_cur *c, uint64_t n, const char *what, const char *field) {
    if (n <= rf__gguf_left(c)) return RF_OK;
    return rf__err(RF_ERR_TRUNCATED, "%s: %s (%llu bytes at offset %llu) runs past end of file (%llu bytes)",
                   what, field, (unsigned long long)n, (unsigned long long)c->pos, (unsigned long long)c->size);
}

static rf_status rf__gguf_u32(rf__gguf_cur *c, const char *what, const char *field, uint32_t *out) {
    rf_status st = rf__gguf_need(c, 4, what, field);
    if (st) return st;
    *out = rf__gguf_rd32(c->p + c->pos);
    c->pos += 4;
    return RF_OK;
}

static rf_status rf__gguf_u64(rf__gguf_cur *c, const char *what, const char *field, uint64_t *out) {
    rf_status st = rf__gguf_need(c, 8, what, field);
    if (st) return st;
    *out = rf__gguf_rd64(c->p + c->pos);
    c->pos += 8;
    return RF_OK;
}

/* A count of things that take at least `min_bytes` each must fit in what is left of the file. */
static rf_status rf__gguf_check_count(const rf__gguf_cur *c, uint64_t count, uint64_t min_bytes,
                                      const char *what, const char *field) {
    uint64_t need;
    if (!rf__mul_u64(count, min_bytes, &need) || need > RF__GGUF_MAX_BYTES)
        return rf__err(RF_ERR_TOO_LARGE, "%s: %s %llu is too large (at least %llu bytes each; limit 2^48 bytes)",
                       what, field, (unsigned long long)count, (unsigned long long)min_bytes);
    if (need > rf__gguf_left(c))
        return rf__err(RF_ERR_TRUNCATED, "%s: %s %llu needs at least %llu bytes at offset %llu, but the file has %llu",
                       what, field, (unsigned long long)count, (unsigned long long)need,
                       (unsigned long long)c->pos, (unsigned long long)c->size);
    return RF_OK;
}

/* A key or tensor name: non-empty, at most RF__GGUF_MAX_NAME bytes, no NUL; copied with a NUL. */
static rf_status rf__gguf_name(rf__gguf_cur *c, const char *what, char **out) {
    uint64_t len;
    const uint8_t *s;
    rf_status st = rf__gguf_u64(c, what, "name length", &len);
    if (st) return st;
    if (len == 0) return rf__err(RF_ERR_BAD_STRING, "%s: empty name", what);
    if (len > RF__GGUF_MAX_NAME)
        return rf__err(RF_ERR_BAD_STRING, "%s: name length %llu exceeds the limit of %u bytes", what,
                       (unsigned long long)len, RF__GGUF_MAX_NAME);
    if ((st = rf__gguf_need(c, len, what, "name"))) return st;
    s = c->p + c->pos;
    if (memchr(s, 0, (size_t)len))
        return rf__err(RF_ERR_BAD_STRING, "%s: name has a NUL byte at position %llu", what,
                       (unsigned long long)((const uint8_t *)memchr(s, 0, (size_t)len) - s));
    if (!(*out = RF__NEW(char, len + 1))) return rf__err(RF_ERR_OOM, "%s: out of memory", what);
    memcpy(*out, s, (size_t)len);
    (*out)[len] = 0;
    c->pos += len;
    return RF_OK;
}

/* ---- values ---- */

/* Widen the fixed-size scalar at p into v (the file bytes were bounds-checked by the caller). */
static void rf__gguf_scalar(rf_gguf_vtype t, const uint8_t *p, rf_gguf_value *v) {
    float f32;
    double f64;
    memset(v, 0, sizeof *v);
    v->type = t;
    switch (t) {
    case RF_GGUF_U8: v->u = p[0]; break;
    case RF_GGUF_BOOL: v->u = p[0] != 0; break;
    case RF_GGUF_U16: v->u = rf__gguf_rd16(p); break;
    case RF_GGUF_U32: v->u = rf__gguf_rd32(p); break;
    case RF_GGUF_U64: v->u = rf__gguf_rd64(p); break;
    case RF_GGUF_I8: v->i = (int8_t)p[0]; break;
    case RF_GGUF_I16: v->i = (int16_t)rf__gguf_rd16(p); break;
    case RF_GGUF_I32: v->i = (int32_t)rf__gguf_rd32(p); break;
    case RF_GGUF_I64: v->i = (int64_t)rf__gguf_rd64(p); break;
    case RF_GGUF_F32: memcpy(&f32, p, 4); v->f = f32; return;
    case RF_GGUF_F64: memcpy(&f64, p, 8); v->f = f64; return;
    default: return;
    }
    if (t == RF_GGUF_I8 || t == RF_GGUF_I16 || t == RF_GGUF_I32 || t == RF_GGUF_I64) {
        if (v->i >= 0) v->u = (uint64_t)v->i;
        v->f = (double)v->i;
    } else {
        if (v->u <= (uint64_t)INT64_MAX) v->i = (int64_t)v->u;
        v->f = (double)v->u;
    }
}

static void rf__gguf_arr_free(rf__gguf_arr *a) {
    uint64_t i;
    if (!a) return;
    if (a->sub)
        for (i = 0; i < a->n; i++) rf__gguf_arr_free(&a->sub[i]);
    RF_FREE(a->offs);
    RF_FREE(a->sub);
}

/* Parse an array (element type, count, elements) at the cursor into a. `depth` is 1 for a
   top-level array. On failure a holds what was allocated so far; rf__gguf_arr_free frees it. */
static rf_status rf__gguf_parse_array(rf__gguf_cur *c, rf__gguf_arr *a, int depth, const char *what) {
    uint32_t et;
    uint64_t n, i, len;
    rf_status st;
    if (depth > RF__GGUF_MAX_DEPTH)
        return rf__err(RF_ERR_TOO_LARGE, "%s: arrays nested deeper than %d levels", what, RF__GGUF_MAX_DEPTH);
    if ((st = rf__gguf_u32(c, what, "array element type", &et))) return st;
    if (et >= RF_GGUF_VTYPE_COUNT)
        return rf__err(RF_ERR_BAD_TYPE, "%s: unknown array element type %u (valid: 0..%d)", what, et, RF_GGUF_VTYPE_COUNT - 1);
    if ((st = rf__gguf_u64(c, what, "array count", &n))) return st;
    a->elem_type = (rf_gguf_vtype)et;
    /* Smallest element: a fixed scalar's size, a string's 8-byte length, an array's 12-byte header. */
    if ((st = rf__gguf_check_count(c, n, rf__gguf_vsize[et] ? rf__gguf_vsize[et] : (et == RF_GGUF_STRING ? 8 : 12),
                                   what, "array count")))
        return st;
    a->data = c->p + c->pos;
    if (rf__gguf_vsize[et]) {
        c->pos += n * rf__gguf_vsize[et];  /* checked above */
        a->n = n;
        return RF_OK;
    }
    if (n == 0) return RF_OK;
    /* n <= bytes left / 8 (or / 12), so these tables are bounded by the file size. */
    if (et == RF_GGUF_STRING) {
        if (!(a->offs = RF__NEW(uint64_t, n))) return rf__err(RF_ERR_OOM, "%s: out of memory", what);
        for (i = 0; i < n; i++) {
            a->offs[i] = (uint64_t)(c->p + c->pos - a->data);
            if ((st = rf__gguf_u64(c, what, "string length", &len))) return st;
            if ((st = rf__gguf_check_count(c, len, 1, what, "string length"))) return st;
            c->pos += len;
        }
        a->n = n;
        return RF_OK;
    }
    if (!(a->sub = RF__NEWZ(rf__gguf_arr, n))) return rf__err(RF_ERR_OOM, "%s: out of memory", what);
    a->n = n;  /* sub[] is zeroed, so freeing a partly parsed array is safe */
    for (i = 0; i < n; i++)
        if ((st = rf__gguf_parse_array(c, &a->sub[i], depth + 1, what))) return st;
    return RF_OK;
}

static void rf__gguf_arr_value(const rf__gguf_arr *a, rf_gguf_value *v) {
    memset(v, 0, sizeof *v);
    v->type = RF_GGUF_ARRAY;
    v->elem_type = a->elem_type;
    v->n = a->n;
    v->data = rf__gguf_vsize[a->elem_type] ? a->data : NULL;
    v->priv_ = a;
}

static rf_status rf__gguf_parse_kv(rf_gguf *g, rf__gguf_cur *c, int64_t i) {
    rf__gguf_kv *kv = &g->kv[i];
    char what[200];
    uint32_t t;
    uint64_t len, start;
    int64_t prev;
    rf_status st;
    snprintf(what, sizeof what, "kv[%lld]", (long long)i);
    if ((st = rf__gguf_name(c, what, &kv->key))) return st;
    snprintf(what, sizeof what, "kv[%lld] '" RF__GGUF_NAMEFMT "'", (long long)i, RF__GGUF_SHOWN(kv->key));
    if ((prev = rf__gguf_index_insert(&g->kv_index, kv->key, i)) >= 0)
        return rf__err(RF_ERR_DUPLICATE, "%s: duplicate key (first at kv[%lld])", what, (long long)prev);
    if ((st = rf__gguf_u32(c, what, "value type", &t))) return st;
    if (t >= RF_GGUF_VTYPE_COUNT)
        return rf__err(RF_ERR_BAD_TYPE, "%s: unknown value type %u (valid: 0..%d)", what, t, RF_GGUF_VTYPE_COUNT - 1);
    start = c->pos;
    if (t == RF_GGUF_ARRAY) {
        if (!(kv->arr = RF__NEWZ(rf__gguf_arr, 1))) return rf__err(RF_ERR_OOM, "%s: out of memory", what);
        if ((st = rf__gguf_parse_array(c, kv->arr, 1, what))) return st;
        rf__gguf_arr_value(kv->arr, &kv->v);
    } else if (t == RF_GGUF_STRING) {
        if ((st = rf__gguf_u64(c, what, "string length", &len))) return st;
        if ((st = rf__gguf_check_count(c, len, 1, what, "string length"))) return st;
        memset(&kv->v, 0, sizeof kv->v);
        kv->v.type = RF_GGUF_STRING;
        kv->v.n = len;
        kv->v.str = (const char *)(c->p + c->pos);
        c->pos += len;
    } else {
        if ((st = rf__gguf_need(c, rf__gguf_vsize[t], what, "value"))) return st;
        rf__gguf_scalar((rf_gguf_vtype)t, c->p + c->pos, &kv->v);
        c->pos += rf__gguf_vsize[t];
    }
    kv->raw = c->p + start;
    kv->raw_len = c->pos - start;
    return RF_OK;
}

/* ---- tensors ---- */

static rf_status rf__gguf_parse_tensor(rf_gguf *g, rf__gguf_cur *c, int64_t i) {
    rf_gguf_tensor *t = &g->tensors[i];
    const rf_type_traits *tt;
    char what[200], *name = NULL;
    uint32_t n_dims, type, d;
    uint64_t ne, nel = 1;
    int64_t prev;
    rf_status st;
    snprintf(what, sizeof what, "tensor[%lld]", (long long)i);
    st = rf__gguf_name(c, what, &name);
    t->name = name;
    if (st) return st;
    snprintf(what, sizeof what, "tensor '" RF__GGUF_NAMEFMT "'", RF__GGUF_SHOWN(name));
    if ((prev = rf__gguf_index_insert(&g->tensor_index, name, i)) >= 0)
        return rf__err(RF_ERR_DUPLICATE, "%s: duplicate tensor name (tensor[%lld] and tensor[%lld])", what,
                       (long long)prev, (long long)i);
    if ((st = rf__gguf_u32(c, what, "n_dims", &n_dims))) return st;
    if (n_dims < 1 || n_dims > 4) return rf__err(RF_ERR_BAD_SHAPE, "%s: n_dims %u, must be 1..4", what, n_dims);
    t->n_dims = n_dims;
    for (d = 0; d < 4; d++) t->ne[d] = 1;
    for (d = 0; d < n_dims; d++) {
        if ((st = rf__gguf_u64(c, what, "dimension", &ne))) return st;
        if (ne == 0) return rf__err(RF_ERR_BAD_SHAPE, "%s: ne[%u] is 0", what, d);
        /* The element count must fit int64 (ggml's int64_t ne), so each factor does too. */
        if (!rf__mul_u64(nel, ne, &nel) || nel > (uint64_t)INT64_MAX)
            return rf__err(RF_ERR_BAD_SHAPE, "%s: ne[%u] = %llu makes the element count overflow int64", what, d,
                           (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    if ((st = rf__gguf_u32(c, what, "type", &type))) return st;
    if (!(tt = rf_type_get(type))) return rf__err(RF_ERR_BAD_TYPE, "%s: unknown tensor type id %u", what, type);
    t->type = (rf_type)type;
    if (t->ne[0] % tt->block_size != 0)
        return rf__err(RF_ERR_BAD_SHAPE, "%s: ne[0] = %lld is not a multiple of %s's block size %d", what,
                       (long long)t->ne[0], tt->name, (int)tt->block_size);
    /* bytes = (nel / block) * block bytes; nel < 2^63 and block bytes < 2^9 can still overflow. */
    if (!rf__mul_u64(nel / (uint64_t)tt->block_size, (uint64_t)tt->type_size, &t->size))
        return rf__err(RF_ERR_TOO_LARGE, "%s: byte size of %llu %s elements overflows", what, (unsigned long long)nel, tt->name);
    if ((st = rf__gguf_u64(c, what, "offset", &t->offset))) return st;
    if (t->offset % g->alignment != 0)
        return rf__err(RF_ERR_BAD_ALIGNMENT, "%s: offset %llu is not a multiple of the alignment %llu", what,
                       (unsigned long long)t->offset, (unsigned long long)g->alignment);
    return RF_OK;
}

static int rf__gguf_by_offset(const void *a, const void *b) {
    const rf_gguf_tensor *x = *(const rf_gguf_tensor *const *)a, *y = *(const rf_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every tensor's bytes inside the data section and no two overlapping: sort by offset, then each
   must start at or after the previous one's end and end inside the file. */
static rf_status rf__gguf_check_placement(rf_gguf *g) {
    uint64_t data_size = g->size - g->data_offset, end = 0, prev_end = 0;
    /* A start inside the last alignment gap can only come from a cut-off file: call that TRUNCATED. */
    uint64_t slack = (data_size + g->alignment - 1) / g->alignment * g->alignment;
    rf_gguf_tensor **order, *t, *prev = NULL;
    rf_status st = RF_OK;
    int64_t i;
    if (g->n_tensors == 0) return RF_OK;
    if (!(order = RF__NEW(rf_gguf_tensor *, g->n_tensors))) return rf__err(RF_ERR_OOM, "out of memory");
    for (i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, rf__gguf_by_offset);
    for (i = 0; i < g->n_tensors && !st; i++) {
        t = order[i];
        if (prev && t->offset < prev_end)
            st = rf__err(RF_ERR_BAD_OFFSET, "tensor '" RF__GGUF_NAMEFMT "': data at offset %llu overlaps tensor '" RF__GGUF_NAMEFMT "' [%llu, %llu)",
                         RF__GGUF_SHOWN(t->name), (unsigned long long)t->offset, RF__GGUF_SHOWN(prev->name),
                         (unsigned long long)prev->offset, (unsigned long long)prev_end);
        else if (!rf__add_u64(t->offset, t->size, &end) || t->offset > slack)
            st = rf__err(RF_ERR_BAD_OFFSET, "tensor '" RF__GGUF_NAMEFMT "': offset %llu is past the end of the data section (%llu bytes)",
                         RF__GGUF_SHOWN(t->name), (unsigned long long)t->offset, (unsigned long long)data_size);
        else if (end > data_size)
            st = rf__err(RF_ERR_TRUNCATED, "tensor '" RF__GGUF_NAMEFMT "': data [%llu, %llu) past end of file (%llu bytes)",
                         RF__GGUF_SHOWN(t->name), (unsigned long long)(g->data_offset + t->offset),
                         (unsigned long long)(g->data_offset + end), (unsigned long long)g->size);
        /* only a placement that passed the checks makes a pointer: base + a wild offset is UB */
        if (!st) t->data = g->base + g->data_offset + t->offset;
        prev = t;
        prev_end = end;
    }
    RF_FREE(order);
    return st;
}

/* ---- the whole file ---- */

static rf_status rf__gguf_parse(rf_gguf *g) {
    rf__gguf_cur c;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    int64_t i, ai;
    rf_status st;
    c.p = g->base;
    c.size = g->size;
    c.pos = 0;
    if ((st = rf__gguf_need(&c, 4, "header", "magic"))) return st;
    if (memcmp(g->base, "GGUF", 4) != 0)
        return rf__err(RF_ERR_BAD_MAGIC, "not a GGUF file: magic bytes %02x %02x %02x %02x, expected \"GGUF\"",
                       g->base[0], g->base[1], g->base[2], g->base[3]);
    c.pos = 4;
    if ((st = rf__gguf_u32(&c, "header", "version", &version))) return st;
    /* A big-endian file stores its small version number byte-swapped: 3 reads as 0x03000000. */
    if (version >= 0x10000 && (version & 0xffff) == 0)
        return rf__err(RF_ERR_BIG_ENDIAN, "big-endian GGUF file (version field 0x%08x reads as %u byte-swapped); "
                       "only little-endian files are supported", version,
                       (version >> 24) | ((version >> 8) & 0xff00u));
    if (version < 2 || version > 3)
        return rf__err(RF_ERR_BAD_VERSION, "GGUF version %u is not supported (only 2 and 3)", version);
    g->version = version;
    if ((st = rf__gguf_u64(&c, "header", "n_tensors", &n_tensors))) return st;
    if ((st = rf__gguf_u64(&c, "header", "n_kv", &n_kv))) return st;
    /* Smallest kv: 8 (key length) + 1 (key) + 4 (type) + 1 (u8 value). Smallest tensor info:
       8 + 1 (name) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset). */
    if ((st = rf__gguf_check_count(&c, n_kv, 14, "header", "n_kv"))) return st;
    if ((st = rf__gguf_check_count(&c, n_tensors, 33, "header", "n_tensors"))) return st;
    if (!(g->kv = RF__NEWZ(rf__gguf_kv, n_kv))) return rf__err(RF_ERR_OOM, "out of memory for %llu kv", (unsigned long long)n_kv);
    g->n_kv = (int64_t)n_kv;
    if ((st = rf__gguf_index_init(&g->kv_index, n_kv))) return st;
    for (i = 0; i < g->n_kv; i++)
        if ((st = rf__gguf_parse_kv(g, &c, i))) return st;

    g->alignment = RF__GGUF_DEFAULT_ALIGNMENT;
    if ((ai = rf__gguf_index_find(&g->kv_index, "general.alignment")) >= 0) {
        const rf_gguf_value *v = &g->kv[ai].v;
        if (v->type != RF_GGUF_U32)
            return rf__err(RF_ERR_BAD_ALIGNMENT, "kv[%lld] 'general.alignment': type %s, must be u32", (long long)ai,
                           rf__gguf_vname[v->type]);
        if (!rf__gguf_is_pow2(v->u))
            return rf__err(RF_ERR_BAD_ALIGNMENT, "kv[%lld] 'general.alignment': %llu is not a nonzero power of two",
                           (long long)ai, (unsigned long long)v->u);
        g->alignment = v->u;
    }

    if (!(g->tensors = RF__NEWZ(rf_gguf_tensor, n_tensors)))
        return rf__err(RF_ERR_OOM, "out of memory for %llu tensors", (unsigned long long)n_tensors);
    g->n_tensors = (int64_t)n_tensors;
    if ((st = rf__gguf_index_init(&g->tensor_index, n_tensors))) return st;
    for (i = 0; i < g->n_tensors; i++)
        if ((st = rf__gguf_parse_tensor(g, &c, i))) return st;

    /* pos <= size < 2^64 - alignment in practice; the alignment is at most 2^31. */
    g->data_offset = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->data_offset > g->size) {
        /* A file without tensors may end without the padding. */
        if (g->n_tensors > 0)
            return rf__err(RF_ERR_TRUNCATED, "data section starts at offset %llu, past end of file (%llu bytes)",
                           (unsigned long long)g->data_offset, (unsigned long long)g->size);
        g->data_offset = g->size;
    }
    return rf__gguf_check_placement(g);
}

/* ---- opening ---- */

static rf_status rf__gguf_finish_open(rf_gguf *g, rf_gguf **out) {
    rf_status st = rf__gguf_parse(g);
    if (st) {
        rf_gguf_close(g);
        return st;
    }
    *out = g;
    return RF_OK;
}

RF_API rf_status rf_gguf_open_memory(const void *data, size_t size, rf_gguf **out) {
    rf_gguf *g;
    if (out) *out = NULL;
    if (!out || (!data && size)) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_open_memory: NULL argument");
    if (!(g = RF__NEWZ(rf_gguf, 1))) return rf__err(RF_ERR_OOM, "out of memory");
    g->base = data ? (const uint8_t *)data : (const uint8_t *)"";
    g->size = size;
    return rf__gguf_finish_open(g, out);
}

/* Map the file, or read it whole when mapping is off or fails. */
static rf_status rf__gguf_load(rf_gguf *g, const char *path, unsigned flags) {
#if !defined(_WIN32)
    struct stat sb;
    size_t size, got = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return rf__err(RF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return rf__err(RF_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return rf__err(RF_ERR_IO, "cannot read '%s': not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return rf__err(RF_ERR_TOO_LARGE, "'%s': %lld bytes do not fit in memory", path, (long long)sb.st_size);
    }
    size = (size_t)sb.st_size;
    g->size = size;
#ifndef RF_NO_MMAP
    if (!(flags & RF_GGUF_NO_MMAP) && size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            g->map = m;
            g->base = (const uint8_t *)m;
            close(fd);
            return RF_OK;
        }
    }
#else
    (void)flags;
#endif
    if (!(g->owned = RF__NEW(uint8_t, size ? size : 1))) {
        close(fd);
        return rf__err(RF_ERR_OOM, "'%s': out of memory for %zu bytes", path, size);
    }
    while (got < size) {
        r = read(fd, g->owned + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            return rf__err(RF_ERR_IO, "cannot read '%s': %s", path, r < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    close(fd);
    g->base = g->owned;
    return RF_OK;
#else
    FILE *f = fopen(path, "rb");
    long n;
    (void)flags;
    if (!f) return rf__err(RF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return rf__err(RF_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    }
    g->size = (uint64_t)n;
    if (!(g->owned = RF__NEW(uint8_t, n ? (size_t)n : 1))) {
        fclose(f);
        return rf__err(RF_ERR_OOM, "'%s': out of memory", path);
    }
    if (fread(g->owned, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return rf__err(RF_ERR_IO, "cannot read '%s'", path);
    }
    fclose(f);
    g->base = g->owned;
    return RF_OK;
#endif
}

RF_API rf_status rf_gguf_open_ex(const char *path, unsigned flags, rf_gguf **out) {
    rf_gguf *g;
    rf_status st;
    if (out) *out = NULL;
    if (!path || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_open: NULL argument");
    if (!(g = RF__NEWZ(rf_gguf, 1))) return rf__err(RF_ERR_OOM, "out of memory");
    if ((st = rf__gguf_load(g, path, flags))) {
        rf_gguf_close(g);
        return st;
    }
    return rf__gguf_finish_open(g, out);
}

RF_API rf_status rf_gguf_open(const char *path, rf_gguf **out) { return rf_gguf_open_ex(path, 0, out); }

RF_API void rf_gguf_close(rf_gguf *g) {
    int64_t i;
    if (!g) return;
    for (i = 0; i < g->n_kv; i++) {
        RF_FREE(g->kv[i].key);
        rf__gguf_arr_free(g->kv[i].arr);
        RF_FREE(g->kv[i].arr);
    }
    RF_FREE(g->kv);
    for (i = 0; i < g->n_tensors; i++) RF_FREE((void *)g->tensors[i].name);
    RF_FREE(g->tensors);
    RF_FREE(g->kv_index.slots);
    RF_FREE(g->tensor_index.slots);
#if !defined(_WIN32) && !defined(RF_NO_MMAP)
    if (g->map) munmap(g->map, (size_t)g->size);
#endif
    RF_FREE(g->owned);
    RF_FREE(g);
}

/* ---- queries ---- */

RF_API uint32_t rf_gguf_version(const rf_gguf *g) { return g ? g->version : 0; }
RF_API uint64_t rf_gguf_alignment(const rf_gguf *g) { return g ? g->alignment : 0; }
RF_API uint64_t rf_gguf_file_size(const rf_gguf *g) { return g ? g->size : 0; }
RF_API uint64_t rf_gguf_data_offset(const rf_gguf *g) { return g ? g->data_offset : 0; }
RF_API int64_t rf_gguf_n_kv(const rf_gguf *g) { return g ? g->n_kv : 0; }
RF_API int64_t rf_gguf_n_tensors(const rf_gguf *g) { return g ? g->n_tensors : 0; }

RF_API const char *rf_gguf_kv_key(const rf_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

RF_API rf_status rf_gguf_kv_value(const rf_gguf *g, int64_t i, rf_gguf_value *out) {
    if (!g || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_kv_value: NULL argument");
    if (i < 0 || i >= g->n_kv)
        return rf__err(RF_ERR_INVALID_ARG, "kv index %lld out of range (%lld kv)", (long long)i, (long long)g->n_kv);
    *out = g->kv[i].v;
    return RF_OK;
}

RF_API int64_t rf_gguf_find_kv(const rf_gguf *g, const char *key) {
    return g && key ? rf__gguf_index_find(&g->kv_index, key) : -1;
}

RF_API rf_status rf_gguf_array_get(const rf_gguf *g, const rf_gguf_value *arr, uint64_t i, rf_gguf_value *out) {
    const rf__gguf_arr *a;
    const uint8_t *p;
    if (!g || !arr || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_array_get: NULL argument");
    if (arr->type != RF_GGUF_ARRAY || !arr->priv_)
        return rf__err(RF_ERR_WRONG_TYPE, "rf_gguf_array_get: value is a %s, not an array",
                       (unsigned)arr->type < RF_GGUF_VTYPE_COUNT ? rf__gguf_vname[arr->type] : "?");
    a = (const rf__gguf_arr *)arr->priv_;
    if (i >= a->n)
        return rf__err(RF_ERR_INVALID_ARG, "array index %llu out of range (%llu elements)", (unsigned long long)i,
                       (unsigned long long)a->n);
    if (a->elem_type == RF_GGUF_ARRAY) {
        rf__gguf_arr_value(&a->sub[i], out);
    } else if (a->elem_type == RF_GGUF_STRING) {
        p = a->data + a->offs[i];  /* offs[i] was recorded after checking the string fits */
        memset(out, 0, sizeof *out);
        out->type = RF_GGUF_STRING;
        out->n = rf__gguf_rd64(p);
        out->str = (const char *)(p + 8);
    } else {
        rf__gguf_scalar(a->elem_type, a->data + i * rf__gguf_vsize[a->elem_type], out);
    }
    return RF_OK;
}

/* ---- typed getters ---- */

static rf_status rf__gguf_lookup(const rf_gguf *g, const char *key, const void *out, const rf_gguf_value **v) {
    int64_t i;
    if (!g || !key || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_get: NULL argument");
    if ((i = rf__gguf_index_find(&g->kv_index, key)) < 0) return rf__err(RF_ERR_NOT_FOUND, "no key '%s'", key);
    *v = &g->kv[i].v;
    return RF_OK;
}

static int rf__gguf_is_int(rf_gguf_vtype t) {
    return t == RF_GGUF_U8 || t == RF_GGUF_I8 || t == RF_GGUF_U16 || t == RF_GGUF_I16 || t == RF_GGUF_U32 ||
           t == RF_GGUF_I32 || t == RF_GGUF_U64 || t == RF_GGUF_I64;
}
static int rf__gguf_is_signed(rf_gguf_vtype t) {
    return t == RF_GGUF_I8 || t == RF_GGUF_I16 || t == RF_GGUF_I32 || t == RF_GGUF_I64;
}

static rf_status rf__gguf_wrong(const char *key, const rf_gguf_value *v, const char *want) {
    if (rf__gguf_is_int(v->type) && rf__gguf_is_signed(v->type))
        return rf__err(RF_ERR_WRONG_TYPE, "key '%s': %s value %lld does not fit %s", key, rf__gguf_vname[v->type],
                       (long long)v->i, want);
    if (rf__gguf_is_int(v->type))
        return rf__err(RF_ERR_WRONG_TYPE, "key '%s': %s value %llu does not fit %s", key, rf__gguf_vname[v->type],
                       (unsigned long long)v->u, want);
    return rf__err(RF_ERR_WRONG_TYPE, "key '%s' holds a %s, not %s", key, rf__gguf_vname[v->type], want);
}

RF_API rf_status rf_gguf_get_u64(const rf_gguf *g, const char *key, uint64_t *out) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (!rf__gguf_is_int(v->type) || (rf__gguf_is_signed(v->type) && v->i < 0)) return rf__gguf_wrong(key, v, "u64");
    *out = v->u;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_i64(const rf_gguf *g, const char *key, int64_t *out) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (!rf__gguf_is_int(v->type) || (!rf__gguf_is_signed(v->type) && v->u > (uint64_t)INT64_MAX))
        return rf__gguf_wrong(key, v, "i64");
    *out = v->i;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_u32(const rf_gguf *g, const char *key, uint32_t *out) {
    uint64_t u = 0;
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (!rf__gguf_is_int(v->type) || (rf__gguf_is_signed(v->type) && v->i < 0)) return rf__gguf_wrong(key, v, "u32");
    u = v->u;
    if (u > UINT32_MAX) return rf__gguf_wrong(key, v, "u32");
    *out = (uint32_t)u;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_f64(const rf_gguf *g, const char *key, double *out) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (v->type != RF_GGUF_F32 && v->type != RF_GGUF_F64 && !rf__gguf_is_int(v->type))
        return rf__gguf_wrong(key, v, "a number");
    *out = v->f;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_f32(const rf_gguf *g, const char *key, float *out) {
    double d = 0;
    rf_status st = rf_gguf_get_f64(g, key, out ? &d : NULL);
    if (st) return st;
    *out = (float)d;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_bool(const rf_gguf *g, const char *key, int *out) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (v->type != RF_GGUF_BOOL) return rf__gguf_wrong(key, v, "bool");
    *out = (int)v->u;
    return RF_OK;
}

RF_API rf_status rf_gguf_get_str(const rf_gguf *g, const char *key, const char **s, size_t *len) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, s, &v);
    if (st) return st;
    if (v->type != RF_GGUF_STRING) return rf__gguf_wrong(key, v, "string");
    *s = v->str;
    if (len) *len = (size_t)v->n;  /* n <= file size, which fits size_t */
    return RF_OK;
}

RF_API rf_status rf_gguf_get_array(const rf_gguf *g, const char *key, rf_gguf_value *out) {
    const rf_gguf_value *v = NULL;
    rf_status st = rf__gguf_lookup(g, key, out, &v);
    if (st) return st;
    if (v->type != RF_GGUF_ARRAY) return rf__gguf_wrong(key, v, "array");
    *out = *v;
    return RF_OK;
}

RF_API const rf_gguf_tensor *rf_gguf_tensor_at(const rf_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

RF_API const rf_gguf_tensor *rf_gguf_find_tensor(const rf_gguf *g, const char *name) {
    int64_t i = g && name ? rf__gguf_index_find(&g->tensor_index, name) : -1;
    return i >= 0 ? &g->tensors[i] : NULL;
}
