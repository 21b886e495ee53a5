/*
 * hq-client: a small hq-interop (HTTP/0.9 over QUIC, ALPN "hq-interop")
 * client on OpenSSL's own QUIC stack, the stack Debian's curl uses. curl
 * itself speaks only HTTP/3 over QUIC; this program covers the interop
 * runner's hq-interop test cases with the same library.
 *
 * Usage: hq-client [options] URL...
 *   All URLs must name the same https://host:port. Each URL is fetched on its
 *   own bidirectional stream ("GET /path\r\n", then FIN) of one connection;
 *   up to WINDOW requests are outstanding at once (fewer if the server's
 *   stream limit says so). The body of /a/b goes to OUTDIR/b.
 * Options:
 *   -o OUTDIR       where downloads go (default /downloads)
 *   -C CAFILE       verify the server's chain against CAFILE (default: no
 *                   verification)
 *   -c SUITES       TLS 1.3 cipher suites (SSL_CTX_set_ciphersuites)
 *   -s FILE         store the first session ticket the server sends in FILE
 *   -r FILE         resume the session stored in FILE
 *   -u BYTES        request a key update once BYTES of response data have
 *                   arrived (and the handshake is confirmed)
 *   -g GROUPS       TLS key exchange groups (SSL_CTX_set1_groups_list)
 * Environment: SSLKEYLOGFILE (NSS key log, appended).
 *
 * Exit status: 0 when every file arrived whole (stream FIN seen), 1 otherwise.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#define WINDOW 64

static FILE *keylog;
static SSL *conn; /* freed on failure too, so that the qlog is complete */
static const char *session_out;
static int session_saved;

static void fail(const char *what)
{
    fprintf(stderr, "hq-client: %s\n", what);
    ERR_print_errors_fp(stderr);
    SSL_free(conn);
    exit(1);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    fprintf(keylog, "%s\n", line);
    fflush(keylog);
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    FILE *f;

    (void)ssl;
    if (session_out == NULL || session_saved)
        return 0;
    f = fopen(session_out, "w");
    if (f == NULL) {
        perror(session_out);
        return 0;
    }
    if (PEM_write_SSL_SESSION(f, sess))
        session_saved = 1;
    fclose(f);
    fprintf(stderr, "hq-client: session ticket stored in %s\n", session_out);
    return 0; /* we did not keep a reference */
}

struct url {
    char host[256];
    char port[16];
    const char *path; /* starts with '/' */
};

static int parse_url(const char *s, struct url *u)
{
    const char *p, *slash, *colon;
    size_t n;

    if (strncmp(s, "https://", 8) != 0)
        return 0;
    p = s + 8;
    slash = strchr(p, '/');
    if (slash == NULL)
        return 0;
    u->path = slash;
    strcpy(u->port, "443");
    if (*p == '[') { /* [v6]:port */
        const char *end = memchr(p, ']', (size_t)(slash - p));
        if (end == NULL)
            return 0;
        n = (size_t)(end - p - 1);
        if (n >= sizeof(u->host))
            return 0;
        memcpy(u->host, p + 1, n);
        u->host[n] = '\0';
        colon = end + 1 < slash && end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(slash - p));
        n = (size_t)((colon ? colon : slash) - p);
        if (n >= sizeof(u->host))
            return 0;
        memcpy(u->host, p, n);
        u->host[n] = '\0';
    }
    if (colon != NULL) {
        n = (size_t)(slash - colon - 1);
        if (n == 0 || n >= sizeof(u->port))
            return 0;
        memcpy(u->port, colon + 1, n);
        u->port[n] = '\0';
    }
    return 1;
}

/* A connected, nonblocking UDP socket wrapped in a datagram BIO. */
static BIO *udp_bio(const char *host, const char *port, BIO_ADDR **peer)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc;
    BIO *bio;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "hq-client: %s: %s\n", host, gai_strerror(rc));
        return NULL;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_DGRAM, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        freeaddrinfo(res);
        fprintf(stderr, "hq-client: cannot reach %s port %s\n", host, port);
        return NULL;
    }
    *peer = BIO_ADDR_new();
    if (*peer == NULL)
        fail("BIO_ADDR_new");
    if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ai->ai_addr;
        BIO_ADDR_rawmake(*peer, AF_INET6, &a->sin6_addr, sizeof(a->sin6_addr), a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ai->ai_addr;
        BIO_ADDR_rawmake(*peer, AF_INET, &a->sin_addr, sizeof(a->sin_addr), a->sin_port);
    }
    freeaddrinfo(res);
    if (BIO_socket_nbio(fd, 1) <= 0)
        fail("cannot make the socket nonblocking");
    bio = BIO_new_dgram(fd, BIO_CLOSE);
    if (bio == NULL)
        fail("BIO_new_dgram");
    return bio;
}

struct req {
    SSL *stream;
    FILE *out;
    const char *name;
};

/* Waits until the socket is ready for what the connection wants, or until
 * its next timer fires. */
static void wait_for_activity(SSL *conn)
{
    fd_set rfds, wfds;
    struct timeval tv, *tvp = NULL;
    int fd = SSL_get_fd(conn), infinite;

    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    if (SSL_net_read_desired(conn))
        FD_SET(fd, &rfds);
    if (SSL_net_write_desired(conn))
        FD_SET(fd, &wfds);
    if (SSL_get_event_timeout(conn, &tv, &infinite) && !infinite)
        tvp = &tv;
    select(fd + 1, &rfds, &wfds, NULL, tvp);
}

/* Opens a stream for path and sends the request on it. Returns 0 when the
 * peer's stream limit allows no new stream right now. */
static int open_request(SSL *conn, struct req *r, const char *path, const char *outdir)
{
    char line[4096], file[4096];
    const char *base = strrchr(path, '/') + 1;
    size_t written;
    SSL *stream;

    if (*base == '\0')
        fail("a URL ends in '/': no file name to store it under");
    if ((size_t)snprintf(line, sizeof(line), "GET %s\r\n", path) >= sizeof(line)
        || (size_t)snprintf(file, sizeof(file), "%s/%s", outdir, base) >= sizeof(file))
        fail("URL too long");
    stream = SSL_new_stream(conn, SSL_STREAM_FLAG_NO_BLOCK);
    if (stream == NULL) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_STREAM_COUNT_LIMITED) {
            ERR_clear_error();
            return 0;
        }
        fail("cannot open a stream");
    }
    r->stream = stream;
    r->name = base;
    r->out = fopen(file, "wb");
    if (r->out == NULL) {
        perror(file);
        exit(1);
    }
    while (!SSL_write_ex2(stream, line, strlen(line), SSL_WRITE_FLAG_CONCLUDE, &written)) {
        int e = SSL_get_error(stream, 0);

        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
            fail("cannot send a request");
        wait_for_activity(conn);
        SSL_handle_events(conn);
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *outdir = "/downloads", *cafile = NULL, *suites = NULL, *session_in = NULL;
    const char *groups = NULL;
    long long update_after = -1, received = 0;
    int updated = 0, opt, nurls, i, next = 0, done = 0, active = 0;
    static const unsigned char alpn[] = "\x0ahq-interop";
    struct url *urls;
    struct req window[WINDOW];
    SSL_CTX *ctx;
    BIO *bio;
    BIO_ADDR *peer = NULL;
    const char *klf;
    unsigned char buf[65536];

    while ((opt = getopt(argc, argv, "o:C:c:s:r:u:g:")) != -1) {
        switch (opt) {
        case 'o': outdir = optarg; break;
        case 'C': cafile = optarg; break;
        case 'c': suites = optarg; break;
        case 's': session_out = optarg; break;
        case 'r': session_in = optarg; break;
        case 'u': update_after = atoll(optarg); break;
        case 'g': groups = optarg; break;
        default:
            fprintf(stderr, "usage: hq-client [-o dir] [-C cafile] [-c suites] [-s file] [-r file] [-u bytes] [-g groups] URL...\n");
            return 1;
        }
    }
    nurls = argc - optind;
    if (nurls <= 0)
        fail("no URL given");
    urls = calloc((size_t)nurls, sizeof(*urls));
    if (urls == NULL)
        fail("out of memory");
    for (i = 0; i < nurls; i++) {
        if (!parse_url(argv[optind + i], &urls[i]))
            fail("URLs must look like https://host[:port]/path");
        if (strcmp(urls[i].host, urls[0].host) != 0 || strcmp(urls[i].port, urls[0].port) != 0)
            fail("all URLs must name the same host and port");
    }

    ctx = SSL_CTX_new(OSSL_QUIC_client_method());
    if (ctx == NULL)
        fail("SSL_CTX_new");
    if (cafile != NULL) {
        if (!SSL_CTX_load_verify_locations(ctx, cafile, NULL))
            fail("cannot load the CA file");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (suites != NULL && !SSL_CTX_set_ciphersuites(ctx, suites))
        fail("unknown cipher suites");
    if (groups != NULL && !SSL_CTX_set1_groups_list(ctx, groups))
        fail("unknown groups");
    klf = getenv("SSLKEYLOGFILE");
    if (klf != NULL && *klf != '\0') {
        keylog = fopen(klf, "a");
        if (keylog == NULL) {
            perror(klf);
            return 1;
        }
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    }
    if (session_out != NULL) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    }

    conn = SSL_new(ctx);
    if (conn == NULL)
        fail("SSL_new");
    if (session_in != NULL) {
        FILE *f = fopen(session_in, "r");
        SSL_SESSION *sess;

        if (f == NULL) {
            perror(session_in);
            return 1;
        }
        sess = PEM_read_SSL_SESSION(f, NULL, NULL, NULL);
        fclose(f);
        if (sess == NULL || !SSL_set_session(conn, sess))
            fail("cannot use the stored session");
        SSL_SESSION_free(sess);
    }
    bio = udp_bio(urls[0].host, urls[0].port, &peer);
    if (bio == NULL)
        return 1;
    SSL_set_bio(conn, bio, bio);
    if (!SSL_set1_initial_peer_addr(conn, peer))
        fail("SSL_set1_initial_peer_addr");
    if (!SSL_set_tlsext_host_name(conn, urls[0].host) || (cafile != NULL && !SSL_set1_host(conn, urls[0].host)))
        fail("cannot set the server name");
    if (SSL_set_alpn_protos(conn, alpn, sizeof(alpn) - 1) != 0)
        fail("cannot set the ALPN");
    /* Only explicitly opened streams: one per request. */
    if (!SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE))
        fail("SSL_set_default_stream_mode");
    if (SSL_connect(conn) != 1)
        fail("handshake failed");
    fprintf(stderr, "hq-client: connected to %s port %s, %s, %s%s\n", urls[0].host, urls[0].port,
            SSL_get_version(conn), SSL_CIPHER_get_name(SSL_get_current_cipher(conn)),
            SSL_session_reused(conn) ? ", session resumed" : "");

    /* Up to WINDOW requests at once, all read as their data comes in: a
     * stream whose data sits unread would hold up the connection's flow
     * control window for the others. */
    if (!SSL_set_blocking_mode(conn, 0))
        fail("SSL_set_blocking_mode");
    while (done < nurls) {
        int progress = 0;

        while (active < WINDOW && next < nurls
               && open_request(conn, &window[active], urls[next].path, outdir)) {
            next++;
            active++;
            progress = 1;
        }
        for (i = 0; i < active; i++) {
            struct req *r = &window[i];
            size_t n;

            while (SSL_read_ex(r->stream, buf, sizeof(buf), &n)) {
                if (fwrite(buf, 1, n, r->out) != n)
                    fail("cannot write a download");
                received += (long long)n;
                progress = 1;
                if (update_after >= 0 && !updated && received >= update_after) {
                    if (SSL_key_update(conn, SSL_KEY_UPDATE_REQUESTED)) {
                        updated = 1;
                        fprintf(stderr, "hq-client: key update after %lld bytes\n", received);
                    } else {
                        ERR_clear_error(); /* not allowed yet: try again later */
                    }
                }
            }
            switch (SSL_get_error(r->stream, 0)) {
            case SSL_ERROR_WANT_READ:
            case SSL_ERROR_WANT_WRITE:
                continue;
            case SSL_ERROR_ZERO_RETURN: /* FIN: the file is whole */
                if (fclose(r->out) != 0)
                    fail("cannot write a download");
                SSL_free(r->stream);
                fprintf(stderr, "hq-client: got %s\n", r->name);
                window[i] = window[--active];
                i--;
                done++;
                progress = 1;
                continue;
            default:
                fprintf(stderr, "hq-client: %s: stream failed (read state %d)\n", r->name,
                        SSL_get_stream_read_state(r->stream));
                if (SSL_get_verify_result(conn) != X509_V_OK)
                    fprintf(stderr, "hq-client: verify error: %s\n",
                            X509_verify_cert_error_string(SSL_get_verify_result(conn)));
                fail("download failed");
            }
        }
        if (!progress) {
            wait_for_activity(conn);
            SSL_handle_events(conn);
        }
    }
    if (update_after >= 0 && !updated)
        fprintf(stderr, "hq-client: warning: no key update was done\n");

    /* A session ticket usually comes with the first response; give it a
     * moment if it has not arrived yet. */
    for (i = 0; session_out != NULL && !session_saved && i < 100; i++) {
        SSL_handle_events(conn);
        usleep(10000);
    }
    if (session_out != NULL && !session_saved)
        fprintf(stderr, "hq-client: warning: the server sent no session ticket\n");

    /* Close the connection; the files are complete, so a close that does
     * not finish in time does not matter. */
    for (i = 0; i < 200 && SSL_shutdown(conn) == 0; i++) {
        wait_for_activity(conn);
        SSL_handle_events(conn);
    }
    ERR_clear_error();
    SSL_free(conn);
    SSL_CTX_free(ctx);
    BIO_ADDR_free(peer);
    free(urls);
    return 0;
}
