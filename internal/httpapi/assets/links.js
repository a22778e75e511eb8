// The mail-link pages (magic link, email verification, password reset;
// pages.go): loading a page never spends its token, the click POSTs it to
// the JSON API. The texts come from the page (the message catalogue, in
// the page's language) through <div id="texts" data-...>.
(function () {
  "use strict";
  var body = document.body, mode = body.dataset.mode;
  var form = document.getElementById("form"), status = document.getElementById("status");
  var extra = document.getElementById("extra"), extraLabel = document.getElementById("extra-label"), extraInput = document.getElementById("extra-input");
  var texts = document.getElementById("texts").dataset;
  function T(k) { return texts[k.toLowerCase()] || k; }
  var token = new URLSearchParams(window.location.search).get("token") || "";
  history.replaceState(null, "", window.location.pathname);
  // step is the follow-up the answer asked for: a second factor after a
  // magic link, or the password to set after a verification link opened
  // away from the registering browser. base holds what it posts besides
  // the typed value.
  var step = {path: null, field: null, base: null, final: null};
  function say(text, state) { status.textContent = text; body.dataset.state = state; }
  if (!token) { form.hidden = true; say(T("incomplete"), "error"); return; }
  function post(path, payload) {
    return fetch(path, {method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); });
  }
  var second = {
    totp: {path: "/v1/login/totp", field: "code", label: T("labelTotp"), type: "text"},
    recovery_code: {path: "/v1/login/recovery-code", field: "code", label: T("labelRecovery"), type: "text"},
    password: {path: "/v1/login/password", field: "password", label: T("labelPassword"), type: "password"},
    email_code: {path: "/v1/login/email-code/verify", field: "code", label: T("labelEmailCode"), type: "text"}
  };
  function ask(next, label, type, text, state) {
    step = next;
    extraLabel.textContent = label; extraInput.type = type; extraInput.value = "";
    extraInput.autocomplete = type === "password" && next.field === "new_password" ? "new-password" : "one-time-code";
    extra.hidden = false;
    form.querySelector("button").disabled = false;
    say(text, state);
  }
  var deny = document.getElementById("deny");
  function done(r) {
    if (!r.ok) { say(r.body && r.body.error && r.body.error.code === "invalid_token" ? T("invalidToken") : T("failed"), "error"); form.querySelector("button").disabled = false; return; }
    var b = r.body;
    if (mode === "magic" && b.status === "approval_required") {
      // Opened away from the browser that asked: sign nobody in here,
      // say who asked, and let the owner approve or deny it.
      var a = b.approval || {}, who = a.device || T("unknownDevice");
      if (a.location) { who += ", " + a.location; }
      if (a.ip) { who += " (IP " + a.ip + ")"; }
      if (a.requested_at) { who += ", " + new Date(a.requested_at).toLocaleString(document.documentElement.lang); }
      step = {path: "/v1/login/magic-link/approve", field: null, base: {token: token}, final: "approved"};
      form.querySelector("button").textContent = T("approve");
      form.querySelector("button").disabled = false;
      deny.hidden = false;
      say(T("approval").replace("{who}", who), "approval");
      return;
    }
    if (mode === "magic" && b.status === "second_factor_required") {
      var m = null;
      for (var i = 0; i < b.methods.length && !m; i++) { m = second[b.methods[i]] || null; }
      if (!m) { say(T("finishElsewhere"), "error"); return; }
      if (b.methods[0] === "email_code") { post("/v1/login/email-code", {flow_id: b.flow_id}); }
      ask({path: m.path, field: m.field, base: {flow_id: b.flow_id}}, m.label, m.type, T("oneMoreStep"), "second-factor");
      return;
    }
    if (mode === "verify" && b.status === "set_password") {
      ask({path: "/v1/password/reset", field: "new_password", base: {token: b.password_token}, final: "password-set"},
        T("choosePassword"), "password",
        T("confirmedSetPassword"),
        "set-password");
      form.querySelector("button").textContent = T("setPassword");
      return;
    }
    form.hidden = true;
    if (step.final === "password-set") { say(T("passwordSet"), "password-set"); }
    else if (step.final === "approved") { say(T("approved"), "approved"); }
    else if (step.final === "denied") { say(T("denied"), "denied"); }
    else if (mode === "magic") { say(T("signedIn"), "signed-in"); }
    else if (mode === "verify") { say(T("verified"), "verified"); }
    else { say(T("reset"), "reset"); }
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    form.querySelector("button").disabled = true;
    say(T("working"), "busy");
    var p;
    if (step.path) { var pl = {}; for (var k in step.base) { pl[k] = step.base[k]; } if (step.field) { pl[step.field] = extraInput.value; } p = post(step.path, pl); }
    else if (mode === "magic") { p = post("/v1/login/magic-link", {token: token}); }
    else if (mode === "verify") { p = post("/v1/verify-email", {token: token}); }
    else { p = post("/v1/password/reset", {token: token, new_password: extraInput.value}); }
    p.then(done, function () { say(T("unreachable"), "error"); form.querySelector("button").disabled = false; });
  });
  deny.addEventListener("click", function () {
    deny.disabled = true; form.querySelector("button").disabled = true;
    step = {path: null, field: null, base: null, final: "denied"};
    post("/v1/login/magic-link/deny", {token: token}).then(done, function () { say(T("unreachable"), "error"); deny.disabled = false; });
  });
  body.dataset.state = "ready";
})();
