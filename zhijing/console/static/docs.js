/* API documentation (Swagger UI, vendored): the description needs a login, so it is fetched
   with the console's token, and every "try it out" request carries the token too. */
"use strict";
(async () => {
  const root = document.getElementById("swagger-ui");
  if (!zjSession.signedIn()) { location.href = "/login?next=/docs"; return; }
  const res = await fetch("/openapi.json", { headers: { Authorization: "Bearer " + await zjSession.token() } });
  if (res.status === 401) { zjSession.clear(); location.href = "/login?next=/docs"; return; }
  if (!res.ok || !window.SwaggerUIBundle) {
    root.textContent = res.ok ? "Swagger UI 未安装：请运行 make setup" : `API 文档不可用 (${res.status})`;
    return;
  }
  window.SwaggerUIBundle({
    spec: await res.json(), dom_id: "#swagger-ui", deepLinking: true,
    requestInterceptor: async (req) => { req.headers.Authorization = "Bearer " + await zjSession.token(); return req; },
  });
})();
