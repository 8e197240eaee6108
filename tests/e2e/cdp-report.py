#!/usr/bin/env python3
"""cdp-report.py CHROMIUM HTML [SCREENSHOT.png] - opens an `mtrace-analyze
report` page in headless Chromium and prints one JSON object for
tests/e2e/test-report.c: the console errors and uncaught exceptions, the
totals in the DOM, the flame graph's zoom after a real click on a frame
inside its iframe, and the first rows of the top table before and after a
click on its "calls" header. Uses cdp-click.py's Browser (DevTools over
--remote-debugging-pipe, standard library only).
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
cdp = __import__("cdp-click")


def main():
    if len(sys.argv) not in (3, 4):
        cdp.fail("usage: cdp-report.py CHROMIUM HTML [SCREENSHOT.png]")
    chromium, html = sys.argv[1:3]
    b = cdp.Browser(chromium)
    errors = []
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        b.call("Runtime.enable", {}, s)
        b.call("Log.enable", {}, s)
        b.call("Page.enable", {}, s)
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 2400, "deviceScaleFactor": 1, "mobile": False}, s)

        # Replies to our calls come through Browser.call; events arrive in
        # between and are dropped there, so errors are read from the page too.
        def js(expr, ctx=None):
            p = {"expression": expr, "returnByValue": True}
            if ctx:
                p["contextId"] = ctx
            r = b.call("Runtime.evaluate", p, s)
            if "exceptionDetails" in r:
                cdp.fail("script error: %s" % r["exceptionDetails"])
            return r["result"].get("value")

        # Collect errors from the first script on: a hook installed before load.
        b.call("Page.addScriptToEvaluateOnNewDocument", {"source": """
            window.__errors = [];
            window.addEventListener('error', function (e) {
              window.__errors.push(String(e.message || e.type)); }, true);
            var ce = console.error;
            console.error = function () {
              window.__errors.push(Array.prototype.join.call(arguments, ' '));
              return ce.apply(console, arguments); };"""}, s)
        t0 = time.monotonic()
        b.call("Page.navigate", {"url": "file://" + os.path.abspath(html)}, s)
        while js("document.readyState") != "complete":
            if time.monotonic() > cdp.DEADLINE:
                cdp.fail("the page did not load")
            time.sleep(0.05)
        load_s = time.monotonic() - t0
        out = {"load_s": load_s}
        out["totals"] = js("""(function () {
            var r = {};
            ['alloc_calls', 'alloc_bytes', 'free_calls'].forEach(function (k) {
              var e = document.getElementById(k); r[k] = e ? +e.getAttribute('data-v') : null; });
            return r; })()""")
        out["verdict"] = js("document.getElementById('verdict').textContent")
        out["external"] = js("""Array.prototype.slice.call(document.querySelectorAll(
            '[src],[href]')).map(function (e) { return e.getAttribute('src') ||
            e.getAttribute('href'); }).filter(function (u) {
            return u && !/^data:/.test(u) && u[0] !== '#'; })""")

        # The flame graph: the first iframe's document, through an isolated world.
        tree = b.call("Page.getFrameTree", {}, s)["frameTree"]
        kids = tree.get("childFrames", [])
        if not kids:
            cdp.fail("no flame graph iframe")
        fid = kids[0]["frame"]["id"]
        ctx = None
        while time.monotonic() < cdp.DEADLINE:
            ctx = b.call("Page.createIsolatedWorld", {"frameId": fid}, s)["executionContextId"]
            if js("document.readyState === 'complete' && document.querySelectorAll('g.f').length > 1", ctx):
                break
            time.sleep(0.05)
        frame = js("""(function () {
            var gs = document.querySelectorAll('g.f'), g = gs[gs.length - 1];
            var r = g.querySelector('rect').getBoundingClientRect();
            return {name: g.querySelector('title').textContent.split('\\n')[0],
                    x: r.x + r.width / 2, y: r.y + r.height / 2}; })()""", ctx)
        box = js("""(function () { var r = document.querySelector('iframe.flame')
            .getBoundingClientRect(); return [r.x, r.y]; })()""")
        x, y = box[0] + frame["x"], box[1] + frame["y"]
        js("document.querySelector('iframe.flame').scrollIntoView()")
        box = js("""(function () { var r = document.querySelector('iframe.flame')
            .getBoundingClientRect(); return [r.x, r.y]; })()""")
        x, y = box[0] + frame["x"], box[1] + frame["y"]
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            b.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                "button": "left", "clickCount": 1}, s)
        out["clicked"] = frame["name"]
        out["zoomed"] = js("document.documentElement.getAttributeNS('urn:mtrace:flame', 'zoomed')", ctx)

        # Sort the top table by calls (third column), twice: descending, ascending.
        rows = """Array.prototype.slice.call(document.querySelectorAll('#top tbody tr'))
            .map(function (r) { return +r.cells[2].getAttribute('data-v'); })"""
        out["calls_before"] = js(rows)
        js("document.querySelectorAll('#top th')[2].click()")
        out["calls_desc"] = js(rows)
        js("document.querySelectorAll('#top th')[2].click()")
        out["calls_asc"] = js(rows)
        js("window.scrollTo(0, 0)")
        out["errors"] = js("window.__errors")
        if len(sys.argv) == 4:
            shot = b.call("Page.captureScreenshot", {"format": "png"}, s)
            with open(sys.argv[3], "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        sys.stdout.write(json.dumps(out) + "\n")
    finally:
        b.close()


if __name__ == "__main__":
    main()
