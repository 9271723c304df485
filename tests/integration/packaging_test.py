"""What ships: the install tree and the .debs, an out-of-tree plugin built
against the installed SDK and run by the installed host, the Dockerfile, the
Kubernetes manifests (rendered, linted, their args accepted by the real
parser) and docs/operations.md against `tinyhost --help`.

Hermetic: installs go to a temp DESTDIR, packages to a temp dir, hosts
listen on 127.0.0.1 port 0. Tools that Debian 12 does not package (kubectl)
or that may be missing (yamllint, cpack's dpkg-deb) skip their part with a
message naming the tool.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import unittest

import yaml

from harness import PLUGIN_DIR, SOURCE_DIR, TINYHOST, clean_env, plugin_dir_with, start_host, tinyhost

BUILD_DIR = os.environ.get("TINY_BUILD_DIR") or os.path.dirname(os.path.abspath(PLUGIN_DIR))
PACKAGING = os.path.join(SOURCE_DIR, "packaging")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "plugin-example")
EXPORTS_CHECK = os.path.join(SOURCE_DIR, "tests", "loader", "plugin_exports_test.sh")
OVERLAYS = ["common-module", "http-module"]


def run(cmd, timeout=600, env=None, cwd=None, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(shlex.quote, cmd)), r.returncode, r.stdout[-4000:], r.stderr[-4000:]))
    return r


def cache_value(name):
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"%s:[A-Z]+=(.*)$" % re.escape(name), line.rstrip("\n"))
            if m:
                return m.group(1)
    raise AssertionError("%s not in %s/CMakeCache.txt" % (name, BUILD_DIR))


def built_plugins():
    """The shipped plugins this build made (test modules live elsewhere)."""
    return sorted(f for f in os.listdir(PLUGIN_DIR) if f.endswith(".so"))


class Install:
    """One DESTDIR install of the build, shared by the tests (made once)."""
    root = None

    @classmethod
    def get(cls):
        if cls.root is None:
            cls.root = tempfile.mkdtemp(prefix="tiny-install-")
            run(["cmake", "--install", BUILD_DIR], env=clean_env(DESTDIR=cls.root))
            cls.prefix = cache_value("CMAKE_INSTALL_PREFIX")
            cls.libdir = cache_value("CMAKE_INSTALL_LIBDIR")
            cls.includedir = cache_value("CMAKE_INSTALL_INCLUDEDIR")
            # GNUInstallDirs caches DATADIR empty, meaning DATAROOTDIR.
            cls.datadir = cache_value("CMAKE_INSTALL_DATADIR") or cache_value("CMAKE_INSTALL_DATAROOTDIR")
            cls.sysconfdir = "/etc" if cls.prefix == "/usr" else cls.prefix.rstrip("/") + "/etc"
        return cls

    @classmethod
    def path(cls, *parts):
        """A path inside the staged tree: root + prefix + parts."""
        return os.path.join(cls.root + cls.prefix, *parts)

    @classmethod
    def bin(cls):
        return cls.path("bin", "tinyhost")

    @classmethod
    def plugin_dir(cls):
        return cls.path(cls.libdir, "tinyhost", "plugins")

    @classmethod
    def cmake_dir(cls):
        return cls.path(cls.datadir, "cmake", "TinyPluginApi")

    @classmethod
    def etc(cls, *parts):
        return os.path.join(cls.root + cls.sysconfdir, "tinyhost", *parts)


def start_installed_host(test, flow, plugin_dir, plugins=()):
    """A harness host that runs the INSTALLED binary instead of the build's."""
    return start_host(test, flow, plugins=list(plugins), plugin_dir=plugin_dir, binary=Install.get().bin())


class InstallTreeTest(unittest.TestCase):
    def setUp(self):
        self.inst = Install.get()

    def test_layout(self):
        inst = self.inst
        self.assertTrue(os.access(inst.bin(), os.X_OK), inst.bin())
        self.assertEqual(sorted(f for f in os.listdir(inst.plugin_dir()) if f.endswith(".so")), built_plugins())
        for header in ("plugin.h", "plugin.hpp", "settings.hpp", "testing.hpp", "detail/host.hpp",
                       "detail/component.hpp", "detail/trampolines.hpp", "detail/module.hpp"):
            self.assertTrue(os.path.isfile(inst.path(inst.includedir, "tiny", header)), header)
        for f in ("TinyPluginApiConfig.cmake", "TinyPluginApiConfigVersion.cmake", "TinyPluginApiTargets.cmake",
                  "TinyPluginApi.cmake", "exports.map"):
            self.assertTrue(os.path.isfile(os.path.join(inst.cmake_dir(), f)), f)
        self.assertTrue(os.path.isfile(inst.path("lib", "systemd", "system", "tinyhost.service")))
        self.assertTrue(os.path.isfile(inst.etc("tinyhost.conf")))
        self.assertTrue(os.path.isfile(inst.etc("flows", "example.yaml")))
        self.assertTrue(os.path.isfile(inst.path(inst.datadir, "tinyhost", "examples", "plugin-example",
                                                 "CMakeLists.txt")))
        # Nothing of the tests ships.
        for dirpath, _, files in os.walk(inst.root):
            for f in files:
                self.assertNotIn("test-module", f, os.path.join(dirpath, f))

    def test_targets_file_is_namespaced_and_relocatable(self):
        with open(os.path.join(self.inst.cmake_dir(), "TinyPluginApiTargets.cmake")) as f:
            text = f.read()
        self.assertIn("add_library(tiny::plugin_api INTERFACE IMPORTED)", text)
        self.assertNotIn(SOURCE_DIR, text)
        self.assertNotIn(BUILD_DIR, text)

    def test_default_plugin_dir_is_the_installed_one_wherever_the_tree_is(self):
        # The staged tree is the install moved under a temp root (as with
        # `cmake --install --prefix DIR`): the binary finds the plugins next
        # to it, not at the configured prefix.
        staged = self.inst.plugin_dir()
        r = run([self.inst.bin(), "inspect", "no-such-module"], env=clean_env(), check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(os.path.normpath(staged), r.stderr)
        r = run([self.inst.bin(), "inspect", "common-module"], env=clean_env(), check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["module"], "common-module")
        # Moved elsewhere without its plugin dir, it falls back to the
        # configured one.
        alone = tempfile.mkdtemp(prefix="tiny-alone-")
        self.addCleanup(shutil.rmtree, alone, True)
        shutil.copy(self.inst.bin(), alone)
        r = run([os.path.join(alone, "tinyhost"), "inspect", "no-such-module"], env=clean_env(), check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(os.path.join(self.inst.prefix, self.inst.libdir, "tinyhost", "plugins"), r.stderr)

    def test_systemd_unit(self):
        with open(self.inst.path("lib", "systemd", "system", "tinyhost.service")) as f:
            unit = f.read()
        keys = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
        conf = os.path.join(self.inst.sysconfdir, "tinyhost", "tinyhost.conf")
        self.assertEqual(keys["ExecStart"],
                         "%s run --config %s" % (os.path.join(self.inst.prefix, "bin", "tinyhost"), conf))
        self.assertNotIn(keys["User"], ("root", "0"))
        self.assertEqual(keys["KillSignal"], "SIGTERM")
        self.assertEqual(keys["RestartPreventExitStatus"], "2")
        grace = self.conf_value("grace-period")
        self.assertGreater(seconds(keys["TimeoutStopSec"]), seconds(grace) + 5,
                           "TimeoutStopSec must exceed the grace period plus teardown")

    def test_systemd_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("SKIP: systemd-analyze not found; the unit's syntax was not verified")
        # The staged copy, pointed at the staged binary (verify wants it to exist).
        d = tempfile.mkdtemp(prefix="tiny-unit-")
        with open(self.inst.path("lib", "systemd", "system", "tinyhost.service")) as f:
            unit = f.read().replace("ExecStart=" + os.path.join(self.inst.prefix, "bin", "tinyhost"),
                                    "ExecStart=" + self.inst.bin())
        with open(os.path.join(d, "tinyhost.service"), "w") as f:
            f.write(unit)
        r = run(["systemd-analyze", "verify", os.path.join(d, "tinyhost.service")], check=False)
        complaints = [l for l in (r.stdout + r.stderr).splitlines() if "tinyhost.service" in l]
        self.assertEqual((r.returncode, complaints), (0, []))

    def conf_value(self, key):
        with open(self.inst.etc("tinyhost.conf")) as f:
            for line in f:
                m = re.match(r"\s*%s\s*=\s*(\S+)" % re.escape(key), line)
                if m:
                    return m.group(1)
        raise AssertionError(key + " not in tinyhost.conf")

    def test_shipped_config_and_flow_pass_check(self):
        # The conf as installed, with only the staged paths substituted.
        r = run([self.inst.bin(), "run", "--check", "--config", self.inst.etc("tinyhost.conf"),
                 "--plugin-dir", self.inst.plugin_dir(), "--flow", self.inst.etc("flows", "example.yaml")],
                env=clean_env())
        self.assertIn("ok:", r.stdout)

    def test_installed_host_runs_the_shipped_example_flow(self):
        host = start_installed_host(self, self.inst.etc("flows", "example.yaml"), self.inst.plugin_dir())
        r = run([self.inst.bin(), "send", "--address", host.address, "--to", "greeter.in",
                 "--data", '{"name":"you"}'], timeout=30, env=clean_env())
        self.assertEqual(json.loads(r.stdout), {"greeting": "Hello you!"})
        self.assertEqual(host.stop(signal.SIGTERM), 0, host.output())


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|min)?", text)
    n = int(m.group(1))
    return n / 1000 if m.group(2) == "ms" else n * 60 if m.group(2) == "min" else n


class OutOfTreePluginTest(unittest.TestCase):
    """examples/plugin-example, built against the install only."""

    @classmethod
    def setUpClass(cls):
        inst = Install.get()
        cls.work = tempfile.mkdtemp(prefix="tiny-example-")
        cls.build = os.path.join(cls.work, "build")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        cls.configure = run(["cmake", "-S", EXAMPLE, "-B", cls.build, *generator,
                             "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                             "-DCMAKE_PREFIX_PATH=" + inst.root + inst.prefix,
                             "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"], timeout=300)
        run(["cmake", "--build", cls.build, "-j", "2"], timeout=900)
        cls.plugin = os.path.join(cls.build, "example-module.so")

    def test_found_the_installed_package(self):
        found = None
        with open(os.path.join(self.build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("TinyPluginApi_DIR:"):
                    found = line.split("=", 1)[1].strip()
        self.assertEqual(os.path.realpath(found), os.path.realpath(Install.cmake_dir()))

    def test_unit_test_passes(self):
        r = run(["ctest", "--test-dir", self.build, "--output-on-failure"], timeout=300)
        self.assertIn("100% tests passed", r.stdout)

    def test_plugin_exports_only_the_entry(self):
        r = run(["sh", EXPORTS_CHECK, self.plugin])
        self.assertIn("exports tiny_plugin_entry only=yes", r.stdout)

    def test_installed_host_inspects_it(self):
        r = run([Install.bin(), "inspect", self.plugin], env=clean_env())
        info = json.loads(r.stdout)
        self.assertEqual(info["module"], "example-module")
        self.assertEqual([c["name"] for c in info["components"]], ["greeter"])

    def test_installed_host_routes_a_message_through_it(self):
        plugins = plugin_dir_with(self.plugin, os.path.join(Install.plugin_dir(), "common-module.so"))
        flow = os.path.join(self.work, "flow.yaml")
        shutil.copy(os.path.join(EXAMPLE, "flow.yaml"), flow)
        host = start_installed_host(self, flow, plugins, plugins=["example-module", "common-module"])
        r = run([Install.bin(), "send", "--address", host.address, "--to", "greeter.in",
                 "--data", '{"name":"Ada"}'], timeout=30, env=clean_env())
        self.assertEqual(json.loads(r.stdout), {"text": "Hello, Ada!"})
        self.assertIsNotNone(host.wait_for(r"debug data=.*Hello, Ada!.* node=printer"), host.output())
        self.assertEqual(host.stop(signal.SIGTERM), 0, host.output())
        self.assertIn("node destroyed node=greeter", host.output())


class DebPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg-deb", "dpkg"):
            if not shutil.which(tool):
                raise unittest.SkipTest("SKIP: %s not found; the .deb checks need it" % tool)
        cls.out = tempfile.mkdtemp(prefix="tiny-deb-")
        run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"), "-B", cls.out],
            timeout=900)
        debs = [f for f in os.listdir(cls.out) if f.endswith(".deb")]
        cls.runtime = os.path.join(cls.out, next(f for f in debs if f.startswith("tinyhost_")))
        cls.dev = os.path.join(cls.out, next(f for f in debs if f.startswith("tinyhost-dev_")))

    def field(self, deb, name):
        return run(["dpkg-deb", "-f", deb, name]).stdout.strip()

    def contents(self, deb):
        lines = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
        return {re.sub(r"^\./", "/", line.split()[5]) for line in lines}

    def test_runtime_package_contents(self):
        prefix, libdir = cache_value("CMAKE_INSTALL_PREFIX"), cache_value("CMAKE_INSTALL_LIBDIR")
        files = self.contents(self.runtime)
        self.assertIn(os.path.join(prefix, "bin", "tinyhost"), files)
        for so in built_plugins():
            self.assertIn(os.path.join(prefix, libdir, "tinyhost", "plugins", so), files)
        self.assertIn(os.path.join(prefix, "lib", "systemd", "system", "tinyhost.service"), files)
        self.assertFalse([f for f in files if "/include/" in f or "TinyPluginApi" in f], "dev files in runtime")
        self.assertEqual(self.field(self.runtime, "Package"), "tinyhost")
        self.assertEqual(self.field(self.runtime, "Version"), cache_value("CMAKE_PROJECT_VERSION"))

    def test_runtime_package_control_files(self):
        control = os.path.join(self.out, "control")
        run(["dpkg-deb", "-e", self.runtime, control])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(control, script), os.X_OK), script)
        with open(os.path.join(control, "conffiles")) as f:
            conffiles = f.read().split()
        files = self.contents(self.runtime)
        for c in conffiles:
            self.assertIn(c, files)
        self.assertTrue(any(c.endswith("/tinyhost/tinyhost.conf") for c in conffiles), conffiles)

    def test_depends_are_exactly_the_packages_of_the_linked_libraries(self):
        depends = {re.sub(r"\s*\(.*\)", "", d).strip() for d in self.field(self.runtime, "Depends").split(",")}
        binaries = [os.path.join(BUILD_DIR, "host", "tinyhost")] + [os.path.join(PLUGIN_DIR, f)
                                                                   for f in built_plugins()]
        needed = {}
        for binary in binaries:
            sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run(["readelf", "-d", binary]).stdout)
            ldd = run(["ldd", binary]).stdout
            resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
            # The dynamic loader is listed by path only: "/lib64/ld-linux-x86-64.so.2 (0x...)".
            resolved.update({os.path.basename(p): p for p in re.findall(r"^\s*(/\S+) \(0x", ldd, re.M)})
            for soname in sonames:
                path = resolved.get(soname)
                self.assertTrue(path and path.startswith("/"), "%s: %s not resolved" % (binary, soname))
                owner = run(["dpkg", "-S", os.path.realpath(path)], check=False)
                if owner.returncode != 0:  # /lib vs /usr/lib (merged /usr)
                    owner = run(["dpkg", "-S", path])
                package = owner.stdout.split(":")[0].strip()
                needed.setdefault(package, set()).add(soname)
        # A package satisfies a Depends entry by name or by a virtual name it
        # Provides (libspdlog1.10 provides libspdlog1.10-fmt9).
        names = {}
        for package in needed:
            provides = run(["dpkg-query", "-W", "-f=${Provides}", package]).stdout
            names[package] = {package} | {re.sub(r"\s*\(.*\)", "", p).strip() for p in provides.split(",") if p.strip()}
        missing = {p for p in needed if not names[p] & depends}
        self.assertFalse(missing, "linked but not in Depends: %s" % {p: needed[p] for p in missing})
        unused = depends - set().union(*names.values()) - {"adduser"}
        self.assertFalse(unused, "in Depends but linked by nothing: %s" % unused)

    def test_dev_package(self):
        files = self.contents(self.dev)
        self.assertTrue(any(f.endswith("/include/tiny/plugin.hpp") for f in files))
        self.assertTrue(any(f.endswith("/cmake/TinyPluginApi/TinyPluginApiConfig.cmake") for f in files))
        self.assertTrue(any(f.endswith("/cmake/TinyPluginApi/exports.map") for f in files))
        self.assertEqual(self.field(self.dev, "Architecture"), "all")
        self.assertIn("nlohmann-json3-dev", self.field(self.dev, "Depends"))


def dockerfile_instructions(path):
    """(INSTRUCTION, text) pairs, with continuation lines joined."""
    out, pending = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


class DockerfileTest(unittest.TestCase):
    """No Docker engine here: check the Dockerfile's structure and inputs."""

    def setUp(self):
        self.path = os.path.join(PACKAGING, "Dockerfile")
        self.ins = dockerfile_instructions(self.path)
        self.stages = []  # (name, [(instruction, text)])
        for word, text in self.ins:
            if word == "FROM":
                parts = text.split()
                self.stages.append((parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None, []))
                self.stages[-1][1].append((word, text))
            elif self.stages:
                self.stages[-1][1].append((word, text))

    def final(self, word):
        return [t for w, t in self.stages[-1][1] if w == word]

    def test_multi_stage_from_debian_12(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for _, ins in self.stages:
            self.assertRegex(ins[0][1].split()[0], r"^debian:12(-slim)?$")
        self.assertEqual(self.stages[0][0], "build")

    def test_runtime_stage_user_entrypoint_port(self):
        users = self.final("USER")
        self.assertTrue(users, "the runtime stage sets no USER")
        uid = users[-1].split(":")[0]
        self.assertNotIn(uid, ("root", "0"))
        self.assertTrue(uid.isdigit(), "a numeric USER lets Kubernetes verify runAsNonRoot")
        entry = json.loads(self.final("ENTRYPOINT")[-1])
        self.assertEqual([os.path.basename(entry[0]), entry[1]], ["tinyhost", "run"])
        self.assertIn("50051", " ".join(self.final("EXPOSE")))
        for deployment in rendered_deployments_from_files():
            ctx = deployment["spec"]["template"]["spec"]["securityContext"]
            self.assertEqual(str(ctx["runAsUser"]), uid)

    def test_every_copied_file_exists_and_is_not_ignored(self):
        ignore = []
        ignore_file = self.path + ".dockerignore"
        if os.path.exists(ignore_file):
            with open(ignore_file) as f:
                ignore = [l.strip().lstrip("/").rstrip("/") for l in f if l.strip() and not l.startswith("#")]
        stage_names = [n for n, _ in self.stages if n]
        copies = 0
        for word, text in self.ins:
            if word not in ("COPY", "ADD"):
                continue
            args = text.split()
            from_stage = [a.split("=", 1)[1] for a in args if a.startswith("--from=")]
            srcs = [a for a in args if not a.startswith("--")][:-1]
            if from_stage:
                self.assertIn(from_stage[0], stage_names)
                continue
            for src in srcs:
                copies += 1
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, src)), "COPY source missing: " + src)
                for pattern in ignore:
                    self.assertFalse(src != "." and re.fullmatch(pattern.replace("*", "[^/]*"), src.rstrip("/")),
                                     "COPY source %s is excluded by %s" % (src, pattern))
        self.assertGreater(copies, 0)

    def test_scripts_it_runs_exist_and_are_executable(self):
        runs = " ".join(t for w, t in self.ins if w == "RUN")
        scripts = re.findall(r"\./((?:scripts|packaging)/[\w.-]+\.sh)", runs)
        self.assertIn("scripts/deps.sh", scripts)
        self.assertIn("packaging/build-deb.sh", scripts)
        for s in scripts:
            self.assertTrue(os.access(os.path.join(SOURCE_DIR, s), os.X_OK), s)

    def test_runtime_installs_the_runtime_deb_only(self):
        runs = " ".join(t for w, t in self.stages[-1][1] if w == "RUN")
        globs = re.findall(r"/tmp/dist/(\S+\.deb)", runs)
        self.assertEqual(globs, ["tinyhost_*.deb"])  # not tinyhost-dev_*

    def test_default_command_and_env_pass_the_real_parser(self):
        # ENTRYPOINT + CMD with ENV, the config path mapped to the repo's copy;
        # TINYHOST_FLOW / TINYHOST_PLUGIN_DIR chosen by env as a user would.
        cmd = json.loads(self.final("ENTRYPOINT")[-1])[1:] + json.loads(self.final("CMD")[-1])
        cmd = [os.path.join(PACKAGING, "etc", "tinyhost.conf") if a == "/etc/tinyhost/tinyhost.conf" else a
               for a in cmd]
        env = clean_env(TINYHOST_FLOW=os.path.join(PACKAGING, "etc", "flows", "example.yaml"),
                        TINYHOST_PLUGIN_DIR=PLUGIN_DIR, TINYHOST_PLUGIN="common-module")
        for text in self.final("ENV"):
            key, _, value = text.partition("=")
            env[key] = value
        r = run([TINYHOST, *cmd, "--check"], env=env)
        self.assertIn("ok:", r.stdout)


def rendered_deployments_from_files():
    """The base Deployment as written (no kubectl needed)."""
    with open(os.path.join(PACKAGING, "k8s", "base", "deployment.yaml")) as f:
        return [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "Deployment"]


class AdminPortTest(unittest.TestCase):
    """The image and the manifests turn the admin listener on at :9090,
    named `metrics`, announced for scraping, reachable only from the
    monitoring namespace (read from the files: no kubectl needed)."""

    def load(self, name):
        with open(os.path.join(PACKAGING, "k8s", "base", name)) as f:
            return [d for d in yaml.safe_load_all(f) if d]

    def test_deployment_serves_metrics_on_9090_and_asks_to_be_scraped(self):
        (deployment,) = rendered_deployments_from_files()
        pod = deployment["spec"]["template"]
        (c,) = pod["spec"]["containers"]
        self.assertIn("--admin-listen=:9090", c["args"])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports["metrics"], 9090)
        notes = pod["metadata"]["annotations"]
        self.assertEqual((notes["prometheus.io/scrape"], notes["prometheus.io/port"], notes["prometheus.io/path"]),
                         ("true", "9090", "/metrics"))
        services = {s["metadata"]["name"]: s for s in self.load("service.yaml")}
        metrics = [p for p in services["v1"]["spec"]["ports"] if p["name"] == "metrics"]
        self.assertEqual([(p["port"], p["targetPort"]) for p in metrics], [(9090, "metrics")])

    def test_the_admin_port_is_open_to_the_monitoring_namespace_only(self):
        (policy,) = self.load("networkpolicy.yaml")
        rules = [r for r in policy["spec"]["ingress"] if any(p["port"] == 9090 for p in r["ports"])]
        self.assertEqual(len(rules), 1)
        self.assertEqual(rules[0]["from"],
                         [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])
        for r in policy["spec"]["ingress"]:
            if r is not rules[0]:
                self.assertNotIn(9090, [p["port"] for p in r["ports"]])

    def test_the_image_turns_it_on_and_exposes_it(self):
        ins = dockerfile_instructions(os.path.join(PACKAGING, "Dockerfile"))
        envs = [t for w, t in ins if w == "ENV"]
        self.assertIn("TINYHOST_ADMIN_LISTEN=:9090", envs)
        self.assertIn("9090", " ".join(t for w, t in ins if w == "EXPOSE").split())


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kubectl = shutil.which("kubectl")
        cls.rendered = {}
        if cls.kubectl:
            for overlay in OVERLAYS:
                r = run([cls.kubectl, "kustomize", os.path.join(PACKAGING, "k8s", "overlays", overlay)], timeout=120)
                cls.rendered[overlay] = [d for d in yaml.safe_load_all(r.stdout) if d]

    def need_kubectl(self):
        if not self.kubectl:
            self.skipTest("SKIP: kubectl not found (Debian 12 does not package it); "
                          "kustomize rendering and the rendered-args checks did not run")

    def objects(self, overlay, kind):
        return {d["metadata"]["name"]: d for d in self.rendered[overlay] if d["kind"] == kind}

    def test_yamllint(self):
        if not shutil.which("yamllint"):
            self.skipTest("SKIP: yamllint not found (apt-get install yamllint; scripts/deps.sh installs it)")
        r = run(["yamllint", "-f", "parsable", "-c", os.path.join(PACKAGING, ".yamllint.yaml"), PACKAGING],
                check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_overlay_renders_the_module_objects(self):
        self.need_kubectl()
        for m in OVERLAYS:
            with self.subTest(overlay=m):
                deployments = self.objects(m, "Deployment")
                self.assertEqual(list(deployments), [m + "-v1"])
                pod = deployments[m + "-v1"]["spec"]["template"]
                labels = pod["metadata"]["labels"]
                self.assertEqual(labels["app.kubernetes.io/name"], m)
                spec = pod["spec"]
                (c,) = spec["containers"]
                for probe in ("livenessProbe", "readinessProbe"):
                    self.assertEqual(c[probe]["grpc"]["port"], 50051, probe)
                self.assertTrue(c["resources"]["requests"] and c["resources"]["limits"])
                self.assertTrue(spec["securityContext"]["runAsNonRoot"])
                self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
                self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
                self.assertIn("--plugin=" + m, c["args"])
                template = [a for a in c["args"] if a.startswith("--discovery-template=")]
                self.assertEqual(template, ["--discovery-template=dns:///{module}-v1-headless."
                                            "$(POD_NAMESPACE).svc.cluster.local:50051"])
                env = {e["name"]: e for e in c["env"]}
                self.assertEqual(env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace")
                self.assertGreater(spec["terminationGracePeriodSeconds"], 10)

                services = self.objects(m, "Service")
                self.assertEqual(sorted(services), [m + "-v1", m + "-v1-headless"])
                for name, svc in services.items():
                    grpc_ports = [p for p in svc["spec"]["ports"] if p["name"] == "grpc"]
                    self.assertEqual([p["port"] for p in grpc_ports], [50051], name)
                    self.assertEqual(svc["spec"]["selector"], {"app.kubernetes.io/name": m})
                self.assertEqual(services[m + "-v1-headless"]["spec"]["clusterIP"], "None")
                self.assertNotEqual(services[m + "-v1"]["spec"].get("clusterIP"), "None")

                (policy,) = self.objects(m, "NetworkPolicy").values()
                self.assertEqual(policy["spec"]["podSelector"]["matchLabels"], {"app.kubernetes.io/name": m})
                grpc_rules = [r for r in policy["spec"]["ingress"] if any(p["port"] == 50051 for p in r["ports"])]
                self.assertEqual(len(grpc_rules), 1)
                self.assertEqual(grpc_rules[0]["from"], [{"podSelector": {}}], "gRPC from this namespace only")

    def test_flows_come_from_a_configmap_mounted_as_files(self):
        self.need_kubectl()
        for m in OVERLAYS:
            with self.subTest(overlay=m):
                spec = self.objects(m, "Deployment")[m + "-v1"]["spec"]["template"]["spec"]
                (c,) = spec["containers"]
                volumes = {v["name"]: v for v in spec["volumes"]}
                configmaps = self.objects(m, "ConfigMap")
                flows = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--flow=")]
                self.assertTrue(flows)
                for flow in flows:
                    mount = next(vm for vm in c["volumeMounts"] if flow.startswith(vm["mountPath"] + "/"))
                    self.assertNotIn("subPath", mount, "subPath mounts never see ConfigMap updates")
                    cm = configmaps[volumes[mount["name"]]["configMap"]["name"]]
                    self.assertIn(os.path.basename(flow), cm["data"])

    def test_rendered_args_pass_the_real_parser(self):
        self.need_kubectl()
        for m in OVERLAYS:
            with self.subTest(overlay=m):
                if m + ".so" not in built_plugins():
                    self.skipTest("SKIP: %s.so is not built here; its overlay's --check did not run" % m)
                spec = self.objects(m, "Deployment")[m + "-v1"]["spec"]["template"]["spec"]
                (c,) = spec["containers"]
                configmaps = self.objects(m, "ConfigMap")
                volumes = {v["name"]: v for v in spec["volumes"]}
                work = tempfile.mkdtemp(prefix="tiny-k8s-")
                # Each mounted ConfigMap becomes a real dir with its files.
                mounts = {}
                for vm in c["volumeMounts"]:
                    vol = volumes[vm["name"]]
                    if "configMap" in vol:
                        d = os.path.join(work, vm["name"])
                        os.makedirs(d)
                        for key, text in configmaps[vol["configMap"]["name"]]["data"].items():
                            with open(os.path.join(d, key), "w") as f:
                                f.write(text)
                        mounts[vm["mountPath"]] = d
                env_values = {"POD_NAMESPACE": "tinysystems"}
                args = []
                for a in c["args"]:
                    a = re.sub(r"\$\((\w+)\)", lambda mo: env_values[mo.group(1)], a)
                    for mount, d in mounts.items():
                        a = a.replace("=" + mount + "/", "=" + d + "/")
                    if a.startswith("--plugin-dir="):
                        a = "--plugin-dir=" + PLUGIN_DIR
                    args.append(a)
                if not any(a.startswith("--plugin-dir") for a in args):
                    args.append("--plugin-dir=" + PLUGIN_DIR)  # the image's default dir
                r = run([TINYHOST, "run", "--check", *args], env=clean_env(), check=False)
                self.assertEqual(r.returncode, 0, "args %s\n%s%s" % (args, r.stdout, r.stderr))
                self.assertIn("ok:", r.stdout)


def help_flags():
    """--flag -> default ('' when none) from `tinyhost --help`."""
    text = tinyhost("--help").stdout
    flags = {}
    for m in re.finditer(r"(--[a-z][a-z0-9-]*)(?: arg)?(?: \(=([^)]*)\))?", text):
        flags.setdefault(m.group(1), m.group(2) or "")
        if m.group(2):
            flags[m.group(1)] = m.group(2)
    return flags, text


class OperationsDocTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(SOURCE_DIR, "docs", "operations.md")) as f:
            self.doc = f.read()
        self.flags, self.help = help_flags()

    def test_every_flag_in_the_doc_is_in_help_and_back(self):
        doc_flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", self.doc))
        self.assertFalse(doc_flags - set(self.flags), "in docs/operations.md but not in --help")
        self.assertFalse(set(self.flags) - doc_flags, "in --help but not in docs/operations.md")

    def test_documented_defaults_match_help(self):
        # Table rows: | `--flag ARG` | `default` | ... |
        rows = re.findall(r"^\|\s*`(--[a-z][a-z0-9-]*)[^`]*`\s*\|\s*([^|]*)\|", self.doc, re.M)
        self.assertTrue(rows, "no flag table in docs/operations.md")
        for flag, default in rows:
            default = default.strip().strip("`")
            if self.flags.get(flag):
                self.assertEqual(default, self.flags[flag], flag)

    def test_documented_env_vars_name_real_options(self):
        for var in set(re.findall(r"TINYHOST_([A-Z][A-Z0-9_]*)", self.doc)):
            flag = "--" + var.lower().replace("_", "-")
            self.assertIn(flag, self.flags, "TINYHOST_%s names no option" % var)


if __name__ == "__main__":
    unittest.main()
