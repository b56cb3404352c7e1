// The citizens' site: identity (verification service + one-time code), certificates, requests, lost and found, traffic.
(function () {
  "use strict";
  var KEY = "zhijing-gov-session";
  var KINDS = {no_record: "无犯罪记录证明", hukou: "户籍证明", lost: "失物登记 lost", found: "拾物登记 found"};
  var $ = function (id) { return document.getElementById(id); };

  function say(id, text, ok) { var el = $(id); el.textContent = text; el.className = "msg " + (ok ? "ok" : "bad"); }

  function call(method, path, body, raw) {
    var headers = {"Content-Type": "application/json"};
    var session = sessionStorage.getItem(KEY);
    if (session) headers["X-Gov-Session"] = session;
    return fetch(path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined}).then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (j) {
        throw new Error((j && j.detail ? (typeof j.detail === "string" ? j.detail : "请检查输入 check your input") : "HTTP " + r.status));
      });
      return raw ? r.blob() : r.json();
    });
  }

  var challenge = null;
  $("id-send").addEventListener("click", function () {
    call("POST", "/api/gov/identity", {name: $("id-name").value.trim(), citizen_id: $("id-cid").value.trim(), phone: $("id-phone").value.trim()})
      .then(function (j) {
        challenge = j.challenge;
        $("code-step").hidden = false;
        $("sms-note").textContent = "验证码已发送至 " + j.sent_to + (j.simulated_code ? "（模拟短信 simulated SMS: " + j.simulated_code + "）" : "") + " · code sent";
        say("id-msg", "", true);
      })
      .catch(function (e) { say("id-msg", "身份未能核验 " + e.message, false); });
  });
  $("id-confirm").addEventListener("click", function () {
    call("POST", "/api/gov/identity/confirm", {challenge: challenge, code: $("id-code").value.trim()})
      .then(function (j) { sessionStorage.setItem(KEY, j.session); sessionStorage.setItem(KEY + "-who", j.name + " " + j.citizen_id); signedIn(); })
      .catch(function (e) { say("id-msg", "验证码错误或已过期 " + e.message, false); });
  });

  function signedIn() {
    $("identity").hidden = true;
    $("services").hidden = false;
    $("who").textContent = sessionStorage.getItem(KEY + "-who") || "";
    loadRequests();
    call("GET", "/api/gov/stations").then(function (j) {
      $("lf-station").innerHTML = "";
      j.stations.forEach(function (s) { var o = document.createElement("option"); o.value = s.code; o.textContent = s.name; $("lf-station").appendChild(o); });
    });
  }

  function download(no) {
    call("GET", "/api/gov/certificates/" + no + ".pdf", null, true).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = no + ".pdf";
      document.body.appendChild(a); a.click(); a.remove();
    }).catch(function (e) { say("svc-msg", e.message, false); });
  }

  function loadRequests() {
    call("GET", "/api/gov/requests").then(function (j) {
      var body = $("req-list").tBodies[0];
      body.innerHTML = "";
      if (!j.requests.length) { body.insertRow().insertCell().textContent = "暂无申请 no requests yet"; return; }
      j.requests.forEach(function (r) {
        var tr = body.insertRow();
        tr.dataset.status = r.status;
        [r.id, KINDS[r.kind] || r.kind, r.shown, (r.created_at || "").replace("T", " ").slice(0, 16)].forEach(function (v) { tr.insertCell().textContent = v; });
        var cell = tr.insertCell();
        if (r.certificate) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "pdf"; b.textContent = "下载 PDF " + r.certificate;
          b.addEventListener("click", function () { download(r.certificate); });
          cell.appendChild(b);
        }
      });
    }).catch(function (e) { sessionExpired(e); });
  }

  function sessionExpired(e) {
    if (/session|identity/.test(e.message)) { sessionStorage.removeItem(KEY); $("identity").hidden = false; $("services").hidden = true; say("id-msg", "请重新核验身份 " + e.message, false); }
  }

  function certificate(kind) {
    call("POST", "/api/gov/certificates", {kind: kind}).then(function (j) {
      say("svc-msg", j.status === "issued" ? "证明已出具 issued: " + j.certificate : "已提交，需派出所审核 submitted: your station will review it", true);
      loadRequests();
    }).catch(function (e) { say("svc-msg", e.message, false); sessionExpired(e); });
  }
  $("svc-no-record").addEventListener("click", function () { certificate("no_record"); });
  $("svc-hukou").addEventListener("click", function () { certificate("hukou"); });

  $("lf-go").addEventListener("click", function () {
    call("POST", "/api/gov/lost-found", {kind: $("lf-kind").value, station: $("lf-station").value, item: $("lf-item").value.trim(),
      place: $("lf-place").value.trim(), when: $("lf-when").value.trim(), description: $("lf-desc").value.trim(), phone: $("lf-phone").value.trim()})
      .then(function (j) { say("lf-msg", "已受理，编号 " + j.id + " · received", true); loadRequests(); })
      .catch(function (e) { say("lf-msg", e.message, false); sessionExpired(e); });
  });

  $("tr-go").addEventListener("click", function () {
    var out = $("tr-result");
    call("POST", "/api/gov/traffic", {plate: $("tr-plate").value.trim(), engine: $("tr-engine").value.trim()}).then(function (j) {
      out.innerHTML = "";
      var h = document.createElement("p");
      h.textContent = j.vehicle.plate + " " + (j.vehicle.brand || "") + " · 违法 " + j.violations.length + " 条 violations · 事故 " + j.accidents.length + " 起 accidents";
      out.appendChild(h);
      if (!j.violations.length) { var none = document.createElement("p"); none.textContent = "无违法记录 no violations on record"; out.appendChild(none); }
      var t = document.createElement("table");
      j.violations.forEach(function (v) {
        var tr = t.insertRow();
        [(v.time || "").replace("T", " ").slice(0, 16), v.place, v.kind, v.speed_kmh + " / " + v.limit_kmh + " km/h (+" + v.over_pct + "%)"].forEach(function (x) { tr.insertCell().textContent = x; });
      });
      out.appendChild(t);
    }).catch(function (e) { out.textContent = "未查到 " + e.message; });
  });

  $("logout").addEventListener("click", function () {
    call("POST", "/api/gov/logout").catch(function () { /* ended either way */ }).then(function () {
      sessionStorage.removeItem(KEY); sessionStorage.removeItem(KEY + "-who");
      $("identity").hidden = false; $("services").hidden = true; $("code-step").hidden = true; say("id-msg", "已退出 signed out", true);
    });
  });

  if (sessionStorage.getItem(KEY)) signedIn();
})();
