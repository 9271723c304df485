"""The admin page (host/admin/admin_page.cpp) in headless Chromium, against
a stand-in for the admin listener: a Python HTTP server on a free loopback
port that serves the page as the host holds it, a graph.svg the real
`tinyhost graph --format svg` drew, and a /status whose counts grow by a
known step on every request (the JSON the lead's /status produces).

Needs: TINY_ADMIN_PAGE_DUMP (prints the page), the harness's variables,
TINY_ARTIFACT_DIR (where the screenshot is kept; a temp dir when unset).
"""

import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from browser import load_dom
from harness import PLUGIN_DIR, SOURCE_DIR, start_host, tinyhost, wait_until, write_flow

TICKER = os.path.join(SOURCE_DIR, "examples", "ticker", "flow.yaml")
# The ticker flow after a hot reload: one node and one edge more.
RELOADED = """
nodes:
  - name: clock
    module: common-module
    component: ticker
    edges:
      - {port: out, to: shaper.in}
      - {port: out, to: audit.in}
  - name: shaper
    module: common-module
    component: transform
    edges:
      - {port: out, to: printer.in}
  - {name: printer, module: common-module, component: debug}
  - {name: audit, module: common-module, component: debug}
"""
HOSTILE = '<img src=x onerror="document.title=1">&amp;'
STEP = 10  # messages per edge per status request; uptime grows 1 s per request


def page_html():
    return subprocess.run([os.environ["TINY_ADMIN_PAGE_DUMP"]], capture_output=True, check=True, timeout=30).stdout


def svg_of(flow):
    r = tinyhost("graph", flow, "--format", "svg", "--plugin-dir", PLUGIN_DIR)
    if r.returncode != 0:
        raise AssertionError("tinyhost graph %s: %s" % (flow, r.stderr))
    return r.stdout.encode()


class FakeAdmin:
    """The admin listener's three resources. Status number k (from 1) has
    uptime k s and STEP*k messages on each edge (but 0 on the idle one);
    from status `reload_at` on, the flows are RELOADED's."""

    def __init__(self, page, svg, reloaded_svg, reload_at=None):
        self.page, self.svg, self.reloaded_svg, self.reload_at = page, svg, reloaded_svg, reload_at
        self.lock = threading.Lock()
        self.statuses = 0
        self.graph_fetches = 0
        admin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/":
                    self.reply("text/html; charset=utf-8", admin.page)
                elif path == "/graph.svg":
                    self.reply("image/svg+xml", admin.graph())
                elif path == "/status":
                    self.reply("application/json", json.dumps(admin.status()).encode())
                else:
                    self.send_error(404)

            def reply(self, kind, body):
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def reloaded(self):
        return self.reload_at is not None and self.statuses >= self.reload_at

    def graph(self):
        with self.lock:
            self.graph_fetches += 1
            return self.reloaded_svg if self.reloaded() else self.svg

    def status(self):
        with self.lock:
            self.statuses += 1
            return self.status_number(self.statuses, self.reloaded())

    @staticmethod
    def status_number(k, reloaded):
        edges = [("clock.out", "shaper.in", STEP * k), ("shaper.out", "printer.in", 0)]
        nodes = [("clock", "ticker", "running", 2 * STEP * k, 0), ("shaper", "transform", "stopped", STEP * k, 0),
                 ("printer", "debug", "running", 0, 2)]
        if reloaded:
            edges.append(("clock.out", "audit.in", STEP * k))
            nodes.append(("audit", "debug", "running", 0, 0))
        return {
            "build": {"version": "0.3.0", "abi": "1.0"},
            "uptime_seconds": float(k),
            "ready": True,
            "plugins": [{"module": "common-module", "version": "0.3.0", "file": "/p/common-module.so"}],
            "nodes": [{"name": name, "flow": "examples/ticker/flow.yaml", "module": "common-module",
                       "component": component, "local": True, "state": state, "settings_hash": "9f",
                       "messages": messages, "errors": errors,
                       "last_error": {"message": HOSTILE, "time": "2026-12-03T19:00:00Z"} if errors else None}
                      for name, component, state, messages, errors in nodes],
            "edges": [{"from": f, "to": t, "messages": m} for f, t, m in edges],
            "peers": [{"module": "http-module", "address": "127.0.0.1:5001", "state": "READY"}],
        }


class Dom(html.parser.HTMLParser):
    """The elements of a DOM dump by id: their attributes, tag and text."""

    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.by_id, self.tags, self.stack = {}, [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        element = {"tag": tag, "attrs": attrs, "text": ""}
        if attrs.get("id"):
            self.by_id[attrs["id"]] = element
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        in_label = bool(self.stack) and self.stack[-1]["tag"] == "text"  # an SVG <text>, not a <title>
        for element in self.stack:
            element["text"] += data
            if in_label:
                element["label"] = element.get("label", "") + data

    def text(self, element_id):
        return self.by_id[element_id]["text"].strip()

    def label(self, element_id):
        """The text of the SVG <text> elements in the element (what the drawing shows)."""
        return self.by_id[element_id].get("label", "").strip()

    def classes(self, element_id):
        return set(self.by_id[element_id]["attrs"].get("class", "").split())


class AdminPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.page = page_html()
        cls.svg = svg_of(TICKER)
        cls.tmp = tempfile.mkdtemp(prefix="tiny-admin-page-")
        cls.reloaded_svg = svg_of(write_flow(RELOADED, cls.tmp))
        cls.artifacts = os.environ.get("TINY_ARTIFACT_DIR") or cls.tmp
        os.makedirs(cls.artifacts, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def load(self, virtual_time_ms, reload_at=None, screenshot=None):
        admin = FakeAdmin(self.page, self.svg, self.reloaded_svg, reload_at)
        try:
            dom = Dom(load_dom(admin.url, virtual_time_ms=virtual_time_ms, screenshot=screenshot))
        finally:
            admin.close()
        return dom, admin

    def test_the_page_is_self_contained(self):
        text = self.page.decode()
        for external in ("<link", "src=", "http://", "https://", "@import"):
            self.assertNotIn(external, text.replace("http://www.w3.org/", ""))

    def test_one_poll_draws_the_flow_and_its_counts(self):
        dom, admin = self.load(500)  # the graph, one status, no second poll yet
        self.assertEqual(admin.statuses, 1)
        for node in ("clock", "shaper", "printer"):
            self.assertIn("node:" + node, dom.by_id)
            self.assertIn("a_badge:" + node, dom.by_id)
        edge = dom.by_id["edge:clock.out->shaper.in"]
        self.assertEqual(edge["attrs"].get("data-messages"), str(STEP))
        self.assertEqual(dom.label("edge:clock.out->shaper.in"), "")  # no rate from one sample
        self.assertEqual(dom.text("total-messages"), str(3 * STEP))
        self.assertEqual(dom.text("total-errors"), "2")
        self.assertEqual(dom.text("ready"), "yes")
        self.assertEqual(dom.text("build"), "0.3.0 (ABI 1.0)")
        self.assertEqual(dom.text("uptime"), "1s")

    def test_later_polls_write_rates_badges_states_and_tables(self):
        dom, admin = self.load(4500, screenshot=os.path.join(self.artifacts, "admin_page.png"))
        self.assertGreaterEqual(admin.statuses, 2)
        busy = dom.by_id["edge:clock.out->shaper.in"]
        k = int(busy["attrs"]["data-messages"]) // STEP  # the last status the page showed
        self.assertGreaterEqual(k, 2)
        self.assertEqual(dom.label("edge:clock.out->shaper.in"), "10/s")  # STEP messages a second
        self.assertEqual(float(busy["attrs"]["data-rate"]), float(STEP))
        self.assertEqual(dom.label("edge:shaper.out->printer.in"), "0.0/s")
        self.assertIn("clock.out -> shaper.in: %d messages" % (STEP * k), busy["text"])  # its tooltip
        self.assertEqual(dom.text("total-messages"), str(3 * STEP * k))
        self.assertEqual(dom.text("uptime"), "%ds" % k)
        # printer has errors: a red badge with the count, the last error as its tooltip.
        badge = dom.by_id["a_badge:printer"]
        self.assertEqual(dom.label("a_badge:printer"), "2")
        self.assertEqual(dom.label("a_badge:clock"), "")
        self.assertIn("has-errors", dom.classes("a_badge:printer"))
        self.assertIn(HOSTILE, badge["text"])  # the <title>, as text
        self.assertNotIn("has-errors", dom.classes("a_badge:clock"))
        # shaper is not running: drawn stopped.
        self.assertIn("stopped", dom.classes("node:shaper"))
        self.assertIn("state-stopped", dom.classes("node:shaper"))
        self.assertNotIn("stopped", dom.classes("node:clock"))
        # The host's text stays text: the error message made no element.
        self.assertNotIn("img", dom.tags)
        table = dom.by_id["nodes"]["text"]
        self.assertIn(HOSTILE, table)
        self.assertIn("common-module/debug", table)
        peers = dom.by_id["peers"]["text"]
        for text in ("http-module", "127.0.0.1:5001", "READY"):
            self.assertIn(text, peers)
        with open(os.path.join(self.artifacts, "admin_page.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_a_changed_set_of_nodes_fetches_the_graph_again(self):
        dom, admin = self.load(4500, reload_at=3)
        self.assertGreaterEqual(admin.statuses, 4)
        self.assertEqual(admin.graph_fetches, 2)
        self.assertIn("node:audit", dom.by_id)
        audit = dom.by_id["edge:clock.out->audit.in"]
        self.assertTrue(audit["attrs"].get("data-messages"))
        self.assertIn("edge:clock.out->shaper.in", dom.by_id)


class RealHostPageTest(unittest.TestCase):
    """The page as the README's host serves it: the real admin listener,
    the example ticker flow (ticking every 100 ms), real Chromium."""

    def test_the_page_of_a_running_host_shows_every_node_and_its_counts_move(self):
        with open(TICKER) as f:
            fast = f.read().replace("period: 1000", "period: 100")
        self.assertIn("period: 100\n", fast)
        tmp = tempfile.mkdtemp(prefix="tiny-admin-host-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        host = start_host(self, write_flow(fast, tmp), plugins=["common-module"],
                          args=["--admin-listen", "127.0.0.1:0"])
        line = host.wait_for(r"admin listening address=(http://\S+/)")
        self.assertTrue(line, host.output())
        url = re.search(r"address=(http://\S+/)", line).group(1)
        artifacts = os.environ.get("TINY_ARTIFACT_DIR") or tmp
        os.makedirs(artifacts, exist_ok=True)
        shot = os.path.join(artifacts, "admin_page_real_host.png")
        first = Dom(load_dom(url, virtual_time_ms=2500, screenshot=shot))
        for node in ("clock", "shaper", "printer"):
            self.assertIn("node:" + node, first.by_id)
            self.assertIn("state-running", first.classes("node:" + node))
        self.assertIn("edge:clock.out->shaper.in", first.by_id)
        total = int(first.text("total-messages"))
        self.assertGreater(total, 0)
        # Wall time passes and the ticker ticks: a later load shows more.
        def shown_by_host():
            with urllib.request.urlopen(url + "status", timeout=10) as r:
                return sum(n["messages"] for n in json.load(r)["nodes"])
        self.assertTrue(wait_until(lambda: shown_by_host() > total + 5))
        later = Dom(load_dom(url, virtual_time_ms=2500))
        self.assertGreater(int(later.text("total-messages")), total)
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
