#!/usr/bin/env python3
"""Hotplug latency, three ways in one run (driven by bench/hotplug.sh):

  jvirt  the API call (POST ...?wait=true) until the guest shows the change;
  qmp    the same QMP commands sent by hand to a QEMU started with jvirt's own command line;
  virsh  virsh attach-device / setvcpus --live / attach-disk on a private libvirtd's domain (when given).

"Shows the change" is read from inside the guest through its agent (guest-exec of /bin/guestinfo), polled every
20 ms, identically for the three. Also: how long a detach waits for the guest (device_del -> DEVICE_DELETED).
"""
import json, os, shlex, socket, subprocess, sys, time, base64, http.client

RUNS = int(os.environ.get("RUNS", "3"))


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("j")
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path_)


def api(sock, method, path, body=None):
    c = UnixHTTP(sock)
    c.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


class Lines:
    """A JSON-lines socket (QMP or the guest agent)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.events = []

    def send(self, obj):
        self.f.write(json.dumps(obj).encode() + b"\n")
        self.f.flush()

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("closed")
            m = json.loads(line)
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, **args):
        self.send({"execute": name, "arguments": args} if args else {"execute": name})
        m = self.read()
        if "error" in m:
            raise RuntimeError(f"{name}: {m['error']}")
        return m.get("return")

    def wait_event(self, name, pred, timeout=120):
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e["event"] == name and pred(e.get("data", {})):
                    self.events.remove(e)
                    return e
            if time.time() > deadline:
                raise RuntimeError("no " + name)
            self.s.settimeout(max(0.01, deadline - time.time()))
            line = self.f.readline()
            self.s.settimeout(None)
            m = json.loads(line)
            if "event" in m:
                self.events.append(m)


def qmp_connect(path):
    q = Lines(path)
    q.read()  # greeting
    q.cmd("qmp_capabilities")
    return q


class Agent:
    def __init__(self, path):
        self.a = Lines(path)
        self.a.send({"execute": "guest-sync", "arguments": {"id": 4711}})
        while self.a.read().get("return") != 4711:
            pass

    def guestinfo(self):
        pid = self.a.cmd("guest-exec", path="/bin/guestinfo", **{"capture-output": True})["pid"]
        while True:
            st = self.a.cmd("guest-exec-status", pid=pid)
            if st.get("exited"):
                out = base64.b64decode(st.get("out-data", "")).decode()
                return dict(p.split("=", 1) for p in out.split() if "=" in p and not p.startswith("=END"))
            time.sleep(0.005)


def until(seen, pred, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        g = seen()
        if pred(g):
            return g
        time.sleep(0.02)
    raise RuntimeError("the guest never showed the change")


def ms(t0):
    return (time.time() - t0) * 1000


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run_jvirt(sock, vm, agent_path, disk):
    ag = Agent(agent_path)
    g0 = ag.guestinfo()
    mem0 = int(g0["mem_kb"])
    res = {k: [] for k in ("dimm", "dimm-detach-wait", "virtio-mem", "vcpu", "vcpu-unplug-wait", "disk", "disk-detach-wait")}
    base = f"/v1/vms/{vm}"
    api(sock, "POST", base + "/memory?wait=true", {"id": "vm0", "kind": "virtio-mem", "sizeMiB": 512, "node": 0})
    for i in range(RUNS):
        t0 = time.time()
        api(sock, "POST", base + "/memory?wait=true", {"id": f"d{i}", "sizeMiB": 256, "node": 1})
        until(ag.guestinfo, lambda g: int(g["mem_kb"]) >= mem0 + 250 * 1024)
        res["dimm"].append(ms(t0))
        t0 = time.time()
        api(sock, "POST", base + f"/memory/d{i}/detach?wait=true", {"options": {"timeoutSeconds": 120}})
        res["dimm-detach-wait"].append(ms(t0))
        until(ag.guestinfo, lambda g: int(g["mem_kb"]) < mem0 + 100 * 1024)
        t0 = time.time()
        api(sock, "POST", base + "/memory/vm0/resize?wait=true", {"requestedMiB": 256})
        until(ag.guestinfo, lambda g: int(g["mem_kb"]) >= mem0 + 250 * 1024)
        res["virtio-mem"].append(ms(t0))
        api(sock, "POST", base + "/memory/vm0/resize?wait=true", {"requestedMiB": 0})
        until(ag.guestinfo, lambda g: int(g["mem_kb"]) < mem0 + 100 * 1024)
        t0 = time.time()
        api(sock, "POST", base + "/disks?wait=true", {"target": "vdb", "path": disk})
        until(ag.guestinfo, lambda g: "vdb" in g["disks"])
        res["disk"].append(ms(t0))
        t0 = time.time()
        api(sock, "POST", base + "/disks/vdb/detach?wait=true", {"options": {"timeoutSeconds": 120}})
        res["disk-detach-wait"].append(ms(t0))
        until(ag.guestinfo, lambda g: "vdb" not in g["disks"])
    # vCPUs last, once: under TCG, QEMU 7.2 aborts on any plug after a vCPU unplug
    t0 = time.time()
    api(sock, "POST", base + "/setvcpus?wait=true", {"vcpus": 2})
    until(ag.guestinfo, lambda g: g["ncpus"] == "2")
    res["vcpu"].append(ms(t0))
    t0 = time.time()
    api(sock, "POST", base + "/setvcpus?wait=true", {"vcpus": 1, "options": {"timeoutSeconds": 120}})
    res["vcpu-unplug-wait"].append(ms(t0))
    until(ag.guestinfo, lambda g: g["ncpus"] == "1")
    return res


def run_qmp(cmdline, work, disk):
    """QEMU started with jvirt's command line (its sockets moved to WORK), driven by hand over QMP."""
    args = shlex.split(cmdline)
    while args and "=" in args[0] and not args[0].startswith("/"):
        args.pop(0)  # LC_ALL=C PATH=...
    qmp, qga = f"{work}/qmp.sock", f"{work}/qga.sock"
    flags = {"-nodefaults", "-no-user-config", "-S", "-no-shutdown"}
    out, i = [args[0]], 1
    while i < len(args):
        a = args[i]
        if a in flags:
            out.append(a)
            i += 1
            continue
        v = args[i + 1]
        i += 2
        if a == "-pidfile":
            continue
        if a == "-chardev" and "id=monitor" in v:
            v = f"socket,id=monitor,path={qmp},server=on,wait=off"
        elif a == "-chardev" and "id=serial0" in v:
            v = f"file,id=serial0,path={work}/serial.log"
        elif a == "-chardev" and "id=qga0" in v:
            v = f"socket,id=qga0,path={qga},server=on,wait=off"
        out += [a, v]
    p = subprocess.Popen(out, stdout=subprocess.DEVNULL, stderr=open(f"{work}/qemu-byhand.log", "w"))
    try:
        for _ in range(300):
            if os.path.exists(qmp):
                break
            time.sleep(0.05)
        q = qmp_connect(qmp)
        q.cmd("cont")
        for _ in range(1200):
            if "JVIRT-GUEST-READY" in open(f"{work}/serial.log", errors="replace").read():
                break
            time.sleep(0.1)
        time.sleep(2)
        ag = Agent(qga)
        mem0 = int(ag.guestinfo()["mem_kb"])
        res = {k: [] for k in ("dimm", "dimm-detach-wait", "virtio-mem", "vcpu", "vcpu-unplug-wait", "disk", "disk-detach-wait")}
        MiB = 1024 * 1024
        q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "ram-vm0", "size": 512 * MiB})
        q.cmd("device_add", driver="virtio-mem-pci", id="mem-vm0", memdev="ram-vm0", node=0, bus="hp0",
              **{"block-size": 2 * MiB, "requested-size": 0})
        for r in range(RUNS):
            t0 = time.time()
            q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": f"ram-d{r}", "size": 256 * MiB})
            q.cmd("device_add", driver="pc-dimm", id=f"mem-d{r}", memdev=f"ram-d{r}", node=1)
            until(ag.guestinfo, lambda g: int(g["mem_kb"]) >= mem0 + 250 * 1024)
            res["dimm"].append(ms(t0))
            t0 = time.time()
            q.cmd("device_del", id=f"mem-d{r}")
            q.wait_event("DEVICE_DELETED", lambda d: d.get("device") == f"mem-d{r}")
            q.cmd("object-del", id=f"ram-d{r}")
            res["dimm-detach-wait"].append(ms(t0))
            until(ag.guestinfo, lambda g: int(g["mem_kb"]) < mem0 + 100 * 1024)
            t0 = time.time()
            q.cmd("qom-set", path="/machine/peripheral/mem-vm0", property="requested-size", value=256 * MiB)
            until(ag.guestinfo, lambda g: int(g["mem_kb"]) >= mem0 + 250 * 1024)
            res["virtio-mem"].append(ms(t0))
            q.cmd("qom-set", path="/machine/peripheral/mem-vm0", property="requested-size", value=0)
            until(ag.guestinfo, lambda g: int(g["mem_kb"]) < mem0 + 100 * 1024)
            t0 = time.time()
            q.cmd("blockdev-add", driver="file", filename=disk, **{"node-name": "file-vdb"})
            q.cmd("blockdev-add", driver="raw", file="file-vdb", **{"node-name": "fmt-vdb"})
            q.cmd("device_add", driver="virtio-blk-pci", id="disk-vdb", drive="fmt-vdb", bus="hp1")
            until(ag.guestinfo, lambda g: "vdb" in g["disks"])
            res["disk"].append(ms(t0))
            t0 = time.time()
            q.cmd("device_del", id="disk-vdb")
            q.wait_event("DEVICE_DELETED", lambda d: d.get("device") == "disk-vdb")
            q.cmd("blockdev-del", **{"node-name": "fmt-vdb"})
            q.cmd("blockdev-del", **{"node-name": "file-vdb"})
            res["disk-detach-wait"].append(ms(t0))
            until(ag.guestinfo, lambda g: "vdb" not in g["disks"])
        t0 = time.time()
        slot = [c for c in q.cmd("query-hotpluggable-cpus") if "qom-path" not in c]
        slot.sort(key=lambda c: c["props"].get("socket-id", 0))
        s = slot[0]
        q.cmd("device_add", driver=s["type"], id="vcpu%d" % s["props"]["socket-id"], **s["props"])
        until(ag.guestinfo, lambda g: g["ncpus"] == "2")
        res["vcpu"].append(ms(t0))
        t0 = time.time()
        q.cmd("device_del", id="vcpu%d" % s["props"]["socket-id"])
        # QEMU 7.2 reports only the vCPU's lapic child as deleted (docs/hotplug.md)
        q.wait_event("DEVICE_DELETED", lambda d: d.get("path", "").startswith("/machine/peripheral/vcpu%d" % s["props"]["socket-id"]))
        res["vcpu-unplug-wait"].append(ms(t0))
        until(ag.guestinfo, lambda g: g["ncpus"] == "1")
        q.cmd("quit")
        return res
    finally:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_virsh(virsh, dom, agent_poll, disk, work):
    """virsh's verbs on the same guest under libvirt; the guest's view through virsh qemu-agent-command.
    A verb libvirt refuses is reported (stderr) and left out; the others are still measured."""
    V = shlex.split(virsh)

    def agent(cmd):
        r = subprocess.run(V + ["qemu-agent-command", dom, json.dumps(cmd)], capture_output=True, text=True, check=True)
        return json.loads(r.stdout)["return"]

    def guestinfo():
        pid = agent({"execute": "guest-exec", "arguments": {"path": "/bin/guestinfo", "capture-output": True}})["pid"]
        while True:
            st = agent({"execute": "guest-exec-status", "arguments": {"pid": pid}})
            if st.get("exited"):
                out = base64.b64decode(st.get("out-data", "")).decode()
                return dict(p.split("=", 1) for p in out.split() if "=" in p and not p.startswith("=END"))

    def virsh_ok(*args):
        r = subprocess.run(V + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("virsh " + " ".join(args[:1]) + ": " + r.stderr.strip())

    def timed(key, act, seen):
        try:
            t0 = time.time()
            act()
            if seen:
                until(guestinfo, seen, timeout=60)
            res[key].append(ms(t0))
        except Exception as e:
            print(f"  {key}: {e}", file=sys.stderr)
            failed.add(key)

    mem0 = int(guestinfo()["mem_kb"])
    res = {k: [] for k in ("dimm", "dimm-detach-wait", "vcpu", "vcpu-unplug-wait", "disk", "disk-detach-wait")}
    failed = set()
    dimm = f"{work}/dimm.xml"
    open(dimm, "w").write("<memory model='dimm'><target><size unit='MiB'>256</size><node>1</node></target></memory>")
    for r in range(RUNS):
        timed("disk", lambda: virsh_ok("attach-disk", dom, disk, "vdb", "--live", "--targetbus", "virtio", "--driver",
                                       "qemu", "--subdriver", "raw"), lambda g: "vdb" in g["disks"])
        if "disk" not in failed:
            timed("disk-detach-wait", lambda: virsh_ok("detach-disk", dom, "vdb", "--live"), None)
            until(guestinfo, lambda g: "vdb" not in g["disks"])
        timed("dimm", lambda: virsh_ok("attach-device", dom, dimm, "--live"),
              lambda g: int(g["mem_kb"]) >= mem0 + 250 * 1024)
        if "dimm" not in failed:
            timed("dimm-detach-wait", lambda: virsh_ok("detach-device", dom, dimm, "--live"), None)
            until(guestinfo, lambda g: int(g["mem_kb"]) < mem0 + 100 * 1024)
    timed("vcpu", lambda: virsh_ok("setvcpus", dom, "2", "--live"), lambda g: g["ncpus"] == "2")
    timed("vcpu-unplug-wait", lambda: virsh_ok("setvcpus", dom, "1", "--live"), None)
    return res


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "jvirt":
        r = run_jvirt(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif mode == "qmp":
        r = run_qmp(open(sys.argv[2]).read().strip(), sys.argv[3], sys.argv[4])
    else:
        r = run_virsh(sys.argv[2], sys.argv[3], None, sys.argv[4], sys.argv[5])
    print(json.dumps({k: {"median_ms": round(median(v), 1), "runs": [round(x, 1) for x in v]} for k, v in r.items() if v}))
