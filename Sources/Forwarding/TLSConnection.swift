import COpenSSL
import Foundation
import Glibc

/// Certificates and checks for a TLS connection to a receiver (`--ca`, `--cert`, `--key`, `--insecure-skip-verify`).
public struct TLSSettings: Sendable, Equatable {
    /// PEM file of the CAs that may sign the receiver's certificate; nil: the system's trust store.
    public var caFile: String?
    /// PEM certificate chain and private key for client authentication (both or neither).
    public var certificateFile: String?
    public var keyFile: String?
    /// Accept any certificate and name (for tests against throwaway receivers; says so on stderr).
    public var skipVerification: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, skipVerification: Bool = false) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.skipVerification = skipVerification
    }
}

/// A TLS 1.2+ client connection over a ``NetworkSocket`` (OpenSSL `SSL_connect`, `SSL_write`, `SSL_read`),
/// verifying the receiver's certificate chain and host name unless told not to.
final class TLSConnection: ByteStream {
    private let socket: NetworkSocket
    private let context: OpaquePointer
    private let ssl: OpaquePointer

    /// Connects to `host:port` and completes the handshake; certificate problems are configuration
    /// errors (retrying will not fix them), network problems are transient.
    init(host: String, port: Int, settings: TLSSettings, timeout: Double) throws(ForwardError) {
        socket = try NetworkSocket(host: host, port: port, datagram: false, timeout: timeout)
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .init(.configuration, "TLS: \(Self.openSSLErrors())") }
        self.context = context
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw .init(.configuration, "TLS: \(Self.openSSLErrors())")
        }
        self.ssl = ssl
        try configure(host: host, settings: settings)
        SSL_set_fd(ssl, socket.fd)
        ERR_clear_error()
        let result = SSL_connect(ssl)
        guard result == 1 else {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw .init(.configuration, "\(socket.peer): TLS certificate rejected: \(String(cString: X509_verify_cert_error_string(verify)))")
            }
            throw .transient("\(socket.peer): TLS handshake failed: \(describe(result))")
        }
    }

    private func configure(host: String, settings: TLSSettings) throws(ForwardError) {
        _ = rv_ssl_ctx_require_tls12(context)
        if settings.skipVerification {
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
        } else {
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
            let loaded = settings.caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
            guard loaded == 1 else {
                throw .init(.configuration, "--ca \(settings.caFile ?? "(system)"): cannot load CA certificates: \(Self.openSSLErrors())")
            }
            // Host-name verification: an IP address must be in the certificate's IP SANs, a name in its DNS SANs.
            let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
            let named = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) : SSL_set1_host(ssl, host)
            guard named == 1 else { throw .init(.configuration, "TLS: cannot verify the host name \(host)") }
        }
        if !host.contains(":") && !host.allSatisfy({ $0.isNumber || $0 == "." }) { _ = rv_ssl_set_server_name(ssl, host) }
        if let certificate = settings.certificateFile, let key = settings.keyFile {
            guard SSL_use_certificate_chain_file(ssl, certificate) == 1 else {
                throw .init(.configuration, "--cert \(certificate): \(Self.openSSLErrors())")
            }
            guard SSL_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) == 1, SSL_check_private_key(ssl) == 1 else {
                throw .init(.configuration, "--key \(key): \(Self.openSSLErrors())")
            }
        }
    }

    /// The reason an SSL call failed, from SSL_get_error and the OpenSSL error queue.
    private func describe(_ result: Int32) -> String {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_ZERO_RETURN: return "the peer closed the connection"
        case SSL_ERROR_SYSCALL:
            let queued = Self.openSSLErrors()
            return queued.isEmpty ? (errno == 0 ? "connection closed" : NetworkSocket.errorText(errno)) : queued
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return "timed out"
        default: return Self.openSSLErrors()
        }
    }

    /// Drains OpenSSL's error queue into one line.
    static func openSSLErrors() -> String {
        var parts: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            parts.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.joined(separator: "; ")
    }

    var wireBytesWritten: UInt64 { UInt64(BIO_number_written(SSL_get_wbio(ssl))) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ForwardError) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let chunk = Int32(min(bytes.count - offset, 1 << 30))
            let n = SSL_write(ssl, bytes.baseAddress! + offset, chunk)
            guard n > 0 else { throw .transient("\(socket.peer): TLS send failed: \(describe(n))") }
            offset += Int(n)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ForwardError) -> Int {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        if SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN { return 0 }
        throw .transient("\(socket.peer): TLS receive failed: \(describe(n))")
    }

    func unacknowledgedBytes() -> Int? { socket.unacknowledgedBytes() }

    func peerHasClosed() -> Bool { socket.peerHasClosed() }

    func close() {
        SSL_shutdown(ssl)
        socket.close()
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }
}
