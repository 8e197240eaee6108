#!/usr/bin/env python3
"""cdp-click.py CHROMIUM SVG FRAME - loads SVG in headless Chromium, clicks
the middle of the frame named FRAME with a real (DevTools Input) mouse event
and prints the document's markup afterwards, for tests/e2e/test-flame.c.

Talks the DevTools protocol over --remote-debugging-pipe (fd 3: commands,
fd 4: replies, each a NUL-terminated JSON message), so it needs only the
Python standard library: no websockets. Exits 1 with a message on stderr
on any failure; Chromium is killed on every way out.
"""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

DEADLINE = time.monotonic() + 40


def fail(msg):
    sys.stderr.write("cdp-click: %s\n" % msg)
    sys.exit(1)


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="cdp-click-")
        cmd_r, self.cmd_w = os.pipe()
        self.rep_r, rep_w = os.pipe()

        def fds():  # in the child: commands on fd 3, replies on fd 4
            a, b = os.dup(cmd_r), os.dup(rep_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--user-data-dir=" + self.profile,
             "--remote-debugging-pipe", "--window-size=1200,400", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(rep_w)
        self.buf = b""
        self.n = 0

    def call(self, method, params=None, session=None):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                left = DEADLINE - time.monotonic()
                if left <= 0 or not select.select([self.rep_r], [], [], left)[0]:
                    fail("no reply to %s in time" % method)
                chunk = os.read(self.rep_r, 1 << 16)
                if not chunk:
                    fail("chromium closed the pipe during %s" % method)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.n:
                if "error" in reply:
                    fail("%s: %s" % (method, reply["error"]))
                return reply["result"]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        fail("usage: cdp-click.py CHROMIUM SVG FRAME")
    chromium, svg, frame = sys.argv[1:]
    b = Browser(chromium)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        def js(expr):
            r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, s)
            if "exceptionDetails" in r:
                fail("script error: %s" % r["exceptionDetails"].get("text"))
            return r["result"].get("value")

        b.call("Page.navigate", {"url": "file://" + os.path.abspath(svg)}, s)
        while js("document.readyState") != "complete" or not js(
                "document.documentElement.localName === 'svg'"):
            if time.monotonic() > DEADLINE:
                fail("the SVG did not load")
            time.sleep(0.05)
        # The frame's rectangle on screen, found by its tooltip's first line.
        box = js("""(function (name) {
            var gs = document.querySelectorAll('g.f');
            for (var i = 0; i < gs.length; i++)
                if (gs[i].querySelector('title').textContent.split('\\n')[0] === name) {
                    var r = gs[i].querySelector('rect').getBoundingClientRect();
                    return [r.x + r.width / 2, r.y + r.height / 2];
                }
            return null;
        })(%s)""" % json.dumps(frame))
        if not box:
            fail("no frame named %s" % frame)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            b.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                "button": "left", "clickCount": 1}, s)
        sys.stdout.write(js("document.documentElement.outerHTML") + "\n")
    finally:
        b.close()


if __name__ == "__main__":
    main()
