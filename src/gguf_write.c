/* GGUF v3 writer. Metadata values are kept encoded exactly as they will appear in the file
   (the bytes after the value-type field), so setting, replacing and copying a kv from a reader
   are all byte copies, nested arrays included. Tensor bytes are borrowed or produced by a fill
   callback at write time, one tensor at a time, so a multi-GB model never sits in memory twice. */

typedef struct rf__gguf_wkv {
    char *key;
    rf_gguf_vtype type;
    uint8_t *val;  /* encoded value */
    uint64_t len;
} rf__gguf_wkv;

typedef struct rf__gguf_wtensor {
    rf_gguf_tensor t;  /* t.name owned; t.data borrowed (NULL when fill is set) */
    rf_gguf_fill_fn fill;
    void *user;
} rf__gguf_wtensor;

struct rf_gguf_writer {
    rf__gguf_wkv *kv;
    int64_t n_kv, cap_kv;
    rf__gguf_wtensor *ts;
    int64_t n_ts, cap_ts;
    uint64_t alignment;
};

RF_API rf_status rf_gguf_writer_new(rf_gguf_writer **out) {
    rf_gguf_writer *w;
    if (!out) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_writer_new: NULL argument");
    *out = NULL;
    if (!(w = RF__NEWZ(rf_gguf_writer, 1))) return rf__err(RF_ERR_OOM, "out of memory");
    w->alignment = RF__GGUF_DEFAULT_ALIGNMENT;
    *out = w;
    return RF_OK;
}

RF_API void rf_gguf_writer_free(rf_gguf_writer *w) {
    int64_t i;
    if (!w) return;
    for (i = 0; i < w->n_kv; i++) {
        RF_FREE(w->kv[i].key);
        RF_FREE(w->kv[i].val);
    }
    for (i = 0; i < w->n_ts; i++) RF_FREE((void *)w->ts[i].t.name);
    RF_FREE(w->kv);
    RF_FREE(w->ts);
    RF_FREE(w);
}

/* Keys and tensor names follow the reader's rules, so every file written can be read back. */
static rf_status rf__gguf_wname(const char *name, const char *what) {
    size_t n;
    if (!name) return rf__err(RF_ERR_INVALID_ARG, "%s: NULL name", what);
    n = strlen(name);
    if (n == 0) return rf__err(RF_ERR_BAD_STRING, "%s: empty name", what);
    if (n > RF__GGUF_MAX_NAME)
        return rf__err(RF_ERR_BAD_STRING, "%s: name length %zu exceeds the limit of %u bytes", what, n, RF__GGUF_MAX_NAME);
    return RF_OK;
}

/* Grow an array of `size`-byte items so it holds at least n + 1. */
static rf_status rf__gguf_grow(void **p, int64_t *cap, int64_t n, size_t size) {
    int64_t nc;
    void *q;
    if (n < *cap) return RF_OK;
    nc = *cap ? *cap * 2 : 16;
    if ((uint64_t)nc > SIZE_MAX / size) return rf__err(RF_ERR_OOM, "out of memory");
    if (!(q = RF_REALLOC(*p, (size_t)nc * size))) return rf__err(RF_ERR_OOM, "out of memory");
    *p = q;
    *cap = nc;
    return RF_OK;
}

/* Set key to an encoded value (copied). Replaces an existing key in place. */
static rf_status rf__gguf_wset(rf_gguf_writer *w, const char *key, rf_gguf_vtype type, const void *val, uint64_t len) {
    rf__gguf_wkv *kv = NULL;
    uint8_t *copy;
    uint32_t align = 0;
    int64_t i;
    void *p;
    rf_status st;
    if (!w) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set: NULL writer");
    if ((st = rf__gguf_wname(key, "rf_gguf_set"))) return st;
    if (strcmp(key, "general.alignment") == 0) {
        /* The reader accepts only a u32 power of two here; refuse anything else up front. */
        if (type != RF_GGUF_U32)
            return rf__err(RF_ERR_BAD_ALIGNMENT, "general.alignment must be a u32, not %s", rf__gguf_vname[type]);
        align = rf__gguf_rd32((const uint8_t *)val);
        if (!rf__gguf_is_pow2(align))
            return rf__err(RF_ERR_BAD_ALIGNMENT, "general.alignment %u is not a nonzero power of two", align);
    }
    if ((uint64_t)len > SIZE_MAX) return rf__err(RF_ERR_TOO_LARGE, "key '%s': value too large", key);
    if (!(copy = RF__NEW(uint8_t, len ? (size_t)len : 1))) return rf__err(RF_ERR_OOM, "key '%s': out of memory", key);
    if (len) memcpy(copy, val, (size_t)len);
    for (i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) kv = &w->kv[i];
    if (kv) {
        RF_FREE(kv->val);
    } else {
        p = w->kv;
        if ((st = rf__gguf_grow(&p, &w->cap_kv, w->n_kv, sizeof *w->kv))) {
            RF_FREE(copy);
            return st;
        }
        w->kv = (rf__gguf_wkv *)p;
        kv = &w->kv[w->n_kv];
        if (!(kv->key = rf__strdup(key))) {
            RF_FREE(copy);
            return rf__err(RF_ERR_OOM, "key '%s': out of memory", key);
        }
        w->n_kv++;
    }
    kv->type = type;
    kv->val = copy;
    kv->len = len;
    if (align) w->alignment = align;
    return RF_OK;
}

/* Scalars are stored as their little-endian bytes; memcpy of the native value is that on the
   little-endian hosts we support. */
RF_API rf_status rf_gguf_set_u32(rf_gguf_writer *w, const char *key, uint32_t v) { return rf__gguf_wset(w, key, RF_GGUF_U32, &v, 4); }
RF_API rf_status rf_gguf_set_i32(rf_gguf_writer *w, const char *key, int32_t v) { return rf__gguf_wset(w, key, RF_GGUF_I32, &v, 4); }
RF_API rf_status rf_gguf_set_u64(rf_gguf_writer *w, const char *key, uint64_t v) { return rf__gguf_wset(w, key, RF_GGUF_U64, &v, 8); }
RF_API rf_status rf_gguf_set_f32(rf_gguf_writer *w, const char *key, float v) { return rf__gguf_wset(w, key, RF_GGUF_F32, &v, 4); }
RF_API rf_status rf_gguf_set_bool(rf_gguf_writer *w, const char *key, int v) {
    uint8_t b = v ? 1 : 0;
    return rf__gguf_wset(w, key, RF_GGUF_BOOL, &b, 1);
}

RF_API rf_status rf_gguf_set_str(rf_gguf_writer *w, const char *key, const char *s) {
    uint64_t n;
    uint8_t *buf;
    rf_status st;
    if (!s) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set_str: NULL string");
    n = strlen(s);
    if (!(buf = RF__NEW(uint8_t, 8 + n))) return rf__err(RF_ERR_OOM, "out of memory");
    memcpy(buf, &n, 8);
    memcpy(buf + 8, s, (size_t)n);
    st = rf__gguf_wset(w, key, RF_GGUF_STRING, buf, 8 + n);
    RF_FREE(buf);
    return st;
}

RF_API rf_status rf_gguf_set_array(rf_gguf_writer *w, const char *key, rf_gguf_vtype elem_type, const void *data,
                                   uint64_t n) {
    uint64_t bytes, total;
    uint32_t et = (uint32_t)elem_type;
    uint8_t *buf;
    rf_status st;
    if (et >= RF_GGUF_VTYPE_COUNT || !rf__gguf_vsize[et])
        return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set_array: element type %u is not a fixed-size scalar", et);
    if (!data && n) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set_array: NULL data");
    if (!rf__mul_u64(n, rf__gguf_vsize[et], &bytes) || !rf__add_u64(bytes, 12, &total) || total > SIZE_MAX)
        return rf__err(RF_ERR_TOO_LARGE, "rf_gguf_set_array: %llu elements are too many", (unsigned long long)n);
    if (!(buf = RF__NEW(uint8_t, total))) return rf__err(RF_ERR_OOM, "out of memory");
    memcpy(buf, &et, 4);
    memcpy(buf + 4, &n, 8);
    if (bytes) memcpy(buf + 12, data, (size_t)bytes);
    st = rf__gguf_wset(w, key, RF_GGUF_ARRAY, buf, total);
    RF_FREE(buf);
    return st;
}

RF_API rf_status rf_gguf_set_str_array(rf_gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    uint64_t i, total = 12, len;
    uint32_t et = RF_GGUF_STRING;
    uint8_t *buf, *p;
    rf_status st;
    if (!strs && n) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set_str_array: NULL array");
    for (i = 0; i < n; i++) {
        if (!strs[i]) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_set_str_array: string %llu is NULL", (unsigned long long)i);
        if (!rf__add_u64(total, 8 + (uint64_t)strlen(strs[i]), &total) || total > SIZE_MAX)
            return rf__err(RF_ERR_TOO_LARGE, "rf_gguf_set_str_array: strings too large");
    }
    if (!(buf = RF__NEW(uint8_t, total))) return rf__err(RF_ERR_OOM, "out of memory");
    memcpy(buf, &et, 4);
    memcpy(buf + 4, &n, 8);
    for (i = 0, p = buf + 12; i < n; i++) {
        len = strlen(strs[i]);
        memcpy(p, &len, 8);
        memcpy(p + 8, strs[i], (size_t)len);
        p += 8 + len;
    }
    st = rf__gguf_wset(w, key, RF_GGUF_ARRAY, buf, total);
    RF_FREE(buf);
    return st;
}

RF_API rf_status rf_gguf_writer_copy_kv(rf_gguf_writer *w, const rf_gguf *g, int64_t i) {
    if (!w || !g) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_writer_copy_kv: NULL argument");
    if (i < 0 || i >= g->n_kv)
        return rf__err(RF_ERR_INVALID_ARG, "kv index %lld out of range (%lld kv)", (long long)i, (long long)g->n_kv);
    /* The reader validated the encoding; v2 and v3 encode values identically. */
    return rf__gguf_wset(w, g->kv[i].key, g->kv[i].v.type, g->kv[i].raw, g->kv[i].raw_len);
}

static rf_status rf__gguf_wtensor_add(rf_gguf_writer *w, const char *name, rf_type type, uint32_t n_dims,
                                      const int64_t *ne, const void *data, rf_gguf_fill_fn fill, void *user) {
    const rf_type_traits *tt;
    rf__gguf_wtensor *t;
    uint64_t nel = 1, row;
    uint32_t d;
    int64_t i;
    void *p;
    char *copy;
    rf_status st;
    if (!w || !ne || (!data && !fill)) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_add_tensor: NULL argument");
    if ((st = rf__gguf_wname(name, "rf_gguf_add_tensor"))) return st;
    for (i = 0; i < w->n_ts; i++)
        if (strcmp(w->ts[i].t.name, name) == 0) return rf__err(RF_ERR_DUPLICATE, "tensor '%s' added twice", name);
    if (!(tt = rf_type_get((uint32_t)type))) return rf__err(RF_ERR_BAD_TYPE, "tensor '%s': unknown type id %d", name, (int)type);
    if (n_dims < 1 || n_dims > 4) return rf__err(RF_ERR_BAD_SHAPE, "tensor '%s': n_dims %u, must be 1..4", name, n_dims);
    for (d = 0; d < n_dims; d++) {
        if (ne[d] < 1) return rf__err(RF_ERR_BAD_SHAPE, "tensor '%s': ne[%u] = %lld, must be >= 1", name, d, (long long)ne[d]);
        if (!rf__mul_u64(nel, (uint64_t)ne[d], &nel) || nel > (uint64_t)INT64_MAX)
            return rf__err(RF_ERR_BAD_SHAPE, "tensor '%s': element count overflows int64", name);
    }
    if ((st = rf_type_row_bytes(type, ne[0], &row))) {
        return rf__err(st, "tensor '%s': ne[0] = %lld is not a multiple of %s's block size %d", name,
                       (long long)ne[0], tt->name, (int)tt->block_size);
    }
    p = w->ts;
    if ((st = rf__gguf_grow(&p, &w->cap_ts, w->n_ts, sizeof *w->ts))) return st;
    w->ts = (rf__gguf_wtensor *)p;
    if (!(copy = rf__strdup(name))) return rf__err(RF_ERR_OOM, "out of memory");
    t = &w->ts[w->n_ts++];
    memset(t, 0, sizeof *t);
    t->t.name = copy;
    t->t.type = type;
    t->t.n_dims = n_dims;
    for (d = 0; d < 4; d++) t->t.ne[d] = d < n_dims ? ne[d] : 1;
    if (!rf__mul_u64(row, nel / (uint64_t)ne[0], &t->t.size)) {
        RF_FREE(copy);
        w->n_ts--;
        return rf__err(RF_ERR_TOO_LARGE, "tensor '%s': byte size overflows", name);
    }
    t->t.data = data;
    t->fill = fill;
    t->user = user;
    return RF_OK;
}

RF_API rf_status rf_gguf_add_tensor(rf_gguf_writer *w, const char *name, rf_type type, uint32_t n_dims,
                                    const int64_t *ne, const void *data) {
    if (!data) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_add_tensor: NULL data");
    return rf__gguf_wtensor_add(w, name, type, n_dims, ne, data, NULL, NULL);
}

RF_API rf_status rf_gguf_add_tensor_fn(rf_gguf_writer *w, const char *name, rf_type type, uint32_t n_dims,
                                       const int64_t *ne, rf_gguf_fill_fn fill, void *user) {
    if (!fill) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_add_tensor_fn: NULL fill");
    return rf__gguf_wtensor_add(w, name, type, n_dims, ne, NULL, fill, user);
}

/* ---- writing ---- */

/* A FILE plus the first error: after one failed write the rest are skipped and the error is
   reported once at the end. */
typedef struct rf__gguf_out {
    FILE *f;
    uint64_t pos;
    int err;  /* errno of the first failure, or -1 for a short write without errno */
} rf__gguf_out;

static void rf__gguf_put(rf__gguf_out *o, const void *p, uint64_t n) {
    if (o->err || n == 0) return;
    errno = 0;
    if (fwrite(p, 1, (size_t)n, o->f) != (size_t)n) o->err = errno ? errno : -1;
    o->pos += n;
}
static void rf__gguf_put32(rf__gguf_out *o, uint32_t v) { rf__gguf_put(o, &v, 4); }
static void rf__gguf_put64(rf__gguf_out *o, uint64_t v) { rf__gguf_put(o, &v, 8); }
static void rf__gguf_pad(rf__gguf_out *o, uint64_t alignment) {
    uint8_t zeros[256];
    uint64_t n = (alignment - o->pos % alignment) % alignment;
    memset(zeros, 0, sizeof zeros);
    while (n && !o->err) {
        uint64_t k = RF__MIN(n, (uint64_t)sizeof zeros);
        rf__gguf_put(o, zeros, k);
        n -= k;
    }
}

static rf_status rf__gguf_write_file(rf_gguf_writer *w, rf__gguf_out *o, const char *tmp) {
    uint8_t *buf = NULL;
    uint64_t cap = 0, off = 0;
    int64_t i;
    uint32_t d;
    rf_status st = RF_OK;
    /* Tensor offsets: each starts at the next multiple of the alignment (GGUF spec). */
    for (i = 0; i < w->n_ts; i++) {
        w->ts[i].t.offset = off;
        if (!rf__add_u64(off, w->ts[i].t.size, &off) || !rf__add_u64(off, w->alignment - 1, &off))
            return rf__err(RF_ERR_TOO_LARGE, "total tensor size overflows");
        off -= off % w->alignment;
    }
    rf__gguf_put(o, "GGUF", 4);
    rf__gguf_put32(o, 3);
    rf__gguf_put64(o, (uint64_t)w->n_ts);
    rf__gguf_put64(o, (uint64_t)w->n_kv);
    for (i = 0; i < w->n_kv; i++) {
        rf__gguf_put64(o, strlen(w->kv[i].key));
        rf__gguf_put(o, w->kv[i].key, strlen(w->kv[i].key));
        rf__gguf_put32(o, (uint32_t)w->kv[i].type);
        rf__gguf_put(o, w->kv[i].val, w->kv[i].len);
    }
    for (i = 0; i < w->n_ts; i++) {
        const rf_gguf_tensor *t = &w->ts[i].t;
        rf__gguf_put64(o, strlen(t->name));
        rf__gguf_put(o, t->name, strlen(t->name));
        rf__gguf_put32(o, t->n_dims);
        for (d = 0; d < t->n_dims; d++) rf__gguf_put64(o, (uint64_t)t->ne[d]);
        rf__gguf_put32(o, (uint32_t)t->type);
        rf__gguf_put64(o, t->offset);
    }
    rf__gguf_pad(o, w->alignment);
    for (i = 0; i < w->n_ts && !o->err; i++) {
        rf__gguf_wtensor *t = &w->ts[i];
        if (t->fill) {
            /* One buffer, grown to the largest tensor filled so far. */
            if (t->t.size > cap) {
                uint8_t *nb;
                if (t->t.size > SIZE_MAX || !(nb = (uint8_t *)RF_REALLOC(buf, (size_t)t->t.size))) {
                    st = rf__err(RF_ERR_OOM, "tensor '%s': out of memory for %llu bytes", t->t.name,
                                 (unsigned long long)t->t.size);
                    break;
                }
                buf = nb;
                cap = t->t.size;
            }
            t->t.data = buf;
            st = t->fill(t->user, &t->t, buf, t->t.size);
            t->t.data = NULL;
            if (st) {
                /* keep the callback's own detail (copied: rf__err writes the buffer it reads) */
                char why[256];
                size_t wl = strlen(rf_last_error());
                if (wl >= sizeof why) wl = sizeof why - 1;
                memcpy(why, rf_last_error(), wl);
                why[wl] = 0;
                st = rf__err(st, "tensor '%s': fill callback returned %s: %s", t->t.name, rf_status_str(st), why);
                break;
            }
            rf__gguf_put(o, buf, t->t.size);
        } else {
            rf__gguf_put(o, t->t.data, t->t.size);
        }
        /* Pad after every tensor, the last included, as gguf-py does. */
        rf__gguf_pad(o, w->alignment);
    }
    RF_FREE(buf);
    if (!st && o->err)
        st = rf__err(RF_ERR_IO, "cannot write '%s': %s", tmp, o->err > 0 ? strerror(o->err) : "short write");
    return st;
}

RF_API rf_status rf_gguf_writer_write(rf_gguf_writer *w, const char *path) {
    rf__gguf_out o;
    char *tmp;
    size_t n;
    rf_status st;
    if (!w || !path) return rf__err(RF_ERR_INVALID_ARG, "rf_gguf_writer_write: NULL argument");
    n = strlen(path);
    if (!(tmp = RF__NEW(char, n + 5))) return rf__err(RF_ERR_OOM, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    memset(&o, 0, sizeof o);
    if (!(o.f = fopen(tmp, "wb"))) {
        st = rf__err(RF_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
        RF_FREE(tmp);
        return st;
    }
    st = rf__gguf_write_file(w, &o, tmp);
    errno = 0;
    if (fclose(o.f) != 0 && !st) st = rf__err(RF_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = rf__err(RF_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st) remove(tmp);
    RF_FREE(tmp);
    return st;
}
