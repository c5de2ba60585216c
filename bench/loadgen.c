/*
 * loadgen: an HTTP/1.1-over-TLS load generator for the wid benchmarks.
 *
 * wrk cannot present a client certificate, and wid's X.509-SVID scenarios
 * need one, so the benchmarks carry their own client.  It is deliberately
 * small: epoll, non-blocking OpenSSL, one event loop per thread, N
 * connections spread over the threads, one request in flight per
 * connection (no pipelining, like a real client and like wrk).
 *
 * Modes:
 *   keepalive (default)  every connection sends request after request;
 *   --new-conn           every request on a new TCP + TLS connection,
 *                        with no session resumption unless --resume.
 *
 * Per-request bearer tokens (--tokens FILE, one a line) are consumed in
 * order, each exactly once: the run ends early when they run out, so a
 * cache-miss scenario never silently turns into a cache-hit one.
 *
 * Reports requests/s, latency percentiles (log-linear histogram, ~1.6%
 * resolution), status classes, non-2xx and error counts and the client's
 * own CPU time, as text and/or one JSON object.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define LG_MAX_HEADERS   32
#define LG_MAX_CONNS     10000
#define LG_MAX_THREADS   64
#define LG_HDR_MAX       16384      /* response header block limit */
#define LG_IO_BUF        16384
#define LG_TOKEN_MAX     8192       /* one bearer token */
#define LG_TOKENS_MAX    (1024L * 1024 * 1024)  /* token file size */

/* Histogram: 64 exact values, then 64 sub-buckets per power of two. */
#define LG_HIST_SUB      64
#define LG_HIST_BUCKETS  (LG_HIST_SUB * 60)

enum lg_err {
    LG_E_CONNECT,
    LG_E_TLS,
    LG_E_IO,
    LG_E_PROTOCOL,
    LG_E_TIMEOUT,
    LG_E_COUNT
};

static const char *const lg_err_names[LG_E_COUNT] = {
    "connect", "tls", "io", "protocol", "timeout"
};

enum lg_state {
    S_IDLE,          /* not connected, nothing to do */
    S_CONNECTING,    /* TCP connect in progress */
    S_HANDSHAKE,     /* TLS handshake */
    S_WRITING,       /* sending the request */
    S_READING,       /* reading the response */
    S_DRAIN          /* new-conn mode: response done, await peer close */
};

enum lg_body {
    B_NONE,          /* no body (HEAD-like statuses) */
    B_LENGTH,        /* Content-Length */
    B_CHUNK_SIZE,    /* chunked: reading a size line */
    B_CHUNK_DATA,    /* chunked: inside chunk data */
    B_CHUNK_CRLF,    /* chunked: CRLF after data */
    B_CHUNK_TRAILER, /* chunked: trailer lines up to an empty one */
    B_UNTIL_CLOSE    /* neither: body ends at EOF */
};

struct lg_opts {
    char              host[256];
    char              port[16];
    char              path[2048];
    const char       *sni;
    const char       *host_header;
    const char       *cert;
    const char       *key;
    const char       *cafile;
    const char       *tokens_file;
    const char       *token_prefix;
    const char       *json_out;
    const char       *headers[LG_MAX_HEADERS];
    int               nheaders;
    int               conns;
    int               threads;
    double            duration;
    double            warmup;
    double            timeout;
    long long         requests;    /* 0: duration-bound */
    int               new_conn;
    int               resume;
    int               tls_max;     /* 0, TLS1_2_VERSION or TLS1_3_VERSION */
    int               json;
    int               quiet;
    int               spin;        /* poll epoll, never sleep in it */
};

struct lg_stats {
    uint64_t          completed;       /* full responses in the window */
    uint64_t          status[6];       /* index status / 100, 0 = other */
    uint64_t          errors[LG_E_COUNT];
    uint64_t          bytes_in;
    uint64_t          connects;
    uint64_t          resumed;
    uint64_t          hist[LG_HIST_BUCKETS];
    uint64_t          lat_sum_ns;
    uint64_t          lat_max_ns;
};

struct lg_thread;

struct lg_conn {
    struct lg_thread *t;
    int               fd;
    SSL              *ssl;
    enum lg_state     state;
    uint32_t          events;          /* as registered with epoll */
    uint64_t          t_start;         /* request (or connect) start, ns */
    uint64_t          deadline;        /* timeout, ns */
    char             *req;             /* this request's bytes */
    size_t            req_len;
    size_t            req_cap;
    size_t            req_off;
    char              hdr[LG_HDR_MAX];
    size_t            hdr_len;
    int               hdr_done;
    int               status;
    int               close_after;
    enum lg_body      body;
    uint64_t          body_left;
    char              line[64];        /* chunk size / trailer line */
    size_t            line_len;
};

struct lg_thread {
    pthread_t         tid;
    int               epfd;
    int               nconns;
    struct lg_conn   *conns;
    SSL_SESSION      *session;         /* --resume: last session */
    char              proto[96];       /* first handshake's version */
    struct lg_stats   st;
    int               rc;
};

/* Shared, read-only after start (except the atomics). */
static struct lg_opts    opt;
static SSL_CTX          *lg_ctx;
static struct sockaddr_storage lg_addr;
static socklen_t         lg_addrlen;
static char             *lg_req_fixed;     /* request without token */
static size_t            lg_req_fixed_len;
static char             *lg_req_head;      /* up to the token header */
static size_t            lg_req_head_len;
static const char       *lg_req_tail;      /* after the token */
static size_t            lg_req_tail_len;
static char            **lg_tokens;
static size_t           *lg_token_lens;
static long long         lg_ntokens;
static long long         lg_budget;        /* max requests, -1 = none */
static atomic_llong      lg_issued;
static uint64_t          lg_t0, lg_t_measure, lg_t_end;
static atomic_ullong     lg_last_done;


static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


static void
die(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    exit(2);
}


static void
die_ssl(const char *what)
{
    unsigned long e = ERR_get_error();
    char          buf[256];

    ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "loadgen: %s: %s\n", what, e ? buf : "unknown error");
    exit(2);
}


/* ---- histogram ---------------------------------------------------- */

static size_t
hist_index(uint64_t v)
{
    unsigned e;
    size_t   i;

    if (v < LG_HIST_SUB) {
        return (size_t) v;
    }
    e = 63u - (unsigned) __builtin_clzll(v);          /* >= 6 */
    i = (size_t) (e - 5) * LG_HIST_SUB
        + (size_t) ((v >> (e - 6)) & (LG_HIST_SUB - 1));
    return i < LG_HIST_BUCKETS ? i : LG_HIST_BUCKETS - 1;
}


/* The middle of bucket i, the value reported for it. */
static double
hist_value(size_t i)
{
    unsigned e;
    uint64_t sub;

    if (i < LG_HIST_SUB) {
        return (double) i;
    }
    e = (unsigned) (i / LG_HIST_SUB) + 5;
    sub = i % LG_HIST_SUB;
    return ((double) (LG_HIST_SUB + sub) + 0.5) * (double) (1ull << (e - 6));
}


static double
hist_percentile(const struct lg_stats *st, double p)
{
    uint64_t want, acc = 0;
    size_t   i;

    if (st->completed == 0) {
        return 0;
    }
    want = (uint64_t) ceil(p / 100.0 * (double) st->completed);
    if (want == 0) {
        want = 1;
    }
    for (i = 0; i < LG_HIST_BUCKETS; i++) {
        acc += st->hist[i];
        if (acc >= want) {
            return hist_value(i);
        }
    }
    return (double) st->lat_max_ns;
}


/* ---- options ------------------------------------------------------ */

static void
usage(FILE *out)
{
    fprintf(out,
"usage: loadgen [options] https://HOST:PORT/PATH\n"
"  -c, --connections N     concurrent connections (default 32)\n"
"  -t, --threads N         event-loop threads (default 1)\n"
"  -d, --duration SECONDS  measured run time (default 5)\n"
"  -n, --requests N        stop after N requests instead\n"
"  -w, --warmup SECONDS    load before measuring starts (default 0)\n"
"      --new-conn          a new TCP+TLS connection for every request\n"
"      --resume            allow TLS session resumption (new-conn mode)\n"
"      --cert FILE         client certificate chain (PEM)\n"
"      --key FILE          client private key (PEM)\n"
"      --cafile FILE       verify the server against these CAs\n"
"                          (default: no server verification)\n"
"      --sni NAME          TLS server name (default: the host if a name)\n"
"      --host-header NAME  Host header (default: the URL's host)\n"
"  -H, --header 'K: V'     extra request header (repeatable)\n"
"      --tokens FILE       one bearer token a line, a new one per request;\n"
"                          the run ends when they are used up\n"
"      --token-prefix TEXT header line before each token\n"
"                          (default 'Authorization: Bearer ')\n"
"      --timeout SECONDS   per-request timeout (default 10)\n"
"      --tls-max 1.2|1.3   highest TLS version offered (default 1.3)\n"
"      --spin              poll for events instead of sleeping (a client\n"
"                          alone on its own core; see bench/README.md)\n"
"      --json              print one JSON object instead of text\n"
"      --json-out FILE     also write the JSON object to FILE\n"
"  -q, --quiet             no text report\n"
"exit: 0 done (even with errors: read the counts), 2 usage/setup error\n");
}


static int
parse_url(const char *url)
{
    const char *p, *host, *hend, *port, *path;
    size_t      hl, pl;

    if (strncmp(url, "https://", 8) != 0) {
        return -1;
    }
    p = url + 8;
    if (*p == '[') {
        host = p + 1;
        hend = strchr(host, ']');
        if (hend == NULL) {
            return -1;
        }
        p = hend + 1;
    } else {
        host = p;
        hend = p + strcspn(p, ":/");
        p = hend;
    }
    hl = (size_t) (hend - host);
    if (hl == 0 || hl >= sizeof(opt.host)) {
        return -1;
    }
    memcpy(opt.host, host, hl);
    opt.host[hl] = '\0';
    if (*p == ':') {
        port = p + 1;
        p = port + strspn(port, "0123456789");
        pl = (size_t) (p - port);
        if (pl == 0 || pl > 5) {
            return -1;
        }
        memcpy(opt.port, port, pl);
        opt.port[pl] = '\0';
    } else {
        strcpy(opt.port, "443");
    }
    path = *p ? p : "/";
    if (*path != '/' || strlen(path) >= sizeof(opt.path)
        || strpbrk(path, " \r\n") != NULL)
    {
        return -1;
    }
    strcpy(opt.path, path);
    return 0;
}


/* A header value or token must not smuggle in another header line. */
static int
header_safe(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '\r' || c == '\n' || c == '\0') {
            return 0;
        }
    }
    return 1;
}


static double
parse_seconds(const char *s, const char *name)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v >= 0) || v > 86400) {
        fprintf(stderr, "loadgen: bad %s: %s\n", name, s);
        exit(2);
    }
    return v;
}


static long long
parse_count(const char *s, const char *name, long long max)
{
    char      *end;
    long long  v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < 1 || v > max) {
        fprintf(stderr, "loadgen: bad %s: %s (1..%lld)\n", name, s, max);
        exit(2);
    }
    return v;
}


static void
parse_args(int argc, char **argv)
{
    enum { O_NEWCONN = 256, O_RESUME, O_CERT, O_KEY, O_CAFILE, O_SNI,
           O_HOSTH, O_TOKENS, O_TPREFIX, O_TIMEOUT, O_TLSMAX, O_JSON,
           O_JSONOUT, O_SPIN };
    static const struct option longopts[] = {
        { "connections", required_argument, NULL, 'c' },
        { "threads", required_argument, NULL, 't' },
        { "duration", required_argument, NULL, 'd' },
        { "requests", required_argument, NULL, 'n' },
        { "warmup", required_argument, NULL, 'w' },
        { "header", required_argument, NULL, 'H' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "new-conn", no_argument, NULL, O_NEWCONN },
        { "resume", no_argument, NULL, O_RESUME },
        { "cert", required_argument, NULL, O_CERT },
        { "key", required_argument, NULL, O_KEY },
        { "cafile", required_argument, NULL, O_CAFILE },
        { "sni", required_argument, NULL, O_SNI },
        { "host-header", required_argument, NULL, O_HOSTH },
        { "tokens", required_argument, NULL, O_TOKENS },
        { "token-prefix", required_argument, NULL, O_TPREFIX },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "tls-max", required_argument, NULL, O_TLSMAX },
        { "json", no_argument, NULL, O_JSON },
        { "json-out", required_argument, NULL, O_JSONOUT },
        { "spin", no_argument, NULL, O_SPIN },
        { NULL, 0, NULL, 0 }
    };
    int c;

    opt.conns = 32;
    opt.threads = 1;
    opt.duration = 5;
    opt.timeout = 10;
    opt.token_prefix = "Authorization: Bearer ";

    while ((c = getopt_long(argc, argv, "c:t:d:n:w:H:qh", longopts, NULL))
           != -1)
    {
        switch (c) {
        case 'c':
            opt.conns = (int) parse_count(optarg, "connections",
                                          LG_MAX_CONNS);
            break;
        case 't':
            opt.threads = (int) parse_count(optarg, "threads",
                                            LG_MAX_THREADS);
            break;
        case 'd':
            opt.duration = parse_seconds(optarg, "duration");
            break;
        case 'n':
            opt.requests = parse_count(optarg, "requests", LLONG_MAX / 2);
            break;
        case 'w':
            opt.warmup = parse_seconds(optarg, "warmup");
            break;
        case 'H':
            if (opt.nheaders == LG_MAX_HEADERS) {
                die("too many -H headers");
            }
            if (!header_safe(optarg, strlen(optarg))
                || strchr(optarg, ':') == NULL)
            {
                die("a -H header must be one 'Name: value' line");
            }
            opt.headers[opt.nheaders++] = optarg;
            break;
        case 'q':
            opt.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case O_NEWCONN:
            opt.new_conn = 1;
            break;
        case O_RESUME:
            opt.resume = 1;
            break;
        case O_CERT:
            opt.cert = optarg;
            break;
        case O_KEY:
            opt.key = optarg;
            break;
        case O_CAFILE:
            opt.cafile = optarg;
            break;
        case O_SNI:
            opt.sni = optarg;
            break;
        case O_HOSTH:
            if (!header_safe(optarg, strlen(optarg))) {
                die("bad --host-header");
            }
            opt.host_header = optarg;
            break;
        case O_TOKENS:
            opt.tokens_file = optarg;
            break;
        case O_TPREFIX:
            if (!header_safe(optarg, strlen(optarg))) {
                die("bad --token-prefix");
            }
            opt.token_prefix = optarg;
            break;
        case O_TIMEOUT:
            opt.timeout = parse_seconds(optarg, "timeout");
            if (opt.timeout <= 0) {
                die("--timeout must be positive");
            }
            break;
        case O_TLSMAX:
            if (strcmp(optarg, "1.2") == 0) {
                opt.tls_max = TLS1_2_VERSION;
            } else if (strcmp(optarg, "1.3") == 0) {
                opt.tls_max = TLS1_3_VERSION;
            } else {
                die("--tls-max takes 1.2 or 1.3");
            }
            break;
        case O_JSON:
            opt.json = 1;
            break;
        case O_JSONOUT:
            opt.json_out = optarg;
            break;
        case O_SPIN:
            opt.spin = 1;
            break;
        default:
            usage(stderr);
            exit(2);
        }
    }

    if (optind != argc - 1) {
        usage(stderr);
        exit(2);
    }
    if (parse_url(argv[optind]) != 0) {
        die("the target must be https://HOST[:PORT][/PATH]");
    }
    if ((opt.cert == NULL) != (opt.key == NULL)) {
        die("--cert and --key go together");
    }
    if (opt.resume && !opt.new_conn) {
        die("--resume only makes sense with --new-conn");
    }
    if (opt.requests == 0 && opt.duration <= 0) {
        die("give a positive --duration or --requests");
    }
    if (opt.threads > opt.conns) {
        opt.threads = opt.conns;
    }
}


/* ---- setup -------------------------------------------------------- */

static void
resolve(void)
{
    struct addrinfo  hints, *res;
    int              rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(opt.host, opt.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "loadgen: %s: %s\n", opt.host, gai_strerror(rc));
        exit(2);
    }
    memcpy(&lg_addr, res->ai_addr, res->ai_addrlen);
    lg_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}


static int
is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}


static void
setup_tls(void)
{
    lg_ctx = SSL_CTX_new(TLS_client_method());
    if (lg_ctx == NULL) {
        die_ssl("SSL_CTX_new");
    }
    SSL_CTX_set_min_proto_version(lg_ctx, TLS1_2_VERSION);
    if (opt.tls_max) {
        SSL_CTX_set_max_proto_version(lg_ctx, opt.tls_max);
    }
    SSL_CTX_set_mode(lg_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (opt.resume) {
        SSL_CTX_set_session_cache_mode(lg_ctx, SSL_SESS_CACHE_CLIENT
                                       | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    } else {
        /* Every new connection pays a full handshake, as asked. */
        SSL_CTX_set_session_cache_mode(lg_ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(lg_ctx, SSL_OP_NO_TICKET);
    }

    if (opt.cafile) {
        if (SSL_CTX_load_verify_locations(lg_ctx, opt.cafile, NULL) != 1) {
            die_ssl(opt.cafile);
        }
        SSL_CTX_set_verify(lg_ctx, SSL_VERIFY_PEER, NULL);
    } else {
        /* A benchmark client on loopback: the server is ours. */
        SSL_CTX_set_verify(lg_ctx, SSL_VERIFY_NONE, NULL);
    }

    if (opt.cert) {
        if (SSL_CTX_use_certificate_chain_file(lg_ctx, opt.cert) != 1) {
            die_ssl(opt.cert);
        }
        if (SSL_CTX_use_PrivateKey_file(lg_ctx, opt.key, SSL_FILETYPE_PEM)
            != 1)
        {
            die_ssl(opt.key);
        }
        if (SSL_CTX_check_private_key(lg_ctx) != 1) {
            die_ssl("client key does not match the certificate");
        }
    }
}


static char *
xmalloc(size_t n)
{
    char *p = malloc(n ? n : 1);

    if (p == NULL) {
        die("out of memory");
    }
    return p;
}


/* Append s to a growing buffer; sizes are small and checked. */
static void
buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n > SIZE_MAX / 4 - *len) {
        die("request too large");
    }
    if (*len + n + 1 > *cap) {
        size_t nc = (*len + n + 1) * 2;
        char  *nb = realloc(*buf, nc);

        if (nb == NULL) {
            die("out of memory");
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}


static void
build_request(void)
{
    char       *b = NULL;
    size_t      len = 0, cap = 0;
    const char *host = opt.host_header ? opt.host_header : opt.host;
    int         i;

    buf_add(&b, &len, &cap, "GET ", 4);
    buf_add(&b, &len, &cap, opt.path, strlen(opt.path));
    buf_add(&b, &len, &cap, " HTTP/1.1\r\nHost: ", 17);
    buf_add(&b, &len, &cap, host, strlen(host));
    buf_add(&b, &len, &cap, "\r\n", 2);
    if (opt.new_conn) {
        buf_add(&b, &len, &cap, "Connection: close\r\n", 19);
    }
    for (i = 0; i < opt.nheaders; i++) {
        buf_add(&b, &len, &cap, opt.headers[i], strlen(opt.headers[i]));
        buf_add(&b, &len, &cap, "\r\n", 2);
    }

    if (opt.tokens_file) {
        /* The token header line goes between head and tail. */
        lg_req_head = b;
        lg_req_head_len = len;
        lg_req_tail = "\r\n\r\n";
        lg_req_tail_len = 4;
        return;
    }
    buf_add(&b, &len, &cap, "\r\n", 2);
    lg_req_fixed = b;
    lg_req_fixed_len = len;
}


/* Tokens: the file is read whole and split in place, one a line. */
static void
load_tokens(void)
{
    struct stat  sb;
    char        *data, *p, *end;
    long long    n = 0, cap = 1024;
    ssize_t      r;
    size_t       off = 0;
    int          fd;

    fd = open(opt.tokens_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        perror(opt.tokens_file);
        exit(2);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > LG_TOKENS_MAX) {
        die("--tokens: not a regular file of at most 1 GiB");
    }
    data = xmalloc((size_t) sb.st_size + 1);
    while (off < (size_t) sb.st_size) {
        r = read(fd, data + off, (size_t) sb.st_size - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            die("--tokens: short read");
        }
        off += (size_t) r;
    }
    close(fd);
    data[off] = '\0';

    lg_tokens = (char **) xmalloc((size_t) cap * sizeof(char *));
    lg_token_lens = (size_t *) xmalloc((size_t) cap * sizeof(size_t));
    for (p = data; p < data + off; p = end + 1) {
        size_t l;

        end = memchr(p, '\n', (size_t) (data + off - p));
        if (end == NULL) {
            end = data + off;
        }
        l = (size_t) (end - p);
        if (l && p[l - 1] == '\r') {
            l--;
        }
        if (l == 0) {
            continue;
        }
        if (l > LG_TOKEN_MAX || !header_safe(p, l) || memchr(p, ' ', l)) {
            fprintf(stderr, "loadgen: --tokens: token %lld is malformed\n",
                    n + 1);
            exit(2);
        }
        if (n == cap) {
            cap *= 2;
            lg_tokens = realloc(lg_tokens, (size_t) cap * sizeof(char *));
            lg_token_lens = realloc(lg_token_lens,
                                    (size_t) cap * sizeof(size_t));
            if (lg_tokens == NULL || lg_token_lens == NULL) {
                die("out of memory");
            }
        }
        lg_tokens[n] = p;
        lg_token_lens[n] = l;
        n++;
    }
    if (n == 0) {
        die("--tokens: the file holds no token");
    }
    lg_ntokens = n;
}


/* ---- connections -------------------------------------------------- */

static void
conn_events(struct lg_conn *c, uint32_t ev)
{
    struct epoll_event e;

    if (c->events == ev) {
        return;
    }
    e.events = ev;
    e.data.ptr = c;
    if (epoll_ctl(c->t->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                  c->fd, &e) != 0)
    {
        die("epoll_ctl");
    }
    c->events = ev;
}


static void
conn_close(struct lg_conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);             /* also leaves the epoll set */
        c->fd = -1;
    }
    c->events = 0;
    c->state = S_IDLE;
}


static int
in_window(uint64_t t)
{
    return t >= lg_t_measure && t <= lg_t_end;
}


static void
conn_error(struct lg_conn *c, enum lg_err e)
{
    if (in_window(now_ns())) {
        c->t->st.errors[e]++;
    }
    ERR_clear_error();
    conn_close(c);
}


/*
 * Claim the right to send one more request: the budget (-n or the token
 * count) is shared by all threads.  Returns the request's index or -1.
 */
static long long
claim_request(void)
{
    long long i;

    if (now_ns() >= lg_t_end) {
        return -1;
    }
    i = atomic_fetch_add(&lg_issued, 1);
    if (lg_budget >= 0 && i >= lg_budget) {
        return -1;
    }
    return i;
}


static void
prepare_request(struct lg_conn *c, long long idx)
{
    if (lg_tokens == NULL) {
        c->req = lg_req_fixed;
        c->req_len = lg_req_fixed_len;
    } else {
        size_t tl = lg_token_lens[idx % lg_ntokens];
        size_t pl = strlen(opt.token_prefix);
        size_t need = lg_req_head_len + pl + tl + lg_req_tail_len;

        if (need > c->req_cap) {
            free(c->req_cap ? c->req : NULL);
            c->req = xmalloc(need);
            c->req_cap = need;
        }
        memcpy(c->req, lg_req_head, lg_req_head_len);
        memcpy(c->req + lg_req_head_len, opt.token_prefix, pl);
        memcpy(c->req + lg_req_head_len + pl, lg_tokens[idx % lg_ntokens],
               tl);
        memcpy(c->req + lg_req_head_len + pl + tl, lg_req_tail,
               lg_req_tail_len);
        c->req_len = need;
    }
    c->req_off = 0;
    c->hdr_len = 0;
    c->hdr_done = 0;
    c->status = 0;
    c->close_after = 0;
    c->body = B_NONE;
    c->body_left = 0;
    c->line_len = 0;
}


static void conn_step(struct lg_conn *c);


static void
conn_start(struct lg_conn *c)
{
    long long idx;
    int       one = 1;
    int       rc;

    idx = claim_request();
    if (idx < 0) {
        return;                   /* stays idle: nothing left to do */
    }
    prepare_request(c, idx);

    c->fd = socket(lg_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK
                                      | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_error(c, LG_E_CONNECT);
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->t_start = now_ns();
    c->deadline = c->t_start + (uint64_t) (opt.timeout * 1e9);
    c->t->st.connects++;

    rc = connect(c->fd, (struct sockaddr *) &lg_addr, lg_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        conn_error(c, LG_E_CONNECT);
        return;
    }
    c->state = S_CONNECTING;
    conn_events(c, EPOLLOUT);
}


static int
tls_begin(struct lg_conn *c)
{
    c->ssl = SSL_new(lg_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        return -1;
    }
    SSL_set_connect_state(c->ssl);
    if (opt.sni) {
        SSL_set_tlsext_host_name(c->ssl, opt.sni);
    } else if (!is_ip_literal(opt.host)) {
        SSL_set_tlsext_host_name(c->ssl, opt.host);
    }
    if (opt.cafile) {
        SSL_set1_host(c->ssl, opt.sni ? opt.sni : opt.host);
    }
    if (opt.resume && c->t->session) {
        SSL_set_session(c->ssl, c->t->session);
    }
    c->state = S_HANDSHAKE;
    return 0;
}


/* Wait for what OpenSSL wants; returns 0 if that is all, -1 on error. */
static int
ssl_want(struct lg_conn *c, int rc)
{
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        conn_events(c, EPOLLIN);
        return 0;
    case SSL_ERROR_WANT_WRITE:
        conn_events(c, EPOLLOUT);
        return 0;
    default:
        return -1;
    }
}


static void
record(struct lg_conn *c, uint64_t t)
{
    struct lg_stats *st = &c->t->st;
    uint64_t         lat = t - c->t_start;
    int              cls = c->status / 100;

    if (!in_window(t)) {
        return;
    }
    st->completed++;
    st->status[cls >= 1 && cls <= 5 ? cls : 0]++;
    st->hist[hist_index(lat)]++;
    st->lat_sum_ns += lat;
    if (lat > st->lat_max_ns) {
        st->lat_max_ns = lat;
    }
    if (t > atomic_load(&lg_last_done)) {
        atomic_store(&lg_last_done, t);
    }
}


/* Header block complete: status line and the framing headers. */
static int
parse_head(struct lg_conn *c, size_t head_len)
{
    char   *p = c->hdr, *end = c->hdr + head_len, *eol;
    int     minor, have_len = 0;
    char    sp;

    if (head_len < 12 || memcmp(p, "HTTP/1.", 7) != 0) {
        return -1;
    }
    minor = p[7] - '0';
    sp = p[8];
    if ((minor != 0 && minor != 1) || sp != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9')
    {
        return -1;
    }
    c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    c->close_after = (minor == 0);
    c->body = B_UNTIL_CLOSE;

    eol = memchr(p, '\n', (size_t) (end - p));
    for (p = eol + 1; p < end; p = eol + 1) {
        size_t  l;
        char   *v;

        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            break;
        }
        l = (size_t) (eol - p);
        if (l && p[l - 1] == '\r') {
            l--;
        }
        if (l == 0) {
            break;
        }
        v = memchr(p, ':', l);
        if (v == NULL) {
            return -1;
        }
        v++;
        while (v < p + l && (*v == ' ' || *v == '\t')) {
            v++;
        }
        if (l >= 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            uint64_t n = 0;
            char    *q;

            if (have_len || v == p + l) {
                return -1;
            }
            for (q = v; q < p + l; q++) {
                if (*q < '0' || *q > '9' || n > UINT64_MAX / 10 - 10) {
                    return -1;
                }
                n = n * 10 + (uint64_t) (*q - '0');
            }
            have_len = 1;
            if (c->body != B_CHUNK_SIZE) {
                c->body = B_LENGTH;
                c->body_left = n;
            }
        } else if (l >= 18
                   && strncasecmp(p, "Transfer-Encoding:", 18) == 0)
        {
            if ((size_t) (p + l - v) >= 7
                && strncasecmp(p + l - 7, "chunked", 7) == 0)
            {
                c->body = B_CHUNK_SIZE;
                c->line_len = 0;
            }
        } else if (l >= 11 && strncasecmp(p, "Connection:", 11) == 0) {
            if ((size_t) (p + l - v) >= 5
                && strncasecmp(v, "close", 5) == 0)
            {
                c->close_after = 1;
            } else if ((size_t) (p + l - v) >= 10
                       && strncasecmp(v, "keep-alive", 10) == 0)
            {
                c->close_after = 0;
            }
        }
    }
    if (c->status == 204 || c->status == 304) {
        c->body = B_NONE;
    }
    if (c->body == B_UNTIL_CLOSE) {
        c->close_after = 1;
    }
    return 0;
}


/*
 * Consume body bytes.  Returns 1 when the response is complete, 0 when
 * more is needed, -1 on a framing error.  *used tells how much was eaten.
 */
static int
eat_body(struct lg_conn *c, const char *p, size_t n, size_t *used)
{
    size_t i = 0;

    while (i < n || c->body == B_NONE
           || (c->body == B_LENGTH && c->body_left == 0))
    {
        switch (c->body) {
        case B_NONE:
            *used = i;
            return 1;

        case B_LENGTH:
            if (c->body_left == 0) {
                *used = i;
                return 1;
            }
            {
                size_t take = n - i;

                if ((uint64_t) take > c->body_left) {
                    take = (size_t) c->body_left;
                }
                c->body_left -= take;
                i += take;
            }
            break;

        case B_UNTIL_CLOSE:
            i = n;
            break;

        case B_CHUNK_SIZE:
        case B_CHUNK_TRAILER:
            while (i < n && p[i] != '\n') {
                if (c->line_len + 1 >= sizeof(c->line)) {
                    if (c->body == B_CHUNK_TRAILER) {
                        c->line_len = 1;    /* long trailer: skip it */
                    } else {
                        return -1;
                    }
                }
                c->line[c->line_len++] = p[i++];
            }
            if (i == n) {
                break;
            }
            i++;                            /* the '\n' */
            if (c->line_len && c->line[c->line_len - 1] == '\r') {
                c->line_len--;
            }
            if (c->body == B_CHUNK_TRAILER) {
                if (c->line_len == 0) {
                    *used = i;
                    return 1;
                }
                c->line_len = 0;
                break;
            }
            {
                uint64_t sz = 0;
                size_t   k;
                int      digits = 0;

                for (k = 0; k < c->line_len; k++) {
                    char ch = c->line[k];
                    int  d;

                    if (ch >= '0' && ch <= '9') {
                        d = ch - '0';
                    } else if (ch >= 'a' && ch <= 'f') {
                        d = ch - 'a' + 10;
                    } else if (ch >= 'A' && ch <= 'F') {
                        d = ch - 'A' + 10;
                    } else {
                        break;              /* chunk extension */
                    }
                    if (sz > (UINT64_MAX >> 4)) {
                        return -1;
                    }
                    sz = (sz << 4) | (uint64_t) d;
                    digits++;
                }
                if (digits == 0) {
                    return -1;
                }
                c->line_len = 0;
                if (sz == 0) {
                    c->body = B_CHUNK_TRAILER;
                } else {
                    c->body = B_CHUNK_DATA;
                    c->body_left = sz;
                }
            }
            break;

        case B_CHUNK_DATA:
            {
                size_t take = n - i;

                if ((uint64_t) take > c->body_left) {
                    take = (size_t) c->body_left;
                }
                c->body_left -= take;
                i += take;
                if (c->body_left == 0) {
                    c->body = B_CHUNK_CRLF;
                    c->body_left = 2;
                }
            }
            break;

        case B_CHUNK_CRLF:
            while (i < n && c->body_left) {
                if (p[i] == '\n') {
                    c->body_left = 0;
                } else if (p[i] == '\r' && c->body_left == 2) {
                    c->body_left = 1;
                } else {
                    return -1;
                }
                i++;
            }
            if (c->body_left == 0) {
                c->body = B_CHUNK_SIZE;
                c->line_len = 0;
            }
            break;
        }
    }
    *used = i;
    return 0;
}


/* Response finished: count it, then the next request or connection. */
static void
response_done(struct lg_conn *c)
{
    uint64_t  t = now_ns();
    long long idx;

    record(c, t);

    if (opt.new_conn) {
        if (opt.resume) {
            SSL_SESSION *s = SSL_get1_session(c->ssl);

            if (s) {
                SSL_SESSION_free(c->t->session);
                c->t->session = s;
            }
        }
        /*
         * The server closes (Connection: close); waiting for its close
         * keeps TIME_WAIT on the server side, so a long run does not
         * exhaust the client's ephemeral ports.
         */
        c->state = S_DRAIN;
        c->deadline = t + 1000000000u;
        conn_step(c);
        return;
    }
    if (c->close_after) {
        conn_close(c);
        conn_start(c);
        return;
    }
    idx = claim_request();
    if (idx < 0) {
        conn_close(c);
        return;
    }
    prepare_request(c, idx);
    c->t_start = t;
    c->deadline = t + (uint64_t) (opt.timeout * 1e9);
    c->state = S_WRITING;
    conn_step(c);
}


static void
conn_read(struct lg_conn *c)
{
    char   buf[LG_IO_BUF];
    int    n;

    for ( ;; ) {
        const char *p;
        size_t      avail, used;
        int         done;

        n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);

            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ssl_want(c, n);
                return;
            }
            /* EOF or close_notify: ends a close-delimited body. */
            if ((e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
                && c->hdr_done && c->body == B_UNTIL_CLOSE)
            {
                record(c, now_ns());
                conn_close(c);
                conn_start(c);
                return;
            }
            conn_error(c, c->hdr_done || c->hdr_len ? LG_E_PROTOCOL
                                                    : LG_E_IO);
            if (c->state == S_IDLE) {
                conn_start(c);
            }
            return;
        }
        c->t->st.bytes_in += (uint64_t) n;
        p = buf;
        avail = (size_t) n;

        if (!c->hdr_done) {
            char   *end;
            size_t  room = sizeof(c->hdr) - 1 - c->hdr_len;
            size_t  take = avail < room ? avail : room;
            size_t  old = c->hdr_len;

            memcpy(c->hdr + c->hdr_len, p, take);
            c->hdr_len += take;
            c->hdr[c->hdr_len] = '\0';
            end = strstr(c->hdr + (old > 3 ? old - 3 : 0), "\r\n\r\n");
            if (end == NULL) {
                if (c->hdr_len == sizeof(c->hdr) - 1) {
                    conn_error(c, LG_E_PROTOCOL);
                    conn_start(c);
                    return;
                }
                continue;
            }
            {
                size_t head = (size_t) (end - c->hdr) + 4;

                if (parse_head(c, head) != 0) {
                    conn_error(c, LG_E_PROTOCOL);
                    conn_start(c);
                    return;
                }
                c->hdr_done = 1;
                /* Body bytes that came with the head. */
                p += head - old;
                avail -= head - old;
            }
        }

        done = eat_body(c, p, avail, &used);
        if (done < 0 || (done == 1 && used != avail)) {
            /* Bad framing, or bytes beyond the response (no pipelining). */
            conn_error(c, LG_E_PROTOCOL);
            conn_start(c);
            return;
        }
        if (done == 1) {
            response_done(c);
            return;
        }
    }
}


static void
conn_drain(struct lg_conn *c)
{
    char buf[512];
    int  n;

    for ( ;; ) {
        n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n > 0) {
            continue;             /* nothing expected; ignore */
        }
        if (ssl_want(c, n) == 0) {
            return;
        }
        break;                    /* closed */
    }
    /*
     * A clean end: mark it so, or OpenSSL would treat the session as
     * broken and refuse to resume it (--resume).
     */
    SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    ERR_clear_error();
    conn_close(c);
    conn_start(c);
}


/* Advance a connection as far as it goes without blocking. */
static void
conn_step(struct lg_conn *c)
{
    int rc;

    switch (c->state) {
    case S_IDLE:
        return;

    case S_CONNECTING:
        {
            int       err = 0;
            socklen_t el = sizeof(err);

            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0
                || err != 0)
            {
                conn_error(c, LG_E_CONNECT);
                conn_start(c);
                return;
            }
            if (tls_begin(c) != 0) {
                conn_error(c, LG_E_TLS);
                conn_start(c);
                return;
            }
        }
        /* fall through */

    case S_HANDSHAKE:
        rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            if (ssl_want(c, rc) != 0) {
                conn_error(c, LG_E_TLS);
                conn_start(c);
            }
            return;
        }
        if (SSL_session_reused(c->ssl)) {
            c->t->st.resumed++;
        }
        if (c->t->proto[0] == '\0') {
            snprintf(c->t->proto, sizeof(c->t->proto), "%s %s",
                     SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
        }
        c->state = S_WRITING;
        /* fall through */

    case S_WRITING:
        while (c->req_off < c->req_len) {
            rc = SSL_write(c->ssl, c->req + c->req_off,
                           (int) (c->req_len - c->req_off));
            if (rc <= 0) {
                if (ssl_want(c, rc) != 0) {
                    conn_error(c, LG_E_IO);
                    conn_start(c);
                }
                return;
            }
            c->req_off += (size_t) rc;
        }
        /*
         * Wait for the reply through epoll rather than reading at once:
         * it keeps the call depth flat however fast the server answers.
         */
        c->state = S_READING;
        conn_events(c, EPOLLIN);
        return;

    case S_READING:
        conn_read(c);
        return;

    case S_DRAIN:
        conn_drain(c);
        return;
    }
}


static void
check_timeouts(struct lg_thread *t, uint64_t now)
{
    int i;

    for (i = 0; i < t->nconns; i++) {
        struct lg_conn *c = &t->conns[i];

        if (c->state == S_IDLE || now < c->deadline) {
            continue;
        }
        if (c->state == S_DRAIN) {
            conn_close(c);        /* slow close: not the request's fault */
        } else {
            conn_error(c, LG_E_TIMEOUT);
        }
        conn_start(c);
    }
}


static void *
thread_main(void *arg)
{
    struct lg_thread   *t = arg;
    struct epoll_event  evs[256];
    uint64_t            last_scan;
    int                 i, n, active;

    for (i = 0; i < t->nconns; i++) {
        conn_start(&t->conns[i]);
    }
    last_scan = now_ns();

    for ( ;; ) {
        uint64_t now = now_ns();
        int      wait_ms;

        active = 0;
        for (i = 0; i < t->nconns; i++) {
            active += t->conns[i].state != S_IDLE;
        }
        if (active == 0 || now >= lg_t_end) {
            break;
        }
        wait_ms = (int) ((lg_t_end - now) / 1000000u) + 1;
        if (wait_ms > 100) {
            wait_ms = 100;
        }
        if (opt.spin) {
            wait_ms = 0;
        }
        n = epoll_wait(t->epfd, evs, 256, wait_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait");
        }
        for (i = 0; i < n; i++) {
            struct lg_conn *c = evs[i].data.ptr;

            if (c->state == S_CONNECTING
                && (evs[i].events & (EPOLLERR | EPOLLHUP)))
            {
                conn_error(c, LG_E_CONNECT);
                conn_start(c);
                continue;
            }
            conn_step(c);
        }
        now = now_ns();
        if (now - last_scan > 100000000u) {
            check_timeouts(t, now);
            last_scan = now;
        }
    }

    for (i = 0; i < t->nconns; i++) {
        conn_close(&t->conns[i]);
        if (t->conns[i].req != lg_req_fixed) {
            free(t->conns[i].req);
        }
    }
    SSL_SESSION_free(t->session);
    return NULL;
}


/* ---- report ------------------------------------------------------- */

static double
cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static void
merge(struct lg_stats *to, const struct lg_stats *from)
{
    size_t i;

    to->completed += from->completed;
    for (i = 0; i < 6; i++) {
        to->status[i] += from->status[i];
    }
    for (i = 0; i < LG_E_COUNT; i++) {
        to->errors[i] += from->errors[i];
    }
    to->bytes_in += from->bytes_in;
    to->connects += from->connects;
    to->resumed += from->resumed;
    for (i = 0; i < LG_HIST_BUCKETS; i++) {
        to->hist[i] += from->hist[i];
    }
    to->lat_sum_ns += from->lat_sum_ns;
    if (from->lat_max_ns > to->lat_max_ns) {
        to->lat_max_ns = from->lat_max_ns;
    }
}


static void
report(const struct lg_stats *st, double elapsed, double cpu, double wall,
       long long tokens_used, const char *proto)
{
    json_t   *o, *lat, *status, *errs;
    uint64_t  nerr = 0, non2xx;
    double    rps = elapsed > 0 ? (double) st->completed / elapsed : 0;
    double    mean = st->completed
                     ? (double) st->lat_sum_ns / (double) st->completed : 0;
    double    p50 = hist_percentile(st, 50), p90 = hist_percentile(st, 90);
    double    p99 = hist_percentile(st, 99);
    double    p999 = hist_percentile(st, 99.9);
    size_t    i;
    char     *text;

    for (i = 0; i < LG_E_COUNT; i++) {
        nerr += st->errors[i];
    }
    non2xx = st->completed - st->status[2];

    if (!opt.json && !opt.quiet) {
        printf("loadgen: https://%s:%s%s, %d connection%s, %d thread%s, "
               "%s%s%s\n", opt.host, opt.port, opt.path, opt.conns,
               opt.conns == 1 ? "" : "s", opt.threads,
               opt.threads == 1 ? "" : "s",
               opt.new_conn ? "new connection per request" : "keepalive",
               opt.resume ? " (resumption allowed)" : "",
               opt.cert ? ", client certificate" : "");
        printf("  requests     %" PRIu64 " in %.3f s = %.1f req/s\n",
               st->completed, elapsed, rps);
        printf("  responses    2xx %" PRIu64 ", non-2xx %" PRIu64
               " (1xx %" PRIu64 ", 3xx %" PRIu64 ", 4xx %" PRIu64
               ", 5xx %" PRIu64 ", other %" PRIu64 ")\n",
               st->status[2], non2xx, st->status[1], st->status[3],
               st->status[4], st->status[5], st->status[0]);
        printf("  errors       %" PRIu64 " (", nerr);
        for (i = 0; i < LG_E_COUNT; i++) {
            printf("%s%s %" PRIu64, i ? ", " : "", lg_err_names[i],
                   st->errors[i]);
        }
        printf(")\n");
        printf("  latency ms   mean %.3f, p50 %.3f, p90 %.3f, p99 %.3f, "
               "p99.9 %.3f, max %.3f\n", mean / 1e6, p50 / 1e6, p90 / 1e6,
               p99 / 1e6, p999 / 1e6, (double) st->lat_max_ns / 1e6);
        printf("  connections  %" PRIu64 " opened, %" PRIu64
               " resumed, %s\n", st->connects, st->resumed,
               *proto ? proto : "no handshake");
        if (lg_tokens) {
            printf("  tokens       %lld of %lld used\n", tokens_used,
                   lg_ntokens);
        }
        printf("  client cpu   %.3f s in %.3f s (%.0f%% of one core)\n",
               cpu, wall, wall > 0 ? 100.0 * cpu / wall : 0);
    }

    if (!opt.json && opt.json_out == NULL) {
        return;
    }

    lat = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}",
                    "mean", mean / 1e3, "p50", p50 / 1e3, "p90", p90 / 1e3,
                    "p99", p99 / 1e3, "p99_9", p999 / 1e3,
                    "max", (double) st->lat_max_ns / 1e3);
    status = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
                       "1xx", (json_int_t) st->status[1],
                       "2xx", (json_int_t) st->status[2],
                       "3xx", (json_int_t) st->status[3],
                       "4xx", (json_int_t) st->status[4],
                       "5xx", (json_int_t) st->status[5],
                       "other", (json_int_t) st->status[0]);
    errs = json_object();
    json_object_set_new(errs, "total", json_integer((json_int_t) nerr));
    for (i = 0; i < LG_E_COUNT; i++) {
        json_object_set_new(errs, lg_err_names[i],
                            json_integer((json_int_t) st->errors[i]));
    }
    o = json_pack("{s:s, s:s, s:i, s:i, s:b, s:b, s:b, s:I, s:f, s:f, "
                  "s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:f, s:f}",
                  "tool", "loadgen",
                  "url", "",
                  "connections", opt.conns,
                  "threads", opt.threads,
                  "new_conn", opt.new_conn,
                  "resume", opt.resume,
                  "client_cert", opt.cert != NULL,
                  "requests", (json_int_t) st->completed,
                  "duration_s", elapsed,
                  "rps", rps,
                  "non_2xx", (json_int_t) non2xx,
                  "status", status,
                  "errors", errs,
                  "latency_us", lat,
                  "connects", (json_int_t) st->connects,
                  "resumed", (json_int_t) st->resumed,
                  "bytes_in", (json_int_t) st->bytes_in,
                  "cpu_s", cpu,
                  "cpu_util", wall > 0 ? cpu / wall : 0.0);
    if (o == NULL) {
        die("json_pack");
    }
    {
        char url[2400];

        snprintf(url, sizeof(url), "https://%s:%s%s", opt.host, opt.port,
                 opt.path);
        json_object_set_new(o, "url", json_string(url));
    }
    json_object_set_new(o, "tls", json_string(proto));
    if (lg_tokens) {
        json_object_set_new(o, "tokens_used", json_integer(tokens_used));
        json_object_set_new(o, "tokens_total", json_integer(lg_ntokens));
    }
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        die("json_dumps");
    }
    if (opt.json) {
        printf("%s\n", text);
    }
    if (opt.json_out) {
        FILE *f = fopen(opt.json_out, "w");

        if (f == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
            perror(opt.json_out);
            exit(2);
        }
    }
    free(text);
    json_decref(o);
}


int
main(int argc, char **argv)
{
    struct lg_thread  *threads;
    struct lg_stats   *total;
    double             cpu0, cpu1, elapsed;
    uint64_t           end;
    long long          issued;
    const char        *proto = NULL;
    int                i, j;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    resolve();
    setup_tls();
    if (opt.tokens_file) {
        load_tokens();
    }
    build_request();

    lg_budget = -1;
    if (opt.requests) {
        lg_budget = opt.requests;
    }
    if (lg_tokens && (lg_budget < 0 || lg_budget > lg_ntokens)) {
        lg_budget = lg_ntokens;
    }

    threads = calloc((size_t) opt.threads, sizeof(*threads));
    total = calloc(1, sizeof(*total));
    if (threads == NULL || total == NULL) {
        die("out of memory");
    }
    for (i = 0; i < opt.threads; i++) {
        struct lg_thread *t = &threads[i];

        t->nconns = opt.conns / opt.threads + (i < opt.conns % opt.threads);
        t->conns = calloc((size_t) t->nconns, sizeof(*t->conns));
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (t->conns == NULL || t->epfd < 0) {
            die("thread setup");
        }
        for (j = 0; j < t->nconns; j++) {
            t->conns[j].t = t;
            t->conns[j].fd = -1;
        }
    }

    lg_t0 = now_ns();
    lg_t_measure = lg_t0 + (uint64_t) (opt.warmup * 1e9);
    if (opt.requests || lg_tokens) {
        /* Budget-bound (or duration, whichever ends first). */
        lg_t_end = opt.duration > 0 && !opt.requests
                   ? lg_t_measure + (uint64_t) (opt.duration * 1e9)
                   : UINT64_MAX;
    } else {
        lg_t_end = lg_t_measure + (uint64_t) (opt.duration * 1e9);
    }
    cpu0 = cpu_seconds();

    for (i = 0; i < opt.threads; i++) {
        if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i])
            != 0)
        {
            die("pthread_create");
        }
    }
    for (i = 0; i < opt.threads; i++) {
        pthread_join(threads[i].tid, NULL);
        merge(total, &threads[i].st);
    }
    cpu1 = cpu_seconds();

    /* A budget-bound run ends with its last response, not a clock. */
    end = now_ns();
    if (end > lg_t_end) {
        end = lg_t_end;
    }
    if (lg_t_end == UINT64_MAX || end < lg_t_end) {
        uint64_t last = atomic_load(&lg_last_done);

        if (last > lg_t_measure) {
            end = last;
        }
    }
    elapsed = end > lg_t_measure ? (double) (end - lg_t_measure) / 1e9 : 0;

    issued = atomic_load(&lg_issued);
    if (lg_budget >= 0 && issued > lg_budget) {
        issued = lg_budget;
    }
    for (i = 0; i < opt.threads && proto == NULL; i++) {
        if (threads[i].proto[0]) {
            proto = threads[i].proto;
        }
    }
    report(total, elapsed, cpu1 - cpu0,
           (double) (now_ns() - lg_t0) / 1e9, lg_tokens ? issued : 0,
           proto ? proto : "");

    for (i = 0; i < opt.threads; i++) {
        close(threads[i].epfd);
        free(threads[i].conns);
    }
    free(threads);
    free(total);
    SSL_CTX_free(lg_ctx);
    return 0;
}
