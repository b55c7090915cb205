/** The console page's HTML and style; its script is `page/main.ts`, bundled into `page-script.generated.ts`. */

/** The page. */
export function consolePageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Realtime console · cdk-trpc-subscriptions</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>Realtime console</h1>
  <span class="muted">cdk-trpc-subscriptions</span>
  <span class="counts"><b id="connection-count">0</b> connections · <b id="subscription-count">0</b> subscriptions</span>
  <span id="status" class="status">connecting…</span>
</header>
<p id="no-app" class="warning" hidden>The \`$default\` handler carries no description of its app (is it wrapped?): the console shows the traffic but cannot publish or act.</p>
<main>
  <div class="column">
    <section class="panel">
      <h2>Connections <button id="reconnect-all" type="button" data-testid="reconnect-all">Reconnect all</button></h2>
      <p id="connections-result" class="action-result" data-testid="connections-result"></p>
      <div id="connections"></div>
    </section>
    <section class="panel">
      <h2>Subscriptions by route</h2>
      <div id="routes"></div>
    </section>
  </div>
  <div class="column">
    <section class="panel">
      <h2>Publish a test event</h2>
      <div id="publish"></div>
    </section>
    <section id="queue-panel" class="panel" hidden>
      <h2>Fan-out queue and worker</h2>
      <div id="queue"></div>
    </section>
    <section class="panel grow">
      <h2>Live stream</h2>
      <ol id="stream" class="stream" data-testid="stream"></ol>
    </section>
  </div>
</main>
<script src="/_console/app.js" defer></script>
</body>
</html>
`;
}

const STYLE = `
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; }
code, textarea, input, select { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
header.top { display: flex; align-items: baseline; gap: 12px; padding: 10px 20px; background: #24292f; color: #e6edf3; }
header.top h1 { font-size: 17px; margin: 0; }
header.top .muted { color: #9da7b3; }
header.top .counts { margin-left: auto; color: #c9d1d9; }
.status::before { content: "\\25CF  "; }
.status.live { color: #3fb950; }
.status.down { color: #d29922; }
.warning { margin: 12px 20px 0; padding: 8px 12px; background: #fff8c5; border: 1px solid #d4a72c66; border-radius: 6px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; padding: 16px 20px; }
.column { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
.panel { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; }
.panel h2 { font-size: 14px; margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
.panel h2 button { margin-left: auto; }
.empty, .muted { color: #656d76; }
button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; color: #1f2328; cursor: pointer; }
button:hover { background: #eaeef2; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; font-weight: 600; }
button.danger { color: #cf222e; }
.connection { border-top: 1px solid #d8dee4; padding: 8px 0; }
.connection:first-child { border-top: 0; padding-top: 0; }
.connection header { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.connection header code { font-weight: 600; }
.connection .actions { margin-left: auto; display: flex; gap: 4px; }
.key { background: #ddf4ff; color: #0550ae; border-radius: 10px; padding: 0 8px; font-size: 12px; }
.age { color: #656d76; }
.ctx { margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 12px; }
.ctx i { color: #656d76; font-style: normal; }
.refusal { color: #cf222e; margin: 4px 0; }
ul { list-style: none; margin: 0; padding: 0; }
.subscriptions li, .route-group li { padding: 2px 0; display: flex; align-items: center; flex-wrap: wrap; gap: 4px; }
button.route { border: 0; background: none; padding: 0; color: #0969da; font-weight: 600; }
.input { color: #57606a; }
.chip { background: #f6f8fa; border-radius: 10px; padding: 0 8px; }
.chip b { color: #8250df; font-weight: 600; }
.route-group h3 { font-size: 13px; margin: 6px 0 2px; display: flex; align-items: center; gap: 6px; }
.count { background: #eaeef2; border-radius: 10px; padding: 0 7px; font-size: 12px; }
.tag { border: 1px solid #d0d7de; border-radius: 10px; padding: 0 6px; font-size: 11px; color: #57606a; font-weight: normal; }
form.publish .row { display: grid; grid-template-columns: 110px minmax(0, 1fr); align-items: center; gap: 8px; margin: 4px 0; }
form.publish .row.top { align-items: start; }
form.publish .row > span { color: #57606a; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
form.publish select, form.publish input, form.publish textarea { width: 100%; padding: 4px 6px; border: 1px solid #d0d7de; border-radius: 6px; background: #fff; }
form.publish .buttons { display: flex; gap: 8px; margin: 8px 0 0 118px; }
form.publish button { padding: 4px 12px; }
.action-result { margin: 6px 0 0; min-height: 1em; }
.action-result:empty { display: none; }
.action-result.ok { color: #1a7f37; }
.action-result.error { color: #cf222e; white-space: pre-wrap; }
.stream { margin: 0; padding: 0; list-style: none; }
.entry { border-top: 1px solid #d8dee4; padding: 6px 0; }
.entry:first-child { border-top: 0; }
.entry .line { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.entry time, .messages time { color: #656d76; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.kind { border-radius: 4px; padding: 0 6px; font-size: 11px; font-weight: 600; text-transform: uppercase; background: #eaeef2; }
.kind.publish { background: #ddf4ff; color: #0550ae; }
.kind.stop, .kind.error, .kind.disconnect { background: #ffebe9; color: #a40e26; }
.kind.reconnect { background: #fff8c5; color: #7d4e00; }
.result { color: #57606a; margin-left: auto; }
.detail { display: block; margin: 2px 0; color: #24292f; word-break: break-all; }
.targets { display: flex; flex-wrap: wrap; gap: 4px 10px; }
.target .outcome { font-weight: 600; }
.target.delivered .outcome { color: #1a7f37; }
.target.gone .outcome { color: #656d76; }
.target.throttled .outcome { color: #9a6700; }
.target.failed .outcome { color: #cf222e; }
.stats { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0 0 6px; }
.messages li { display: flex; gap: 8px; align-items: baseline; padding: 1px 0; }
.state { font-size: 12px; }
.state.dead-lettered, .state.retrying { color: #cf222e; }
.state.done { color: #1a7f37; }
`;
