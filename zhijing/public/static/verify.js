// The offline certificate check (TweetNaCl Ed25519, jsQR): inlined into the self-contained verify page.
(function () {
  "use strict";
  var LABELS = JSON.parse(document.getElementById("labels").textContent);
  function unb64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(s) {
    var out = new Uint8Array(s.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
    return out;
  }
  function today() {
    var d = new Date(), p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
  }
  // the same checks as `zhijing certificate verify`: the bytes against the key, then the validity
  function check(payload, key) {
    var parts = payload.trim().split(".");
    if (parts.length !== 3 || parts[0] !== "ZJC1") return {ok: false, reason: "不是本平台的证明 not a zhijing certificate payload"};
    var body, sig, fields;
    try {
      body = unb64(parts[1]); sig = unb64(parts[2]);
      fields = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(body));
    } catch (e) { return {ok: false, reason: "格式错误 malformed payload"}; }
    var good = key.split(/\s+/).filter(Boolean).some(function (k) {  // the current key or a retired one
      try { return sig.length === 64 && k.length === 64 && nacl.sign.detached.verify(body, sig, hex(k)); } catch (e) { return false; }
    });
    if (!good) return {ok: false, reason: "签名不符：伪造或被改动 signature does not match: forged or altered", fields: fields};
    if (fields.until && fields.until < today()) return {ok: false, reason: "已过有效期 expired on " + fields.until, fields: fields};
    return {ok: true, reason: "签名有效 valid: signed by the platform", fields: fields};
  }
  function show(result) {
    var v = document.getElementById("verdict");
    v.className = result.ok ? "ok" : "bad";
    v.textContent = (result.ok ? "✔ 有效 " : "✘ 无效 ") + result.reason;
    v.dataset.ok = result.ok ? "1" : "0";
    var t = document.getElementById("fields");
    t.innerHTML = "";
    Object.keys(result.fields || {}).forEach(function (k) {
      var tr = t.insertRow(), l = LABELS[k];
      tr.insertCell().textContent = l ? l[0] + " " + l[1] : k;
      tr.insertCell().textContent = String(result.fields[k]);
    });
  }
  function run() { show(check(document.getElementById("payload").value, document.getElementById("public-key").value)); }
  document.getElementById("verify").addEventListener("click", run);
  document.getElementById("photo").addEventListener("change", function (ev) {
    var file = ev.target.files[0];
    if (!file) return;
    var img = new Image();
    img.onload = function () {
      var c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      var ctx = c.getContext("2d");
      ctx.drawImage(img, 0, 0);
      var found = jsQR(ctx.getImageData(0, 0, c.width, c.height).data, c.width, c.height);
      if (!found) { show({ok: false, reason: "照片中未找到二维码 no QR code found in the photo"}); return; }
      document.getElementById("payload").value = found.data;
      run();
    };
    img.src = URL.createObjectURL(file);
  });
})();
