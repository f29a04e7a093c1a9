/* Status strings, per-thread error detail, logging, small helpers. */

static const char *const rf__status_names[RF_STATUS_COUNT] = {
    "RF_OK", "RF_ERR_INVALID_ARG", "RF_ERR_OOM", "RF_ERR_IO", "RF_ERR_BAD_MAGIC",
    "RF_ERR_BAD_VERSION", "RF_ERR_BIG_ENDIAN", "RF_ERR_TRUNCATED", "RF_ERR_TOO_LARGE",
    "RF_ERR_BAD_TYPE", "RF_ERR_BAD_ALIGNMENT", "RF_ERR_BAD_SHAPE", "RF_ERR_BAD_OFFSET",
    "RF_ERR_DUPLICATE", "RF_ERR_BAD_STRING", "RF_ERR_NOT_FOUND", "RF_ERR_WRONG_TYPE",
    "RF_ERR_UNSUPPORTED", "RF_ERR_DEVICE",
};

RF_API const char *rf_status_str(rf_status s) {
    if ((int)s < 0 || s >= RF_STATUS_COUNT) return "RF_ERR_(unknown)";
    return rf__status_names[s];
}

/* The error detail is the one piece of state outside a handle; like errno it is per thread,
   so concurrent calls on different threads never see each other's messages. */
#if defined(RF_NO_THREADS)
#define RF__THREAD_LOCAL
#elif defined(__cplusplus)
#define RF__THREAD_LOCAL thread_local
#else
#define RF__THREAD_LOCAL _Thread_local
#endif
static RF__THREAD_LOCAL char rf__error_buf[512];

RF_API const char *rf_last_error(void) { return rf__error_buf; }

static rf_status rf__err(rf_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rf__error_buf, sizeof rf__error_buf, fmt, ap);
    va_end(ap);
    return s;
}

static void rf__log(const rf_logger *lg, rf_log_level level, const char *fmt, ...) {
    rf_log_level max = lg ? lg->level : RF_LOG_WARN;
    char msg[1024];
    va_list ap;
    if (level > max) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lg && lg->fn) {
        lg->fn(lg->user, level, msg);
    } else {
        static const char *const tag[] = {"error", "warning", "info", "debug"};
        fprintf(stderr, "rocmforge %s: %s\n", tag[level], msg);
    }
}

static void *rf__calloc(size_t size, size_t n) {
    void *p;
    size_t bytes;
    if (n && size > SIZE_MAX / n) return NULL;
    bytes = size * n;
    p = RF_MALLOC(bytes > 0 ? bytes : 1);
    if (p) memset(p, 0, bytes);
    return p;
}

static char *rf__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = RF__NEW(char, n);
    if (d) memcpy(d, s, n);
    return d;
}

static double rf__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int rf__add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a > UINT64_MAX - b) return 0;
    *out = a + b;
    return 1;
}

static int rf__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}
