// The download worker (scope `download/`): serves a decrypted file that a page of this app hands it as a
// ReadableStream, as an attachment, so the browser writes the download to disk as it arrives instead of
// the page holding the whole file (web/src/ui/save.ts). It answers nothing else: every other request in its
// scope goes to the network untouched. It never fetches, stores or caches anything.
"use strict";

/** Streams handed over and not yet asked for: id → { stream, name, size, port }. */
const held = new Map();
/** A stream nobody asked for within this time is dropped (the page has given up by then). */
const HOLD_MS = 130_000;

self.addEventListener("install", () => {
  self.skipWaiting();
});


self.addEventListener("message", (event) => {
  const data = event.data;
  const port = event.ports[0];
  if (!port || !data || typeof data.id !== "string" || !/^[0-9a-f]{32}$/.test(data.id) || !(data.stream instanceof ReadableStream)) return;
  const size = Number(data.size);
  held.set(data.id, {
    stream: data.stream,
    name: typeof data.name === "string" ? data.name : "download",
    size: Number.isSafeInteger(size) && size >= 0 ? size : undefined,
    port,
  });
  setTimeout(() => {
    const entry = held.get(data.id);
    if (entry) {
      held.delete(data.id);
      entry.stream.cancel().catch(() => {});
    }
  }, HOLD_MS);
  port.postMessage("held");
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const scope = new URL(self.registration.scope);
  const url = new URL(request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const id = url.pathname.slice(scope.pathname.length);
  const entry = held.get(id);
  if (!entry) return;
  held.delete(id);
  entry.port.postMessage("serving");
  const headers = {
    "Content-Type": "application/octet-stream",
    "Content-Disposition": contentDisposition(entry.name),
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  };
  if (entry.size !== undefined) headers["Content-Length"] = String(entry.size);
  event.respondWith(new Response(entry.stream, { headers }));
});

/** `attachment` with the name as RFC 6266 wants it: an ASCII fallback and the exact UTF-8 name. */
function contentDisposition(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
