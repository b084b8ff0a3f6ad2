"""Opening report pages in headless Chromium, the way a student or instructor would see them.

Chromium is driven from its command line only (--screenshot, --dump-dom), so the tests need no
browser-automation package. To learn what happened after a page loaded (did each image decode,
does the page fit a phone's width, what text does a reader see), the page is shown, unchanged,
in a phone-sized iframe of a small wrapper page whose script reads the frame's document after the
load event and writes its findings into the wrapper's DOM, which --dump-dom prints. The report
pages forbid scripts in their own Content-Security-Policy; the wrapper is a separate document, so
nothing in the page under test has to be altered or relaxed. (An iframe also gives a true 412 px
layout: Chromium's headless window is never narrower than 500 px, but a frame can be.)
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PHONE = (412, 915)  # CSS pixels of a common phone screen, portrait
RUN_SECONDS = 90  # one Chromium run; a healthy one takes 1-3 s
TALLEST_SCREENSHOT = 16000
# Words up to this many characters must stay on one line: anything narrower than that is a column
# squeezed past reading (longer tokens such as hashes or code may wrap anywhere).
MAX_UNBROKEN_WORD = 16
PROBE_ID = "browser-probe"
INSTALL_HINT = "install it with `apt-get install chromium fonts-dejavu-core` (Debian's package; .ci/run does this)"

# No profile, no sync, no background traffic, overlay-like scrollbars (as on a phone), and every
# host name resolves to nothing: a page that needs the network shows it by failing to load.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

DATA_IMG = re.compile(r"""<img\b[^>]*?\bsrc=["']data:([^;,"']+)(;base64)?,([^"']*)["']""", re.I)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

WRAPPER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>html, body { margin: 0; } iframe { border: 0; display: block; }</style></head>
<body><iframe id="page" src="PAGE_URL" width="WIDTH" height="HEIGHT"></iframe>
<script>
window.addEventListener("load", function () {
  var report;
  try {
    var doc = document.getElementById("page").contentDocument;
    if (!doc || !doc.body) throw new Error("the page did not load in the frame");
    var win = doc.defaultView;
    var each = function (list, f) { return Array.prototype.map.call(list, f); };
    var found = {};
    SELECTORS.forEach(function (selector) {
      found[selector] = each(doc.querySelectorAll(selector), function (el) {
        var box = el.getBoundingClientRect();
        return {text: el.innerText.trim(), className: el.className, data: Object.assign({}, el.dataset),
                visible: box.width > 0 && box.height > 0, right: box.right};
      });
    });
    // Short words the layout broke across lines: a column squeezed narrower than a word is unreadable.
    // ("Words" end at spaces, hyphens and dashes, where any browser may break a line.)
    var broken = [];
    var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node && broken.length < 50; node = walker.nextNode()) {
      var pattern = /[^\\s\\u2010-\\u2014-]+/g, word;  // a hyphen or dash is a fair place to break
      while ((word = pattern.exec(node.data)) !== null) {
        if (word[0].length > MAX_WORD) continue;
        var range = doc.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        var tops = {};
        Array.prototype.forEach.call(range.getClientRects(), function (r) {
          if (r.width > 0) tops[Math.round(r.top)] = 1;
        });
        if (Object.keys(tops).length > 1) {
          var parent = node.parentElement, name = parent.tagName.toLowerCase();
          broken.push(word[0] + " (in <" + name + (parent.className ? " class=" + parent.className : "") + ">)");
        }
      }
    }
    report = {
      brokenWords: broken,
      dom: doc.documentElement.outerHTML, title: doc.title, text: doc.body.innerText,
      headings: each(doc.querySelectorAll("h1, h2, h3"), function (h) {
        return {level: +h.tagName.slice(1), text: h.innerText.trim()};
      }),
      images: each(doc.images, function (img) {
        var box = img.getBoundingClientRect();
        return {src: img.getAttribute("src").slice(0, 40), alt: img.alt, complete: img.complete,
                naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                width: box.width, height: box.height, top: box.top, left: box.left, right: box.right};
      }),
      found: found, viewportWidth: doc.documentElement.clientWidth, scrollWidth: doc.documentElement.scrollWidth,
      scrollHeight: doc.documentElement.scrollHeight,
      fetched: each(win.performance.getEntriesByType("resource"), function (e) { return e.name.slice(0, 80); })
    };
  } catch (error) {
    report = {error: String(error)};
  }
  var out = document.createElement("script");
  out.type = "application/json";
  out.id = "PROBE_ID";
  out.textContent = JSON.stringify(report).replace(/</g, "\\\\u003c");
  document.body.appendChild(out);
});
</script></body></html>
"""


class BrowserError(RuntimeError):
    """Chromium did not produce what was asked of it."""


@dataclass
class Rendering:
    """What the probe saw in the page once it had loaded in a phone-sized frame."""

    dom: str  # the page's documentElement.outerHTML after load
    title: str
    text: str  # document.body.innerText: the text a reader sees, as laid out
    headings: list[dict]  # {level, text} of every h1-h3, in order
    images: list[dict]  # {src (start), alt, complete, naturalWidth, naturalHeight, width, height, top, left, right}
    found: dict[str, list[dict]]  # per selector asked for: {text, className, data, visible, right}
    viewport_width: int
    scroll_width: int
    scroll_height: int
    fetched: list[str]  # resources the page fetched (data: images are not listed)
    broken_words: list[str]  # short words the layout split across two lines, with their element

    def heading_texts(self, level: int | None = None) -> list[str]:
        return [h["text"] for h in self.headings if level is None or h["level"] == level]


def find_chromium() -> str | None:
    """Path of Debian's Chromium (CHROMIUM overrides), or None when it is not installed."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(chromium: str, url: str, *args: str, timeout: float = RUN_SECONDS) -> str:
    """Run one headless Chromium on `url` with a fresh profile; its stdout. Killed whole on timeout."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args, url]
        env = dict(os.environ, HOME=profile)  # keeps crash and font caches out of the real home
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: Chromium and its helpers only
            process.communicate()
            raise BrowserError(f"chromium took longer than {timeout:g} s on {url}") from None
        if process.returncode != 0:
            tail = "\n".join(err.strip().splitlines()[-15:])
            raise BrowserError(f"chromium exited with status {process.returncode} on {url}:\n{tail}")
        return out


def screenshot(chromium: str, page: Path, target: Path, size: tuple[int, int] = PHONE) -> Path:
    """A PNG of the page as shown in a window of `size` CSS pixels (only what fits in the window)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    run_chromium(
        chromium, Path(page).resolve().as_uri(), f"--screenshot={target}", f"--window-size={size[0]},{size[1]}"
    )
    if not target.is_file() or target.stat().st_size == 0:
        raise BrowserError(f"chromium wrote no screenshot of {page} to {target}")
    return target


def full_page_screenshot(chromium: str, page: Path, target: Path, rendering: Rendering, width: int = PHONE[0]) -> Path:
    """The whole page at a phone's width: a window as tall as the page (capped)."""
    height = max(PHONE[1], min(rendering.scroll_height, TALLEST_SCREENSHOT))
    return screenshot(chromium, page, target, (width, height))


def dump_dom(chromium: str, page: Path, *args: str) -> str:
    """The DOM after the load event, serialised, as Chromium's --dump-dom prints it."""
    return run_chromium(chromium, Path(page).resolve().as_uri(), "--dump-dom", *args)


def wrapper_html(page: Path, selectors: tuple[str, ...] = (), size: tuple[int, int] = PHONE) -> str:
    """The probing page: `page` in a frame of `size`, read by a script once everything has loaded."""
    return (
        WRAPPER.replace("PAGE_URL", html.escape(Path(page).resolve().as_uri()))
        .replace("WIDTH", str(size[0]))
        .replace("HEIGHT", str(size[1]))
        .replace("SELECTORS", json.dumps(list(selectors)))
        .replace("PROBE_ID", PROBE_ID)
        .replace("MAX_WORD", str(MAX_UNBROKEN_WORD))
    )


def render(chromium: str, page: Path, selectors: tuple[str, ...] = (), size: tuple[int, int] = PHONE) -> Rendering:
    """Load `page` in a phone-sized frame and return what the probe saw after the load event."""
    if not Path(page).is_file():
        raise BrowserError(f"there is no page to open at {page}")
    with tempfile.TemporaryDirectory(prefix="page-probe-") as folder:
        wrapper = Path(folder) / "probe.html"
        wrapper.write_text(wrapper_html(page, tuple(selectors), size), encoding="utf-8")
        # Only the wrapper, our own script, reads the framed file; the page itself runs no script.
        dom = dump_dom(chromium, wrapper, "--allow-file-access-from-files")
    match = re.search(rf'<script type="application/json" id="{PROBE_ID}">(.*?)</script>', dom, re.S)
    if match is None:
        raise BrowserError(f"the probe left no result after loading {page}: the load event never came")
    seen = json.loads(match.group(1))
    if "error" in seen:
        raise BrowserError(f"the probe could not read {page}: {seen['error']}")
    return Rendering(
        dom=seen["dom"],
        title=seen["title"],
        text=seen["text"],
        headings=seen["headings"],
        images=seen["images"],
        found=seen["found"],
        viewport_width=seen["viewportWidth"],
        scroll_width=seen["scrollWidth"],
        scroll_height=seen["scrollHeight"],
        fetched=seen["fetched"],
        broken_words=seen["brokenWords"],
    )


def data_uri_images(page_html: str) -> list[tuple[str, bytes]]:
    """(media type, bytes) of every <img> whose src is a data: URI, decoded as the browser would."""
    images = []
    for media_type, is_base64, payload in DATA_IMG.findall(page_html):
        payload = html.unescape(payload)
        if is_base64:
            raw = base64.b64decode("".join(payload.split()), validate=True)
        else:
            from urllib.parse import unquote_to_bytes

            raw = unquote_to_bytes(payload)
        images.append((media_type.lower(), raw))
    return images


def png_size(raw: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after Pillow has decoded every pixel of it (raises when broken)."""
    from PIL import Image

    if not raw.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG: the signature is missing")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG":
                raise ValueError(f"Pillow reads it as {image.format}, not PNG")
            image.load()
            return image.size
    except (OSError, SyntaxError) as error:  # Pillow's ways of saying the file is broken
        raise ValueError(f"not a valid PNG: {error}") from error


@dataclass
class Ink:
    """How much of a screenshot is something other than its background."""

    size: tuple[int, int]
    background: tuple[int, int, int]
    distinct_colours: int
    foreground_fraction: float  # pixels that differ clearly from the background colour

    def __str__(self) -> str:
        return (
            f"{self.size[0]}x{self.size[1]} px, background {self.background}, {self.distinct_colours} colours, "
            f"{100 * self.foreground_fraction:.1f}% non-background"
        )


def ink(png: Path, tolerance: int = 24) -> Ink:
    """Measure a screenshot: its commonest colour is the background, the rest is what was drawn."""
    from PIL import Image, ImageChops

    with Image.open(png) as opened:
        image = opened.convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    count, background = max(colours)
    plain = Image.new("RGB", image.size, background)
    distance = ImageChops.difference(image, plain).convert("L")
    histogram = distance.histogram()
    drawn = sum(histogram[tolerance + 1 :])
    return Ink(
        size=image.size,
        background=background,
        distinct_colours=len(colours),
        foreground_fraction=drawn / (image.width * image.height),
    )
