// A JSSE HTTPS server for the probe tests: Java's own TLS stack, as in CUCM's Tomcat.
//
// Run with the JDK's single-file launcher (no build tool):
//
//   MRATRUST_JSSE_PASSWORD=... java Server.java RSA.p12 EC.p12 CLIENT-CA.pem PORT PORT_MTLS
//
// One JVM serves two loopback ports with the same two key entries (an RSA and an ECDSA identity,
// each with its chain, loaded from PKCS#12 files): PORT without client authentication, PORT_MTLS
// requiring a client certificate issued by CLIENT-CA.pem. Every request gets "200 ok". The
// keystore password comes from the environment, never from the command line.

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collections;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

public class Server {
    public static void main(String[] args) throws Exception {
        char[] password = System.getenv("MRATRUST_JSSE_PASSWORD").toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        for (int i = 0; i < 2; i++) {
            KeyStore one = KeyStore.getInstance("PKCS12");
            try (InputStream in = new FileInputStream(args[i])) {
                one.load(in, password);
            }
            for (String alias : Collections.list(one.aliases())) {
                if (one.isKeyEntry(alias)) {
                    keys.setKeyEntry(
                        "identity" + i, one.getKey(alias, password), password,
                        one.getCertificateChain(alias));
                }
            }
        }
        // PKIX: checks every certificate of a chain against the client's signature_algorithms
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, password);

        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (InputStream in = new FileInputStream(args[2])) {
            int n = 0;
            for (Certificate ca : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca" + n++, ca);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);

        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        serve(context, new InetSocketAddress(loopback, Integer.parseInt(args[3])), false);
        serve(context, new InetSocketAddress(loopback, Integer.parseInt(args[4])), true);
        System.out.println("READY");
        System.out.flush();
    }

    static void serve(SSLContext context, InetSocketAddress where, boolean needClientAuth)
            throws Exception {
        HttpsServer server = HttpsServer.create(where, 16);
        server.setHttpsConfigurator(new HttpsConfigurator(context) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters ssl = context.getDefaultSSLParameters();
                ssl.setNeedClientAuth(needClientAuth);
                params.setSSLParameters(ssl);
            }
        });
        server.createContext("/", exchange -> {
            byte[] body = "200 ok\n".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
