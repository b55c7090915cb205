/**
 * Builds the chat page with esbuild (React, TanStack Query, the tRPC client) into memory, and the
 * HTML that loads it with the API's WebSocket URL.
 */
import * as path from 'node:path';
import { build } from 'esbuild';

const ENTRY = path.join(__dirname, 'page', 'main.tsx');

/** The bundled page. */
export interface PageBundle {
  /** The JavaScript of the page (ES module). */
  readonly script: string;
  /** The HTML page, pointing the client at `wsUrl`. */
  html(wsUrl: string): string;
}

/** Bundles `page/main.tsx` for browsers (minified, production React). */
export async function bundlePage(): Promise<PageBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const script = result.outputFiles[0].text;
  return { script, html: (wsUrl) => pageHtml(wsUrl) };
}

function pageHtml(wsUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="chat-ws-url" content="${escapeAttribute(wsUrl)}">
<title>Chat · cdk-trpc-subscriptions</title>
<link rel="icon" href="${FAVICON}">
<style>${STYLE}</style>
</head>
<body>
<div id="root"></div>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}

/** An inline icon: the browser then asks for no `/favicon.ico` (a 404 in the console otherwise). */
const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect width='16' height='12' rx='3' fill='#0969da'/><path d='M4 12v4l4-4' fill='#0969da'/></svg>",
)}`;

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

const STYLE = `
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
.chat { display: flex; height: 100vh; }
aside { width: 200px; padding: 16px; background: #24292f; color: #e6edf3; display: flex; flex-direction: column; gap: 8px; }
aside h1 { font-size: 18px; margin: 0 0 8px; }
aside .me { margin: 0; font-size: 13px; color: #9da7b3; }
aside .me b { color: #e6edf3; }
nav { display: flex; flex-direction: column; gap: 2px; margin-top: 8px; }
nav a { color: #c9d1d9; text-decoration: none; padding: 4px 8px; border-radius: 6px; }
nav a.current { background: #0969da; color: #fff; }
.status { margin-top: auto; font-size: 13px; padding: 4px 8px; border-radius: 6px; }
.status::before { content: "\\25CF  "; }
.status.connected { color: #3fb950; }
.status.connecting, .status.reconnecting { color: #d29922; }
main { flex: 1; display: flex; flex-direction: column; padding: 16px 24px; min-width: 0; }
main header { font-weight: 600; font-size: 17px; padding-bottom: 8px; border-bottom: 1px solid #d0d7de; }
.messages-frame { flex: 1; position: relative; min-height: 0; display: flex; }
.messages { list-style: none; margin: 0; padding: 12px 0; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 6px; }
.new-messages { position: absolute; left: 50%; bottom: 8px; transform: translateX(-50%); padding: 4px 12px; border: 0; border-radius: 12px; background: #0969da; color: #fff; font: inherit; font-size: 13px; cursor: pointer; box-shadow: 0 1px 3px #0003; }
.messages li { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 6px 10px; max-width: 70%; }
.messages li.mine { align-self: flex-end; background: #ddf4ff; border-color: #54aeff66; }
.messages .from { font-weight: 600; margin-right: 8px; }
.messages time { color: #656d76; font-size: 12px; margin-left: 8px; }
.members { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; margin: 4px 0; padding: 0; font-size: 12px; }
.members li { padding: 2px 8px; border-radius: 10px; background: #ddf4ff; color: #0969da; }
.typing { min-height: 20px; margin: 4px 0; color: #656d76; font-style: italic; font-size: 13px; }
form { display: flex; gap: 8px; }
form input { flex: 1; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 6px; font: inherit; }
form input[aria-invalid="true"] { border-color: #cf222e; }
form .count { align-self: center; min-width: 80px; text-align: right; color: #656d76; font-size: 12px; }
form .count.over { color: #cf222e; font-weight: 600; }
form .count:empty { display: none; }
form button { padding: 8px 16px; border: 0; border-radius: 6px; background: #1f883d; color: #fff; font: inherit; font-weight: 600; }
form button:disabled { background: #94d3a2; }
.error { color: #cf222e; margin: 6px 0 0; }
`;
