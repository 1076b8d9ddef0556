#ifndef REARVIEW_COPENSSL_SHIM_H
#define REARVIEW_COPENSSL_SHIM_H
// OpenSSL for `forward`'s TLS transports (syslog+tls://, https://); only Sources/Forwarding imports it.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// Function forms of OpenSSL macros, which Swift cannot import.

/// SSL_set_tlsext_host_name: the server name (SNI) sent in the ClientHello.
static inline int rv_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION).
static inline int rv_ssl_ctx_require_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
#endif
