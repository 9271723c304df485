"""examples/two-hosts: runs exactly the commands of its README (binary and
plugin paths pointed at this build, free ports instead of 50051/50052/8080)
and checks the output the README shows."""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from harness import PLUGIN_DIR, SOURCE_DIR, TINYHOST, Host, free_port, start_all, tinyhost

EXAMPLE = os.path.join(SOURCE_DIR, "examples", "two-hosts")
FLOW = "examples/two-hosts/flow.yaml"


def readme_commands(text):
    """The shell commands of the README's ```sh blocks, continuations joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    return commands


class TwoHostsExampleTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(EXAMPLE, "README.md")) as f:
            self.readme = f.read()
        self.commands = readme_commands(self.readme)
        self.ports = {"50051": str(free_port()), "50052": str(free_port()), "8080": str(free_port())}
        # The flow with the HTTP port moved, so the test never collides.
        with open(os.path.join(SOURCE_DIR, FLOW)) as f:
            flow = f.read()
        self.assertIn("port: 8080", flow)
        d = tempfile.mkdtemp(prefix="tiny-two-hosts-")
        self.flow = os.path.join(d, "flow.yaml")
        with open(self.flow, "w") as f:
            f.write(flow.replace("port: 8080", "port: " + self.ports["8080"]))

    def localize(self, command):
        for old, new in self.ports.items():
            command = re.sub(r"(?<=[:=])%s\b" % old, new, command)
        argv = shlex.split(command)
        if argv[0] == "build/host/tinyhost":
            argv[0] = TINYHOST
        return [PLUGIN_DIR if a == "build/plugins" else self.flow if a == FLOW else a for a in argv]

    def test_readme_commands(self):
        runs = [c for c in self.commands if c.startswith("build/host/tinyhost run ")]
        sends = [c for c in self.commands if c.startswith("build/host/tinyhost send ")]
        curls = [c for c in self.commands if c.startswith("curl ")]
        self.assertEqual((len(runs), len(sends), len(curls)), (2, 1, 1), self.commands)
        for c in runs:
            self.assertIn("--peer ", c)
        if not os.path.exists(os.path.join(PLUGIN_DIR, "http-module.so")):
            self.skipTest("http-module is not built in this tree (%s)" % PLUGIN_DIR)

        hosts = start_all(self, *(Host(command=self.localize(c)) for c in runs))
        for h in hosts:
            self.assertTrue(h.wait_for(r"connected to module module=\S+ address=127\.0\.0\.1:\d+", timeout=20),
                            h.output())

        want = json.loads(re.search(r"```json\n(.*?)\n```", self.readme, re.S).group(1))
        send = self.localize(sends[0])
        self.assertEqual(send[0], TINYHOST, send)
        r = tinyhost(*send[1:], cwd=SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stderr + "\n".join(h.output() for h in hosts))
        self.assertEqual(json.loads(r.stdout), want)

        want_http = re.search(r"prints `([^`]*)`", self.readme).group(1)
        argv = self.localize(curls[0])
        if shutil.which("curl"):
            body = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        else:
            url = [a for a in argv if a.startswith("http")][0]
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = resp.read().decode()
        self.assertEqual(body, want_http)

        for h in hosts:
            self.assertEqual(h.stop(), 0, h.output())


if __name__ == "__main__":
    unittest.main()
