/* HTTP/1.1 transport for the built-in server (ROCMFORGE_HTTP): non-blocking sockets, one poll()
   loop, a request parser with hard limits, and response writing. No threads here: the loop in
   http_api.c calls rf__net_poll between scheduler steps, so a request can never race a slot.

   What a connection may cost is bounded: its input buffer holds at most max_header + max_body
   bytes (a request that would not fit is refused with 431/413 before it is read), a request must
   arrive completely within request_timeout (slow clients get 408), an idle keep-alive connection
   is closed after idle_timeout, and at most max_conns are open (more are told 503 and closed).
   Requests are answered one at a time per connection, in order, so pipelined requests work: the
   next one is parsed only when the previous response is queued. Bodies need Content-Length;
   chunked request bodies are refused (411), as many servers do. */

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

typedef struct rf__job rf__job;

#define RF__TEXT_LIT(t, lit) rf__text_append((t), (lit), sizeof(lit) - 1)

typedef struct rf__conn {
    int fd;
    rf__text in;          /* bytes received: the current request and maybe pipelined ones */
    rf__text out;         /* bytes to send; out.p[0..out_off) already sent */
    size_t out_off;
    size_t req_len;       /* bytes of the request being answered (0: none) */
    double t_first;       /* when the first byte of the current request arrived (0: none yet) */
    double t_last;        /* last activity */
    int eof;              /* the peer closed (or half-closed) its side */
    int close_after;      /* close once `out` is sent */
    int sent_continue;    /* "100 Continue" already sent for this request */
    rf__job *job;         /* the generation answering this connection's request, if any */
} rf__conn;

typedef struct rf__http_req {
    char method[16];
    char path[512];       /* target without the query string */
    const char *body;
    size_t body_len;
    int keep_alive;
    const char *auth;     /* the Authorization header's value (not NUL-terminated), or NULL */
    size_t auth_len;
} rf__http_req;

typedef struct rf__net_limits {
    size_t max_header, max_body;
    int max_conns;
    double request_timeout, idle_timeout;
} rf__net_limits;

typedef struct rf__net {
    int listen_fd;
    rf__conn **conns;
    int n_conns;
    rf__net_limits lim;
    struct pollfd *pfds;
} rf__net;

static rf_status rf__text_printf(rf__text *t, const char *fmt, ...) RF__PRINTF(2, 3);
static rf_status rf__text_printf(rf__text *t, const char *fmt, ...) {
    char small[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return rf__err(RF_ERR_INVALID_ARG, "http: format error");
    if ((size_t)n < sizeof small) return rf__text_append(t, small, (size_t)n);
    {
        char *big = RF__NEW(char, (size_t)n + 1);
        rf_status s;
        if (!big) return rf__err(RF_ERR_OOM, "http: out of memory");
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        s = rf__text_append(t, big, (size_t)n);
        RF_FREE(big);
        return s;
    }
}

/* s[0..n) as a JSON string literal appended to t. */
static rf_status rf__text_json(rf__text *t, const char *s, size_t n) {
    size_t need = 0;
    rf_json_escape(s, n, NULL, 0, &need);
    if (t->n + need + 1 > t->cap) {
        rf_status st = RF__TEXT_LIT(t, "");
        size_t cap = t->n + need + 64;
        char *p = (char *)RF_REALLOC(t->p, cap);
        if (st != RF_OK || !p) return rf__err(RF_ERR_OOM, "http: out of memory");
        t->p = p;
        t->cap = cap;
    }
    rf_json_escape(s, n, t->p + t->n, t->cap - t->n, &need);
    t->n += need;
    t->p[t->n] = 0;
    return RF_OK;
}

static const char *rf__http_reason(int code) {
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* A whole response with a body. extra: more header lines, each ending in \r\n (or ""). */
static void rf__http_respond(rf__conn *c, int code, const char *ctype, const char *body, size_t len, const char *extra,
                             int keep_alive) {
    if (!keep_alive) c->close_after = 1;
    if (rf__text_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: %s\r\n\r\n", code,
                        rf__http_reason(code), ctype, len, extra ? extra : "", keep_alive ? "keep-alive" : "close") != RF_OK ||
        rf__text_append(&c->out, body, len) != RF_OK)
        c->close_after = 1;
}

/* An error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}. msg is copied
   first: callers pass rf_last_error(), whose buffer the JSON writing below may overwrite. */
static void rf__http_error(rf__conn *c, int code, const char *type, const char *param, const char *msg, int keep_alive) {
    rf__text b;
    char m[512];
    snprintf(m, sizeof m, "%s", msg);
    memset(&b, 0, sizeof b);
    RF__TEXT_LIT(&b, "{\"error\":{\"message\":");
    rf__text_json(&b, m, strlen(m));
    rf__text_printf(&b, ",\"type\":\"%s\",\"param\":", type);
    if (param) rf__text_json(&b, param, strlen(param));
    else RF__TEXT_LIT(&b, "null");
    rf__text_printf(&b, ",\"code\":%d}}", code);
    rf__http_respond(c, code, "application/json", b.p ? b.p : "", b.n,
                     code == 503 ? "Retry-After: 1\r\n" : code == 401 ? "WWW-Authenticate: Bearer\r\n" : "", keep_alive);
    RF_FREE(b.p);
}

static int rf__ieq(const char *a, size_t n, const char *b) {
    size_t i;
    if (strlen(b) != n) return 0;
    for (i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
    return 1;
}

static int rf__has_token(const char *v, size_t n, const char *tok) {
    size_t i = 0, k = strlen(tok);
    for (; i + k <= n; i++)
        if (rf__ieq(v + i, k, tok)) return 1;
    return 0;
}

/* Parse the request at the start of c->in. Returns 1 when complete (*r filled, c->req_len set),
   0 when more bytes are needed, or an HTTP status (4xx/5xx) for a request that must be refused;
   *why says why. */
static int rf__http_parse(rf__conn *c, const rf__net_limits *lim, rf__http_req *r, const char **why) {
    const char *p = c->in.p, *end, *line, *eol;
    size_t hdr_len, clen = 0, i;
    int have_clen = 0, http10 = 0, conn_close = 0, conn_keep = 0, expect = 0;
    *why = "";
    if (!p || c->in.n == 0) return 0;
    end = NULL;
    /* the request line, headers and blank line together fit max_header; scanning only there
       makes the answer the same however the bytes arrive (once scanning ran to i < max_header,
       a terminator ending past max_header bytes was accepted whole but refused (431) when the
       read stopped at max_header), and a request never exceeds the read bound (see rf__conn_read) */
    for (i = 0; i + 3 < c->in.n && i + 4 <= lim->max_header; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') { end = p + i; break; }
    if (!end) {
        if (c->in.n >= lim->max_header) return *why = "request headers are too large", 431;
        return 0;
    }
    hdr_len = (size_t)(end - p) + 4;
    memset(r, 0, sizeof *r);
    /* request line: METHOD SP target SP HTTP/1.x */
    eol = (const char *)memchr(p, '\r', hdr_len);
    {
        const char *sp1 = (const char *)memchr(p, ' ', (size_t)(eol - p)), *sp2, *q;
        if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof r->method) return *why = "malformed request line", 400;
        sp2 = (const char *)memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
        if (!sp2 || sp2 == sp1 + 1 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/", 5) != 0 || sp2[7] != '.')
            return *why = "malformed request line", 400;
        if (sp2[6] != '1' || (sp2[8] != '0' && sp2[8] != '1')) return *why = "only HTTP/1.0 and HTTP/1.1 are spoken here", 505;
        http10 = sp2[8] == '0';
        /* every byte checked, not up to a NUL: "\0POST" must not pass as the method "" */
        for (q = p; q < sp1; q++)
            if (*q < 'A' || *q > 'Z') return *why = "malformed method", 400;
        memcpy(r->method, p, (size_t)(sp1 - p));
        for (q = sp1 + 1; q < sp2 && *q != '?'; q++)
            if ((unsigned char)*q < 0x21 || *q == 0x7F) return *why = "bad request target", 400; /* NUL would cut the path */
        if ((size_t)(q - sp1 - 1) >= sizeof r->path || sp1[1] != '/') return *why = "bad request target", 400;
        memcpy(r->path, sp1 + 1, (size_t)(q - sp1 - 1));
    }
    /* header lines: name ":" OWS value OWS */
    for (line = eol + 2; line < end + 2; line = eol + 2) {
        const char *colon, *v, *ve;
        eol = (const char *)memchr(line, '\r', (size_t)(end + 2 - line));
        if (!eol || eol[1] != '\n') return *why = "bare CR in headers", 400;
        if (eol == line) break;
        if (*line == ' ' || *line == '\t') return *why = "obsolete header folding", 400;
        colon = (const char *)memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) return *why = "malformed header line", 400;
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {}
        for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--) {}
        if (rf__ieq(line, (size_t)(colon - line), "content-length")) {
            size_t n = 0;
            const char *d;
            if (v == ve) return *why = "empty Content-Length", 400;
            for (d = v; d < ve; d++) {
                if (*d < '0' || *d > '9') return *why = "bad Content-Length", 400;
                if (n > (SIZE_MAX - 9) / 10) return *why = "bad Content-Length", 400;
                n = n * 10 + (size_t)(*d - '0');
            }
            if (have_clen && n != clen) return *why = "conflicting Content-Length headers", 400;
            clen = n;
            have_clen = 1;
        } else if (rf__ieq(line, (size_t)(colon - line), "transfer-encoding")) {
            return *why = "chunked request bodies are not supported; send Content-Length", 411;
        } else if (rf__ieq(line, (size_t)(colon - line), "connection")) {
            conn_close |= rf__has_token(v, (size_t)(ve - v), "close");
            conn_keep |= rf__has_token(v, (size_t)(ve - v), "keep-alive");
        } else if (rf__ieq(line, (size_t)(colon - line), "authorization")) {
            r->auth = v;
            r->auth_len = (size_t)(ve - v);
        } else if (rf__ieq(line, (size_t)(colon - line), "expect")) {
            expect = rf__has_token(v, (size_t)(ve - v), "100-continue");
        }
    }
    if (clen > lim->max_body) return *why = "request body is too large", 413;
    r->keep_alive = http10 ? conn_keep && !conn_close : !conn_close;
    if (c->in.n < hdr_len + clen) {
        /* the client waits for our go-ahead before sending a large body (curl does this) */
        if (expect && !c->sent_continue) {
            RF__TEXT_LIT(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            c->sent_continue = 1;
        }
        return 0;
    }
    r->body = p + hdr_len;
    r->body_len = clen;
    c->req_len = hdr_len + clen;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
   Sockets */

/* Listen on a numeric address ("127.0.0.1", "0.0.0.0", "::1", "::"; "localhost" is 127.0.0.1).
   No name lookup: a server binds an address, and getaddrinfo in a static glibc binary would need
   glibc's shared NSS libraries at run time -- an appliance binary must not. */
static rf_status rf__net_listen(rf__net *n, const char *host, int port) {
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd, one = 1;
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        return rf__err(RF_ERR_INVALID_ARG, "serve: --host '%s' is not a numeric address (127.0.0.1, 0.0.0.0, ::1, ::)", host);
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0)
        return rf__err(RF_ERR_IO, "serve: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        return rf__err(RF_ERR_IO, "serve: cannot listen on %s:%d: %s", host, port, strerror(e));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    n->listen_fd = fd;
    return RF_OK;
}

static void rf__conn_free(rf__conn *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    RF_FREE(c->in.p);
    RF_FREE(c->out.p);
    RF_FREE(c);
}

/* Send what we can without blocking; -1 when the peer is gone. */
static int rf__conn_flush(rf__conn *c) {
    while (c->out_off < c->out.n) {
        ssize_t k = send(c->fd, c->out.p + c->out_off, c->out.n - c->out_off, MSG_NOSIGNAL);
        if (k > 0) {
            c->out_off += (size_t)k;
            c->t_last = rf__now();
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->out.n = c->out_off = 0; /* everything sent: reuse the buffer */
    return 0;
}

/* Forget the answered request; pipelined bytes after it move to the front. */
static void rf__conn_consume(rf__conn *c) {
    if (c->req_len && c->req_len <= c->in.n) {
        memmove(c->in.p, c->in.p + c->req_len, c->in.n - c->req_len);
        c->in.n -= c->req_len;
    }
    c->req_len = 0;
    c->sent_continue = 0;
    c->t_first = c->in.n ? rf__now() : 0;
}

static void rf__net_accept(rf__net *n) {
    int i;
    for (i = 0; i < 64; i++) { /* bounded: other work must not starve behind a connect storm */
        int fd = accept(n->listen_fd, NULL, NULL), one = 1;
        rf__conn *c;
        if (fd < 0) return;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* streamed tokens leave at once */
        if (n->n_conns >= n->lim.max_conns || !(c = RF__NEWZ(rf__conn, 1))) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ssize_t k = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            (void)k;
            close(fd);
            continue;
        }
        c->fd = fd;
        c->t_last = rf__now();
        n->conns[n->n_conns++] = c;
    }
}

/* Read what is there, up to the per-connection bound. */
static void rf__conn_read(rf__conn *c, const rf__net_limits *lim) {
    size_t bound = lim->max_header + lim->max_body;
    char buf[16384];
    while (c->in.n < bound && !c->eof) {
        ssize_t k = recv(c->fd, buf, RF__MIN(sizeof buf, bound - c->in.n), 0);
        if (k > 0) {
            if (c->in.n == 0 && c->t_first == 0) c->t_first = rf__now();
            if (rf__text_append(&c->in, buf, (size_t)k) != RF_OK) {
                c->eof = 1;
                return;
            }
            c->t_last = rf__now();
        } else if (k == 0) {
            c->eof = 1;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c->eof = 1;
            return;
        }
    }
}
