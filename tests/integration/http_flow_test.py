"""examples/hello-http through the real binary with both real plugins and a
real HTTP client: http_server -> transform (edge mapping) -> response."""
import os
import re
import unittest
import urllib.request
import urllib.error

from harness import SOURCE_DIR, Host, write_flow


def example_flow_on_port_0():
    with open(os.path.join(SOURCE_DIR, "examples", "hello-http", "flow.yaml")) as f:
        text = f.read()
    return write_flow(text.replace("settings: {port: 8080}", "settings: {port: 0, host: 127.0.0.1}"))


class HelloHttpTest(unittest.TestCase):
    def setUp(self):
        self.host = Host(example_flow_on_port_0(), plugins=["common-module", "http-module"]).start()
        self.addCleanup(self.host.kill)
        line = self.host.wait_for(r"http server listening address=\S+", timeout=10)
        self.assertIsNotNone(line, self.host.output())
        self.base = "http://" + re.search(r"address=(\S+)", line).group(1)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def test_hello_answers_with_the_mapped_body(self):
        status, headers, body = self.get("/hello?name=x")
        self.assertEqual((status, body), (200, "Hello x!"))
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))

    def test_many_requests_in_a_row(self):
        for i in range(50):
            self.assertEqual(self.get(f"/hello?name=n{i}")[2], f"Hello n{i}!")

    def test_sigterm_stops_the_http_server_too(self):
        self.assertEqual(self.host.stop(), 0, self.host.output())
        with self.assertRaises(OSError):
            urllib.request.urlopen(self.base + "/hello?name=x", timeout=2)


if __name__ == "__main__":
    unittest.main()
