"""TLS and mTLS (--tls-cert, --tls-key, --tls-ca) through the real binary.

Certificates come from `openssl` in a temp dir: two CAs (the good one and
another), server and client certificates with subjectAltName IP:127.0.0.1
and DNS:localhost. The callers are grpcio clients, `tinyhost send`, a second
host's client pool, and Python's ssl module to read the certificate a host
presents (for rotation). Hosts read their files again every
TINYHOST_TLS_REFRESH seconds (1 here; the default is 5).
"""
import os
import shutil
import re
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

# The handshakes these tests make fail on purpose; grpcio would log each one.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

from harness import (SEND, Client, all_plugins_dir, module_pb2, start_host, tinyhost, wait_until,  # noqa: E402
                     write_flow)

REFRESH_ENV = {"TINYHOST_TLS_REFRESH": "1"}

FLOW = """
nodes:
  - name: echo
    module: test-module
    component: echo
"""

# common-module on A, test-module on B; A's transform forwards to B's echo.
TWO_HOST_FLOW = """
nodes:
  - name: a-in
    module: common-module
    component: transform
    edges: [{port: out, to: b-echo.in, data: {via_a: "{{$}}"}}]
  - name: b-echo
    module: test-module
    component: echo
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class Pki:
    """A temp dir of CAs and leaf certificates made with openssl (EC P-256)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tiny-pki-")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)
        return self.path(f"{name}.pem")

    def leaf(self, name, ca, serial, san="IP:127.0.0.1,DNS:localhost"):
        """name.pem/name.key signed by `ca`; usable as a server and as a client certificate."""
        ext = self.path(f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-set_serial", str(serial), "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=self.dir)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")


PKI = None


def setUpModule():
    global PKI
    PKI = Pki()
    PKI.ca("ca")
    PKI.ca("other-ca")
    PKI.ca("new-ca")
    PKI.leaf("server", "ca", 100)
    PKI.leaf("server-2", "ca", 200)          # same CA, another serial (rotation)
    PKI.leaf("server-new-ca", "new-ca", 300)  # another CA (rotation)
    PKI.leaf("client", "ca", 1000)
    PKI.leaf("client-other", "other-ca", 2000)
    PKI.leaf("client-new-ca", "new-ca", 3000)
    PKI.leaf("wrong-name", "ca", 400, san="DNS:elsewhere.example")
    with open(PKI.path("both-ca.pem"), "wb") as f:
        f.write(read(PKI.path("ca.pem")) + read(PKI.path("other-ca.pem")))


def tearDownModule():
    shutil.rmtree(PKI.dir, ignore_errors=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TlsClient(Client):
    """harness.Client over TLS: `ca` verifies the host; cert/key is the client certificate."""

    def __init__(self, address, ca, cert=None, key=None, options=()):
        creds = grpc.ssl_channel_credentials(read(ca), read(key) if key else None, read(cert) if cert else None)
        # A local subchannel pool: each client makes its own connection (and handshake).
        self.channel = grpc.secure_channel(address, creds,
                                           options=[("grpc.use_local_subchannel_pool", 1), *options])
        self.send_rpc = self.channel.unary_unary(
            SEND, request_serializer=module_pb2.Message.SerializeToString,
            response_deserializer=module_pb2.Response.FromString)


def presented_serial(port, cert=None, key=None):
    """The serial number (int) of the certificate a host presents on a new connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    if cert:
        ctx.load_cert_chain(cert, key)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, check=True, timeout=30).stdout.decode()
    return int(out.strip().split("=", 1)[1], 16)


def replace_atomically(src, dst):
    """Copies src over dst the way a rotation should: a new file, then rename."""
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def tls_args(cert="server", ca=None, names=None):
    """--tls-* flags for a host using PKI's `cert`.pem/.key (or copies given in `names`)."""
    cert_file, key_file = names or (PKI.path(f"{cert}.pem"), PKI.path(f"{cert}.key"))
    args = ["--tls-cert", cert_file, "--tls-key", key_file]
    if ca:
        args += ["--tls-ca", ca]
    return args


def tls_host(test, args, flow=FLOW, plugins=("test-module",), env=None, log_level="debug"):
    """A host with the TLS flags `args` (debug log, 1 s refresh), started and reaped by `test`."""
    return start_host(test, write_flow(flow), plugins=list(plugins), args=["--log-level", log_level, *args],
                      env=dict(REFRESH_ENV, **(env or {})))


def assert_not_delivered(test, host, good, text):
    """No output line of `host` contains `text`: had a refused call got
    through, the host would have logged its delivery ("received message via
    gRPC to=..."). A call by the `good` client to an unknown node is logged
    later than that line would have been, so once it is read, the absence
    of `text` is certain."""
    marker = "after-probe.in"
    test.assertEqual(good.send(marker, "1")[0], "NOT_FOUND")
    test.assertTrue(host.wait_for(r"received message via gRPC to=%s\b" % re.escape(marker)), host.output())
    test.assertEqual([line for line in host.output().splitlines() if text in line and marker not in line], [])


def client(test, address, *args, **kw):
    c = TlsClient(address, *args, **kw)
    test.addCleanup(c.close)
    return c


def plain(test, address):
    c = Client(address)
    test.addCleanup(c.close)
    return c


class ServerTlsTest(unittest.TestCase):
    """--tls-cert/--tls-key without --tls-ca: TLS, no client certificates."""

    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(FLOW), plugins=["test-module"],
                              args=["--log-level", "debug", *tls_args()], env=REFRESH_ENV)

    def test_the_start_log_says_tls_without_client_certificates(self):
        self.assertRegex(self.host.output(), r"tls enabled cert=\S+server\.pem key=\S+server\.key ca=- "
                                             r"client_certificates=not requested refresh_seconds=1")

    def test_a_client_trusting_the_ca_succeeds(self):
        c = client(self, self.host.address, PKI.path("ca.pem"))
        self.assertEqual(c.send("echo.in", '{"a":1}'), ("OK", b'{"a":1}', ""))
        self.assertEqual(c.health(), "SERVING")

    def test_the_name_is_checked_localhost_works_too(self):
        c = client(self, f"localhost:{self.host.port}", PKI.path("ca.pem"))
        self.assertEqual(c.send("echo.in", "1")[0], "OK")

    def test_a_plaintext_client_fails_and_nothing_is_delivered(self):
        # A node no other test sends to: had the call got through, the host
        # would have logged it (and answered NOT_FOUND).
        code, _, error = plain(self, self.host.address).send("plain-probe.in", "1", timeout=5)
        self.assertEqual(code, "UNAVAILABLE", error)
        assert_not_delivered(self, self.host, client(self, self.host.address, PKI.path("ca.pem")), "to=plain-probe.in")

    def test_a_client_trusting_another_ca_refuses_the_host(self):
        code, _, error = client(self, self.host.address, PKI.path("other-ca.pem")).send("echo.in", "1", timeout=5)
        self.assertEqual(code, "UNAVAILABLE", error)

    def test_send_with_tls_ca(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in", "--data", '{"x":2}',
                     "--tls-ca", PKI.path("ca.pem"), "--timeout", "10s")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, '{"x":2}\n', ""))

    def test_send_without_tls_fails(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in", "--timeout", "5s")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stderr.startswith("UNAVAILABLE: "), r.stderr)


class MutualTlsTest(unittest.TestCase):
    """--tls-ca: client certificates are required and verified against it."""

    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(FLOW), plugins=["test-module"],
                              args=["--log-level", "debug", *tls_args(ca=PKI.path("ca.pem"))], env=REFRESH_ENV)

    def assertRefused(self, result):
        code, _, error = result
        self.assertEqual(code, "UNAVAILABLE", error)

    def assertNotDelivered(self, probe):
        good = client(self, self.host.address, PKI.path("ca.pem"), PKI.path("client.pem"), PKI.path("client.key"))
        assert_not_delivered(self, self.host, good, "to=%s" % probe)

    def test_the_start_log_says_client_certificates_required(self):
        self.assertIn("client_certificates=required", self.host.output())

    def test_a_client_with_a_good_certificate_succeeds(self):
        c = client(self, self.host.address, PKI.path("ca.pem"), PKI.path("client.pem"), PKI.path("client.key"))
        self.assertEqual(c.send("echo.in", '{"m":true}'), ("OK", b'{"m":true}', ""))

    def test_a_client_without_a_certificate_is_refused(self):
        self.assertRefused(client(self, self.host.address, PKI.path("ca.pem")).send("no-cert.in", "1", timeout=5))
        self.assertNotDelivered("no-cert.in")

    def test_a_client_with_a_certificate_from_another_ca_is_refused(self):
        c = client(self, self.host.address, PKI.path("ca.pem"), PKI.path("client-other.pem"),
                   PKI.path("client-other.key"))
        self.assertRefused(c.send("other-ca.in", "1", timeout=5))
        self.assertNotDelivered("other-ca.in")

    def test_a_plaintext_client_is_refused(self):
        self.assertRefused(plain(self, self.host.address).send("echo.in", "1", timeout=5))

    def test_health_needs_the_certificate_too(self):
        self.assertEqual(client(self, self.host.address, PKI.path("ca.pem")).health(), "UNAVAILABLE")
        c = client(self, self.host.address, PKI.path("ca.pem"), PKI.path("client.pem"), PKI.path("client.key"))
        self.assertEqual(c.health(), "SERVING")

    def test_send_with_client_certificate(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in", "--data", "[1,2]",
                     "--tls-cert", PKI.path("client.pem"), "--tls-key", PKI.path("client.key"),
                     "--tls-ca", PKI.path("ca.pem"), "--timeout", "10s")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "[1,2]\n", ""))

    def test_send_without_client_certificate_is_refused(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in", "--tls-ca", PKI.path("ca.pem"),
                     "--timeout", "5s")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("UNAVAILABLE: "), r.stderr)

    def test_send_with_a_certificate_from_another_ca_is_refused(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in",
                     "--tls-cert", PKI.path("client-other.pem"), "--tls-key", PKI.path("client-other.key"),
                     "--tls-ca", PKI.path("ca.pem"), "--timeout", "5s")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("UNAVAILABLE: "), r.stderr)


class TwoHostsMutualTlsTest(unittest.TestCase):
    """The client pool uses the host's own cert/key and verifies peers against --tls-ca."""

    def assertNothingReached(self, b, server_name=None):
        """B delivered nothing (its certificate names `server_name`, when not 127.0.0.1)."""
        options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        good = client(self, b.address, PKI.path("ca.pem"), PKI.path("client.pem"), PKI.path("client.key"),
                      options=options)
        assert_not_delivered(self, b, good, "received message via gRPC")

    def test_two_hosts_talk_over_mtls(self):
        ca = PKI.path("ca.pem")
        b = tls_host(self, tls_args(ca=ca), flow=TWO_HOST_FLOW)
        a = start_host(self, write_flow(TWO_HOST_FLOW), plugins=["common-module"], peers={"test-module": b.address},
                       args=tls_args(ca=ca), env=REFRESH_ENV)
        self.assertTrue(a.wait_for(r"connected to module module=test-module"), a.output())
        c = client(self, a.address, ca, PKI.path("client.pem"), PKI.path("client.key"))
        for i in range(20):
            self.assertEqual(c.send("a-in.in", str(i)), ("OK", b'{"via_a":%d}' % i, ""))
        # B saw them as calls from A's pool.
        self.assertTrue(b.wait_count("received message via gRPC to=b-echo.in", 20), b.output())

    def test_a_plaintext_peer_is_refused_by_an_mtls_host(self):
        ca = PKI.path("ca.pem")
        b = tls_host(self, tls_args(ca=ca), flow=TWO_HOST_FLOW)
        a = start_host(self, write_flow(TWO_HOST_FLOW), plugins=["common-module"], peers={"test-module": b.address})
        code, _, error = plain(self, a.address).send("a-in.in", "1", timeout=10)
        self.assertEqual(code, "UNAVAILABLE", error)
        self.assertNothingReached(b)

    def test_a_peer_from_another_ca_is_refused(self):
        # A trusts both CAs (so it accepts B's certificate) but its own
        # certificate is from the other CA: B, which trusts only `ca`, refuses A's pool.
        ca = PKI.path("ca.pem")
        b = tls_host(self, tls_args(ca=ca), flow=TWO_HOST_FLOW)
        a = start_host(self, write_flow(TWO_HOST_FLOW), plugins=["common-module"], peers={"test-module": b.address},
                        args=tls_args("client-other", ca=PKI.path("both-ca.pem")), env=REFRESH_ENV)
        c = client(self, a.address, PKI.path("other-ca.pem"), PKI.path("client-other.pem"),
                   PKI.path("client-other.key"))
        self.assertEqual(c.send("a-in.in", "1", timeout=10)[0], "UNAVAILABLE")
        self.assertNothingReached(b)

    def test_the_pool_checks_the_peer_name(self):
        # B's certificate is from the right CA but names another host: A's pool refuses B.
        ca = PKI.path("ca.pem")
        b = tls_host(self, tls_args("wrong-name", ca=ca), flow=TWO_HOST_FLOW)
        a = start_host(self, write_flow(TWO_HOST_FLOW), plugins=["common-module"], peers={"test-module": b.address},
                        args=tls_args(ca=ca), env=REFRESH_ENV)
        c = client(self, a.address, ca, PKI.path("client.pem"), PKI.path("client.key"))
        code, _, error = c.send("a-in.in", "1", timeout=10)
        self.assertEqual(code, "UNAVAILABLE", error)
        self.assertNothingReached(b, server_name="elsewhere.example")


class RotationTest(unittest.TestCase):
    """Files replaced on disk are used for new connections without a restart."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tiny-rotate-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert = os.path.join(self.dir, "tls.crt")
        self.key = os.path.join(self.dir, "tls.key")
        self.ca = os.path.join(self.dir, "ca.crt")
        shutil.copyfile(PKI.path("server.pem"), self.cert)
        shutil.copyfile(PKI.path("server.key"), self.key)
        shutil.copyfile(PKI.path("ca.pem"), self.ca)

    def rotate(self, name):
        # Key first, then the certificate; each by rename.
        replace_atomically(PKI.path(f"{name}.key"), self.key)
        replace_atomically(PKI.path(f"{name}.pem"), self.cert)

    def test_same_ca_new_serial(self):
        host = tls_host(self, tls_args(names=(self.cert, self.key)))
        self.assertEqual(presented_serial(host.port), 100)
        held = client(self, host.address, PKI.path("ca.pem"))
        self.assertEqual(held.send("echo.in", "1")[0], "OK")
        t0 = time.monotonic()
        self.rotate("server-2")
        self.assertTrue(wait_until(lambda: presented_serial(host.port) == 200),
                        "the host still presents the old certificate\n" + host.output())
        took = time.monotonic() - t0
        self.assertTrue(host.wait_for(r"tls files reloaded cert=\S+tls\.crt"), host.output())
        # New connections and the connection opened before both work; no restart.
        self.assertEqual(client(self, host.address, PKI.path("ca.pem")).send("echo.in", "2"), ("OK", b"2", ""))
        self.assertEqual(held.send("echo.in", "3"), ("OK", b"3", ""))
        self.assertEqual(host.output().count("serving address="), 1)
        print("\nrotation: new certificate served %.1fs after the files were replaced (refresh 1 s)" % took)

    def test_new_ca_for_the_server_and_the_client_ca_bundle(self):
        # mTLS; the server moves to a certificate from new-ca, and the CA bundle
        # is extended to trust client certificates from new-ca as well.
        host = tls_host(self, tls_args(names=(self.cert, self.key), ca=self.ca))
        old_trust = lambda: client(self, host.address, PKI.path("ca.pem"), PKI.path("client.pem"),
                                   PKI.path("client.key"))
        new_trust = lambda: client(self, host.address, PKI.path("new-ca.pem"), PKI.path("client-new-ca.pem"),
                                   PKI.path("client-new-ca.key"))
        self.assertEqual(old_trust().send("echo.in", "1")[0], "OK")
        self.assertEqual(new_trust().send("echo.in", "1", timeout=5)[0], "UNAVAILABLE")
        with open(self.ca + ".tmp", "wb") as f:
            f.write(read(PKI.path("ca.pem")) + read(PKI.path("new-ca.pem")))
        os.replace(self.ca + ".tmp", self.ca)
        self.rotate("server-new-ca")
        self.assertTrue(wait_until(lambda: new_trust().send("echo.in", "2", timeout=5)[0] == "OK", timeout=15),
                        host.output())
        self.assertEqual(presented_serial(host.port, PKI.path("client.pem"), PKI.path("client.key")), 300)
        # A client that trusts only the old CA now refuses the host's new certificate.
        self.assertEqual(old_trust().send("echo.in", "3", timeout=5)[0], "UNAVAILABLE")
        # Clients with certificates from the old CA are still accepted (the bundle has both).
        c = client(self, host.address, PKI.path("new-ca.pem"), PKI.path("client.pem"), PKI.path("client.key"))
        self.assertEqual(c.send("echo.in", "4"), ("OK", b"4", ""))

    def test_a_missing_file_keeps_the_last_good_certificate(self):
        host = tls_host(self, tls_args(names=(self.cert, self.key)))
        self.assertEqual(presented_serial(host.port), 100)
        n = host.line_count()
        os.remove(self.cert)
        self.assertTrue(host.wait_for(r"tls file missing flag=--tls-cert", after=n), host.output())
        # Still missing at a later check: the key rewritten (same content)
        # is a change the host sees on a later refresh, and says again that
        # the certificate is missing. By then gRPC has refreshed its copies
        # too (each refresh period is 1 s).
        replace_atomically(PKI.path("server.key"), self.key)
        self.assertTrue(host.wait_count("tls file missing flag=--tls-cert", 2, after=n), host.output())
        self.assertEqual(client(self, host.address, PKI.path("ca.pem")).send("echo.in", "1")[0], "OK")
        self.assertEqual(presented_serial(host.port), 100)
        self.rotate("server-2")
        self.assertTrue(wait_until(lambda: presented_serial(host.port) == 200, timeout=15), host.output())
        self.assertEqual(client(self, host.address, PKI.path("ca.pem")).send("echo.in", "2")[0], "OK")

    def test_a_bad_file_on_disk_keeps_the_last_good_certificate(self):
        # gRPC alone would hand the bad file to OpenSSL and fail every new
        # handshake; the host checks the files first and keeps the good ones.
        host = tls_host(self, tls_args(names=(self.cert, self.key), ca=self.ca))
        good = lambda: client(self, host.address, PKI.path("ca.pem"), PKI.path("client.pem"), PKI.path("client.key"))
        for what, path, text in (("not PEM", self.cert, b"garbage\n"),
                                 ("truncated", self.cert, read(PKI.path("server-2.pem"))[:300]),
                                 ("a certificate as the key", self.key, read(PKI.path("server-2.pem"))),
                                 ("the key of another certificate", self.key, read(PKI.path("server-2.key"))),
                                 ("a CA bundle that is not PEM", self.ca, b"nothing here\n")):
            with self.subTest(what=what):
                n = host.line_count()
                with open(path + ".tmp", "wb") as f:
                    f.write(text)
                os.replace(path + ".tmp", path)
                refused = "tls files changed but cannot be used, the last good certificate stays in use: --tls-"
                self.assertTrue(host.wait_for(re.escape(refused), after=n), host.output())
                # The same bad file again (a new inode): refused at a later
                # refresh, after gRPC's own refresh of the staged copies
                # (each period is 1 s), which must still hold the good files.
                with open(path + ".tmp", "wb") as f:
                    f.write(text)
                os.replace(path + ".tmp", path)
                self.assertTrue(host.wait_count(refused, 2, after=n), host.output())
                self.assertEqual(good().send("echo.in", "1"), ("OK", b"1", ""))
                self.assertEqual(presented_serial(host.port, PKI.path("client.pem"), PKI.path("client.key")), 100)
                # Put the good files back before the next case.
                replace_atomically(PKI.path("ca.pem"), self.ca)
                self.rotate("server")
        # A good rotation after all that is taken.
        self.rotate("server-2")
        self.assertTrue(wait_until(lambda: presented_serial(host.port, PKI.path("client.pem"),
                                                            PKI.path("client.key")) == 200, timeout=15),
                        host.output())
        self.assertEqual(good().send("echo.in", "2"), ("OK", b"2", ""))


class BadFilesTest(unittest.TestCase):
    """A file that cannot be used: exit 2 and one line naming the flag and the file."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tiny-badtls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.flow = write_flow(FLOW, cls.dir)
        cls.files = {}
        for name, text in {"text.pem": "hello, not a certificate\n",
                           "empty.pem": "",
                           "truncated.pem": read(PKI.path("server.pem")).decode()[:200],
                           "bad-base64.pem": "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
                           }.items():
            path = os.path.join(cls.dir, name)
            with open(path, "w") as f:
                f.write(text)
            cls.files[name] = path
        cls.files["missing"] = os.path.join(cls.dir, "nope.pem")
        cls.files["dir"] = cls.dir
        enc = os.path.join(cls.dir, "encrypted.key")
        openssl("pkcs8", "-topk8", "-in", PKI.path("server.key"), "-out", enc, "-passout", "pass:secret",
                cwd=cls.dir)
        cls.files["encrypted"] = enc

    def run_host(self, *tls, env=None):
        return tinyhost("run", "--plugin-dir", all_plugins_dir(), "--plugin", "test-module", "--flow", self.flow,
                        "--listen", "127.0.0.1:0", *tls, env=env)

    def assertOneLine(self, r, *needles):
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertNotIn("serving address=", r.stdout)

    def test_run_bad_files(self):
        good_cert, good_key, ca = PKI.path("server.pem"), PKI.path("server.key"), PKI.path("ca.pem")
        f = self.files
        cases = [
            ("--tls-cert", f["missing"], ["--tls-key", good_key], "No such file or directory"),
            ("--tls-key", f["missing"], ["--tls-cert", good_cert], "No such file or directory"),
            ("--tls-ca", f["missing"], ["--tls-cert", good_cert, "--tls-key", good_key], "No such file"),
            ("--tls-cert", f["text.pem"], ["--tls-key", good_key], "not a PEM file"),
            ("--tls-cert", f["empty.pem"], ["--tls-key", good_key], "not a PEM file"),
            ("--tls-cert", f["truncated.pem"], ["--tls-key", good_key], "truncated"),
            ("--tls-cert", f["bad-base64.pem"], ["--tls-key", good_key], "not base64"),
            ("--tls-cert", f["dir"], ["--tls-key", good_key], "is a directory"),
            ("--tls-key", f["text.pem"], ["--tls-cert", good_cert], "not a PEM file"),
            ("--tls-key", good_cert, ["--tls-cert", good_cert], "no PRIVATE KEY block"),
            ("--tls-cert", good_key, ["--tls-key", good_key], "no CERTIFICATE block"),
            ("--tls-key", f["encrypted"], ["--tls-cert", good_cert], "encrypted private key"),
            ("--tls-ca", f["text.pem"], ["--tls-cert", good_cert, "--tls-key", good_key], "not a PEM file"),
            ("--tls-ca", good_key, ["--tls-cert", good_cert, "--tls-key", good_key], "no CERTIFICATE block"),
        ]
        for flag, path, rest, why in cases:
            with self.subTest(flag=flag, file=os.path.basename(path), why=why):
                self.assertOneLine(self.run_host(flag, path, *rest), flag, path, why)
        # Both files fine on their own, but the key is another certificate's.
        self.assertOneLine(self.run_host("--tls-cert", good_cert, "--tls-key", PKI.path("server-2.key")),
                           "--tls-key", PKI.path("server-2.key"), "is not the key of the certificate in", good_cert)
        self.assertOneLine(self.run_host("--tls-cert", good_cert), "--tls-cert and --tls-key go together")
        self.assertOneLine(self.run_host("--tls-ca", ca), "--tls-cert and --tls-key go together")

    def test_bad_refresh_variable(self):
        for value in ("0", "x", "-1", "100000"):
            with self.subTest(value=value):
                r = self.run_host("--tls-cert", PKI.path("server.pem"), "--tls-key", PKI.path("server.key"),
                                  env={"TINYHOST_TLS_REFRESH": value})
                self.assertOneLine(r, "TINYHOST_TLS_REFRESH", value)

    def test_send_bad_files(self):
        f = self.files
        base = ["send", "--address", "127.0.0.1:1", "--to", "echo.in", "--timeout", "2s"]
        cases = [
            (["--tls-ca", f["missing"]], "--tls-ca", f["missing"]),
            (["--tls-ca", f["text.pem"]], "--tls-ca", f["text.pem"]),
            (["--tls-cert", f["missing"], "--tls-key", PKI.path("client.key")], "--tls-cert", f["missing"]),
            (["--tls-cert", PKI.path("client.pem"), "--tls-key", f["text.pem"]], "--tls-key", f["text.pem"]),
            (["--tls-cert", PKI.path("client.pem"), "--tls-key", PKI.path("server.key")], "--tls-key",
             "is not the key of the certificate"),
            (["--tls-cert", PKI.path("client.pem")], "--tls-cert and --tls-key go together", ""),
            (["--tls-key", PKI.path("client.key"), "--tls-ca", PKI.path("ca.pem")],
             "--tls-cert and --tls-key go together", ""),
        ]
        for args, flag, path in cases:
            with self.subTest(args=args):
                r = tinyhost(*base, *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(flag, lines[0])
                self.assertIn(path, lines[0])
                self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
