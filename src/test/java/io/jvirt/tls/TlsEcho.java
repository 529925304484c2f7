package io.jvirt.tls;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * Test fixture: a TLS server on 127.0.0.1 (any free port) that answers each line with the client's identity,
 * and records, per connection, the identity it saw or the {@link TlsFailure} it refused the client with.
 */
final class TlsEcho implements AutoCloseable {
    private final SSLServerSocket socket;
    private final Thread acceptor;
    final LinkedBlockingQueue<Object> seen = new LinkedBlockingQueue<>();

    TlsEcho(TlsServer tls) throws IOException {
        socket = tls.listen(new InetSocketAddress("127.0.0.1", 0));
        acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    int port() {
        return socket.getLocalPort();
    }

    private void acceptLoop() {
        while (!socket.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) socket.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(SSLSocket s) {
        String peer = s.getRemoteSocketAddress().toString();
        try (s) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            Identity id = TlsServer.identify(s.getSession());
            seen.add(id);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            String line;
            while ((line = in.readLine()) != null) {
                out.write((id.role() + " " + id.name() + " " + s.getSession().getProtocol() + " " + line + "\n")
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            seen.add(TlsFailure.explainServer(e, peer));
        }
    }

    /** What the server saw of the next connection. */
    Object next() throws InterruptedException {
        Object o = seen.poll(10, TimeUnit.SECONDS);
        if (o == null) {
            throw new AssertionError("the server saw no connection");
        }
        return o;
    }

    /** Connects with {@code client} to {@code host}, sends one line and returns the answer. */
    String ask(TlsClient client, String host, String line) throws IOException {
        String peer = host + ":" + port();
        try (SSLSocket s = client.connect(host, port(), Duration.ofSeconds(10))) {
            s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            String answer = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (answer == null) {
                throw new java.io.EOFException("connection closed");
            }
            return answer;
        } catch (TlsFailure f) {
            throw f;
        } catch (IOException e) {
            throw client.explain(e, peer);
        }
    }

    /** Sends raw bytes (not TLS) and returns whatever comes back before the server closes. */
    byte[] sendPlain(byte[] bytes) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            return s.getInputStream().readAllBytes();
        } catch (java.net.SocketException reset) {
            return new byte[0];
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        try {
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
