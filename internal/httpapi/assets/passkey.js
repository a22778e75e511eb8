// Passkeys on the hosted pages (pages_passkey.go). Dependency-free, no
// build step; loaded with the page's CSP nonce, no inline handlers.
//
//   - Sign-in (#passkey-form, #passkey-signin): the button, and passkey
//     autofill on the identifier field (conditional mediation: the field
//     has autocomplete="username webauthn"). The ceremony begins at the
//     JSON API (POST /v1/login/passkey/begin, with the flow's id when it
//     is the second factor), and the browser's assertion is posted with
//     the page's own form (step "passkey"), so the page handler lands the
//     sign-in where a password one lands.
//   - Creating a passkey (#passkey-create: the account page and the offer
//     after a sign-in): POST /v1/account/passkeys/begin, then
//     navigator.credentials.create, then POST /v1/account/passkeys; on
//     success the browser goes to the button's data-done.
//   - Every form's hidden passkey_capable field says whether this browser
//     can create passkeys (the server offers one only then).
//
// Where PublicKeyCredential is missing, nothing here shows and the page
// works as without the script.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }
  var body = document.body;

  // base64url <-> ArrayBuffer, for the JSON forms of the options and
  // the credentials.
  function fromB64u(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); }
    return out.buffer;
  }
  function toB64u(buf) {
    if (!buf) { return undefined; }
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    pk.user.id = fromB64u(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
    return {publicKey: pk};
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
    return {publicKey: pk};
  }
  // credentialJSON is PublicKeyCredential.toJSON() where the browser has
  // it, else the same by hand.
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") { return c.toJSON(); }
    var r = c.response, out = {id: c.id, rawId: toB64u(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: {clientDataJSON: toB64u(r.clientDataJSON)}};
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      out.response.userHandle = toB64u(r.userHandle);
    }
    return out;
  }

  // post sends JSON to the API on this origin (the session cookie goes
  // along); it resolves to {ok, status, body}.
  function post(path, payload) {
    if (typeof window.riskauthDevice === "function") {
      try { payload.client = {device: window.riskauthDevice()}; } catch (e) { /* the collector never blocks */ }
    }
    return fetch(path, {method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return {ok: r.ok, status: r.status, body: j}; });
      });
  }
  function errorCode(res) { return res.body && res.body.error ? res.body.error.code : ""; }

  // The status line: its texts come from the catalogue through data-.
  var status = document.getElementById("passkey-status");
  function say(key, linkHref, linkText) {
    if (!status) { return; }
    status.textContent = status.dataset[key] || status.dataset.failed || "";
    if (linkHref) {
      var a = document.createElement("a");
      a.href = linkHref;
      a.textContent = linkText;
      status.appendChild(document.createTextNode(" "));
      status.appendChild(a);
    }
    status.hidden = false;
  }
  // failed shows why a ceremony ended: a cancelled or timed-out dialog
  // (NotAllowedError) is not an error of the user's.
  function failed(err) {
    say(err && err.name === "NotAllowedError" ? "cancelled" : "failed");
  }

  // The capability flag on every form of the page.
  document.querySelectorAll("input.passkey-capable").forEach(function (f) { f.value = "1"; });

  // --- Sign-in: the button, the step-up button, conditional mediation.
  var form = document.getElementById("passkey-form");
  var signin = document.getElementById("passkey-signin");
  if (form && signin) {
    var flow = form.querySelector("input[name=flow]");
    var flowID = flow ? flow.value : "";
    var pending = null; // the conditional request's AbortController
    var submit = function (ceremony, cred) {
      form.querySelector("input[name=ceremony]").value = ceremony;
      form.querySelector("input[name=credential]").value = JSON.stringify(credentialJSON(cred));
      body.dataset.passkey = "submitting";
      form.submit();
    };
    // run begins a ceremony and asks the browser; conditional waits for
    // the user to pick a passkey in the identifier field's autofill.
    var run = function (conditional) {
      var req = {conditional: conditional};
      if (flowID) { req.flow_id = flowID; }
      return post("/v1/login/passkey/begin", req).then(function (res) {
        if (!res.ok) { throw {name: "BeginFailed", code: errorCode(res)}; }
        var opts = requestOptions(res.body.options);
        if (conditional) {
          pending = new AbortController();
          opts.mediation = "conditional";
          opts.signal = pending.signal;
        }
        return navigator.credentials.get(opts).then(function (cred) {
          if (cred) { submit(res.body.ceremony, cred); }
        });
      });
    };
    signin.hidden = false;
    signin.addEventListener("click", function () {
      if (pending) { pending.abort(); pending = null; }
      if (status) { status.hidden = true; }
      signin.disabled = true;
      run(false).catch(function (err) {
        signin.disabled = false;
        failed(err);
      });
    });
    var field = document.querySelector("input[autocomplete~=webauthn]");
    if (!flowID && field && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (!yes) { return; }
        body.dataset.passkeyAutofill = "waiting";
        // An aborted or refused autofill is silent: the user goes on
        // with the form or the button.
        run(true).catch(function () { body.dataset.passkeyAutofill = "ended"; });
      });
    }
  }

  // --- Creating a passkey.
  var create = document.getElementById("passkey-create");
  if (create) {
    var add = document.getElementById("passkey-add");
    var unsupported = document.getElementById("passkey-unsupported");
    var name = document.getElementById("passkey-new-name");
    if (add) { add.hidden = false; }
    if (unsupported) { unsupported.hidden = true; }
    create.hidden = false;
    create.addEventListener("click", function () {
      if (status) { status.hidden = true; }
      create.disabled = true;
      var ceremony;
      post("/v1/account/passkeys/begin", {}).then(function (res) {
        if (!res.ok) { throw {name: "BeginFailed", code: errorCode(res)}; }
        ceremony = res.body.ceremony;
        return navigator.credentials.create(creationOptions(res.body.options));
      }).then(function (cred) {
        return post("/v1/account/passkeys", {ceremony: ceremony, credential: credentialJSON(cred), name: name ? name.value : ""});
      }).then(function (res) {
        if (!res.ok) { throw {name: "FinishFailed", code: errorCode(res)}; }
        window.location.assign(create.dataset.done);
      }).catch(function (err) {
        create.disabled = false;
        if (err && err.code === "reauthentication_required" && status && status.dataset.reauthLink) {
          say("reauth", status.dataset.reauthLink, status.dataset.reauthText);
          return;
        }
        failed(err);
      });
    });
  }
})();
