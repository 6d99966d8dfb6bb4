"""A burst: N requests that all complete at the same moment, against three servers side by side.

Servers, each in its own process on this machine: `python 05_lifecycle.py` (the default
server, with its recorder), `python 08_deploy.py serve` (the same, plus a pool on MariaDB),
and Flask 3's own dev server (`app.run(threaded=True)`) serving the same /index.

For each server and each N: open N connections and send each a request without its last line
ending; once the server has accepted all N (a thread each), send the N last bytes in one go and
time until the last answer arrives. Peak memory is the server's peak resident size (VmHWM,
reset just before) minus its size before the connections were opened. Each burst gets a fresh
server; rounds are interleaved (05, 08, flask, 05, ...) and the median kept.

Run: python bench/bench_burst.py [--json PATH] [--sizes 400,1000] [--rounds 3]
Target: 05 and 08 serve within 1.5x Flask 3's time to the last answer and peak memory, at each N.
"""

import os
import resource
import selectors
import socket
import subprocess
import sys
import time

import common

FLASK3_APP = """
import sys
import flask
app = flask.Flask("burst")
@app.route("/index")
def index():
    return "hello world"
app.run("127.0.0.1", int(sys.argv[1]), threaded=True)
"""
REQUEST = b"GET /index HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
SERVERS = {
    "05": lambda port: [str(common.ROOT / "05_lifecycle.py"), "--port", str(port)],
    "08 serve": lambda port: [str(common.ROOT / "08_deploy.py"), "serve", "--port", str(port)],
    "flask3": lambda port: ["-c", FLASK3_APP, str(port)],
}
TARGET = 1.5


def more_file_descriptors():
    """Each connection is a descriptor in the client and one in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name):
        self.name, self.port = name, free_port()
        self.process = subprocess.Popen(
            [sys.executable, *SERVERS[name](self.port)],
            cwd=common.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=more_file_descriptors,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                sys.exit(f"bench_burst.py: {name} exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"bench_burst.py: {name} did not listen within 60 s")
                time.sleep(0.1)
        assert self.get() == b"hello world", f"{name} did not answer /index"

    def get(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(REQUEST + b"\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.split(b"\r\n\r\n", 1)[1]

    def memory_kb(self, field):
        """A number from /proc/PID/status: VmRSS, VmHWM (in kB) or Threads."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {field} for {self.name}")

    def wait_for_threads(self, count, timeout=60):
        """Until the server runs `count` threads: one per connection, and the main one."""
        deadline = time.monotonic() + timeout
        while self.memory_kb("Threads") < count:  # not memory, but the same /proc file
            if time.monotonic() > deadline:
                sys.exit(f"bench_burst.py: {self.name} did not accept the connections in time")
            time.sleep(0.01)

    def reset_peak(self):
        """Start VmHWM again from the present size (Linux: 5 > /proc/PID/clear_refs)."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as refs:
            refs.write("5")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def burst(server, n, timeout=120):
    """(seconds to the last answer, peak MB over the size before, answers that were 200)."""
    server.reset_peak()
    before = server.memory_kb("VmRSS")
    sockets = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        s.sendall(REQUEST)
        sockets.append(s)
    server.wait_for_threads(n + 1)  # every connection accepted, its thread waiting
    selector = selectors.DefaultSelector()
    replies = {}
    started = time.perf_counter()
    for s in sockets:
        s.sendall(b"\r\n")
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        replies[s] = b""
    deadline, open_ = time.monotonic() + timeout, len(sockets)
    while open_ and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            chunk = key.fileobj.recv(65536)
            if chunk:
                replies[key.fileobj] += chunk
            else:
                selector.unregister(key.fileobj)
                open_ -= 1
    elapsed = time.perf_counter() - started
    for s in sockets:
        s.close()
    selector.close()
    ok = sum(reply.startswith(b"HTTP/1.1 200") for reply in replies.values())
    peak = (server.memory_kb("VmHWM") - before) / 1024
    return (elapsed if not open_ else float("inf")), peak, ok


def main():
    p = common.parser(__doc__)
    p.add_argument(
        "--sizes",
        type=common.thread_counts,
        default=[400, 1000],
        help="how many requests complete at once, comma-separated (default 400,1000)",
    )
    p.add_argument(
        "--rounds",
        type=common.positive(int),
        default=3,
        help="bursts per server and N, the median kept (default 3)",
    )
    args = p.parse_args()
    more_file_descriptors()
    print(f"{args.rounds} rounds per N, interleaved; median time, median peak memory")
    table = common.Table(
        [("N", 5), ("server", 9), ("last answer s", 13), ("peak +MB", 9), ("200s", 5)]
        + [("x flask3 time", 13), ("x flask3 mem", 12)]
    )
    results = {}
    for n in args.sizes:
        measured = {name: [] for name in SERVERS}
        for _ in range(args.rounds):
            for name in SERVERS:  # a fresh server per burst: VmHWM is the peak since start
                server = Server(name)
                try:
                    measured[name].append(burst(server, n))
                finally:
                    server.stop()
        summary = {
            name: {
                "seconds": common.median([t for t, _, _ in rows]),
                "peak_mb": common.median([m for _, m, _ in rows]),
                "ok": min(ok for _, _, ok in rows),
            }
            for name, rows in measured.items()
        }
        base = summary["flask3"]
        for name, row in summary.items():
            row["time_ratio"] = row["seconds"] / base["seconds"]
            row["memory_ratio"] = row["peak_mb"] / max(base["peak_mb"], 1.0)
            table.add(
                n, name, row["seconds"], row["peak_mb"], row["ok"],
                row["time_ratio"], row["memory_ratio"],
            )  # fmt: skip
        results[n] = summary
    print()
    for n, summary in results.items():
        for name in ("05", "08 serve"):
            row = summary[name]
            ok = row["time_ratio"] <= TARGET and row["memory_ratio"] <= TARGET and row["ok"] == n
            print(
                f"target N={n} {name}: time {row['time_ratio']:.2f}x and memory "
                f"{row['memory_ratio']:.2f}x Flask 3's, {row['ok']}/{n} answered 200 "
                f"(<= {TARGET}x, all answered): {common.verdict(ok)}"
            )
    common.write_json(
        args.json, {"environment": common.environment(), "os_cpus": os.cpu_count(), **{
            str(n): summary for n, summary in results.items()
        }}
    )  # fmt: skip


if __name__ == "__main__":
    main()
