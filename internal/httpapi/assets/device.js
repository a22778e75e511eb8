// riskauth device collector: gathers the device descriptor the risk API
// accepts (docs/pages.md, "Device descriptor") and puts it, as JSON, into
// every <input class="device-field"> of the page, so that sign-in and
// registration forms send it with the user's submission. No dependency,
// no build step, no network request of its own. Every field is optional:
// a browser that refuses one (privacy settings, old engines) leaves it
// out, and an exception anywhere leaves the field empty; the server then
// evaluates without it. It never blocks or delays a submission.
(function () {
  "use strict";

  // A stable random id for this browser, kept in localStorage: what lets
  // the engine recognise the same browser on its next visit even when
  // the fingerprint fields change (browser update, new screen).
  function cookieID() {
    try {
      var k = "riskauth_device_id", id = window.localStorage.getItem(k);
      if (!id || !/^[0-9a-f]{32}$/.test(id)) {
        var b = new Uint8Array(16);
        window.crypto.getRandomValues(b);
        id = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
        window.localStorage.setItem(k, id);
      }
      return id;
    } catch (e) { return undefined; } // storage disabled
  }

  // FNV-1a, 32 bit, as 8 hex digits: enough to tell renderings apart,
  // and no crypto.subtle (which needs a secure context and is async).
  function hash(s) {
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return ("0000000" + h.toString(16)).slice(-8);
  }

  function canvasHash() {
    var c = document.createElement("canvas");
    c.width = 220; c.height = 30;
    var x = c.getContext("2d");
    if (!x) { return undefined; }
    x.textBaseline = "top";
    x.font = "14px sans-serif";
    x.fillStyle = "#f60"; x.fillRect(100, 1, 62, 20);
    x.fillStyle = "#069"; x.fillText("riskauth \u2764 device", 2, 15);
    return hash(c.toDataURL());
  }

  function webgl(d) {
    var c = document.createElement("canvas");
    var g = c.getContext("webgl") || c.getContext("experimental-webgl");
    if (!g) { return; }
    var parts = [g.getParameter(g.VERSION), g.getParameter(g.SHADING_LANGUAGE_VERSION), g.getParameter(g.VENDOR),
      g.getParameter(g.MAX_TEXTURE_SIZE), g.getParameter(g.MAX_RENDERBUFFER_SIZE), (g.getSupportedExtensions() || []).join(",")];
    var info = g.getExtension("WEBGL_debug_renderer_info");
    if (info) { d.webgl_renderer = String(g.getParameter(info.UNMASKED_RENDERER_WEBGL)).slice(0, 256); }
    d.webgl_hash = hash(parts.join("|"));
  }

  // attempt runs one probe; a failure costs that field only.
  function attempt(f) { try { f(); } catch (e) { /* the field stays out */ } }

  function collect() {
    var d = {}, n = window.navigator || {}, s = window.screen || {};
    attempt(function () { var id = cookieID(); if (id) { d.cookie_id = id; } });
    attempt(function () { if (n.platform) { d.platform = String(n.platform).slice(0, 128); } });
    attempt(function () {
      var l = n.languages && n.languages.length ? n.languages : (n.language ? [n.language] : []);
      d.languages = Array.prototype.slice.call(l, 0, 8).map(function (x) { return String(x).slice(0, 35); });
    });
    attempt(function () { var z = Intl.DateTimeFormat().resolvedOptions().timeZone; if (z) { d.timezone = z; } });
    attempt(function () {
      if (s.width > 0) { d.screen_width = Math.round(s.width); d.screen_height = Math.round(s.height); }
      if (s.colorDepth > 0) { d.color_depth = s.colorDepth; }
      if (window.devicePixelRatio > 0) { d.pixel_ratio = Math.round(window.devicePixelRatio * 100) / 100; }
    });
    attempt(function () { if (n.hardwareConcurrency > 0) { d.hardware_concurrency = n.hardwareConcurrency; } });
    attempt(function () { if (n.deviceMemory > 0) { d.device_memory = n.deviceMemory; } });
    attempt(function () { if (typeof n.maxTouchPoints === "number") { d.touch_points = n.maxTouchPoints; } });
    attempt(function () { var h = canvasHash(); if (h) { d.canvas_hash = h; } });
    attempt(function () { webgl(d); });
    return d;
  }

  // riskauthDevice is for an app's own pages that load this file: the
  // same descriptor, to send as client.device to /v1/login or as device
  // to /v1/risk/evaluate.
  window.riskauthDevice = collect;

  attempt(function () {
    var fields = document.querySelectorAll("input.device-field");
    if (!fields.length) { return; }
    var json = JSON.stringify(collect());
    for (var i = 0; i < fields.length; i++) { fields[i].value = json; }
  });
})();
