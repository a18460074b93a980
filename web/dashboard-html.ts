/**
 * The dashboard's HTML and CSS (no external assets: fonts are the system's,
 * charts are SVG drawn by dashboard-script.ts). Responsive: tables scroll
 * sideways, the navigation wraps, cards stack on a phone.
 */
export const DASHBOARD_CSS = String.raw`
:root{--bg:#f5f6f8;--card:#fff;--fg:#1d2330;--mut:#667085;--line:#e6e8ec;--ok:#127a3a;--warn:#a66900;--bad:#b3261e;--acc:#2459d6}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b2029;--fg:#e6e8ec;--mut:#98a2b3;--line:#2a303b;--ok:#3fb96b;--warn:#e0a030;--bad:#f06a5e;--acc:#6d97ff}}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;background:#1d2330;color:#fff;padding:10px 16px;position:sticky;top:0;z-index:2}
header h1{font-size:16px;margin:0}
header .meta{font-size:12px;color:#c5cad3;margin-left:auto}
#live{display:inline-block;width:8px;height:8px;border-radius:50%;background:#888;margin-right:6px;vertical-align:middle}
#live.on{background:#3fb96b}#live.off{background:#f06a5e}
nav{display:flex;gap:4px;overflow-x:auto;width:100%}
nav a{color:#c5cad3;text-decoration:none;padding:6px 10px;border-radius:6px;white-space:nowrap}
nav a.active{background:#ffffff22;color:#fff}
.badge{display:inline-block;min-width:18px;padding:0 5px;border-radius:9px;background:var(--bad);color:#fff;font-size:11px;text-align:center;margin-left:4px}
main{padding:12px 16px;max-width:1280px;margin:auto}
section.card{background:var(--card);border-radius:8px;box-shadow:0 1px 2px #0002;margin:12px 0;padding:12px 14px;overflow-x:auto}
section.card h2{font-size:15px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.stat{background:var(--card);border-radius:8px;box-shadow:0 1px 2px #0002;padding:12px}
.stat b{display:block;font-size:22px}.stat span{color:var(--mut);font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;font-size:13px;vertical-align:top}
th{color:var(--mut);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.click{cursor:pointer}tr.click:hover{background:#8881}
tr.sel{background:#2459d61a}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.enabled,.ok,.firing0{color:var(--ok)}.warning,.warn{color:var(--warn)}.disabled,.bad,.firing{color:var(--bad);font-weight:600}.resolved{color:var(--ok)}.inactive{color:var(--mut)}
.controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:8px}
.controls input,.controls select,.controls button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg)}
.controls input{width:120px}
button.primary{background:var(--acc);color:#fff;border-color:var(--acc)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.chart h3{font-size:12px;color:var(--mut);margin:0 0 4px;font-weight:600}
.chart svg{width:100%;height:110px;display:block;background:#8881;border-radius:4px}
.muted{color:var(--mut)}
#banner{display:none;background:var(--bad);color:#fff;padding:8px 16px}
pre.detail{white-space:pre-wrap;word-break:break-all;font:12px ui-monospace,Menlo,monospace;margin:0;background:#8881;padding:8px;border-radius:6px}
#topology svg{width:100%;min-width:640px;display:block}
#topology text{font:11px system-ui,sans-serif;fill:var(--fg)}
.hidden{display:none}
@media (max-width:640px){main{padding:8px}th,td{padding:4px 5px}.controls input{width:96px}header .meta{margin-left:0;width:100%}}
`;

export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gatehouse</title><link rel="icon" href="data:,"><link rel="stylesheet" href="app.css"></head><body>
<header><h1>Gatehouse</h1>
<div class="meta"><span id="live" title="live updates"></span><span id="rev">revision –</span> · <span id="ver"></span></div>
<nav id="nav">
<a href="#overview" data-tab="overview">Overview</a>
<a href="#traffic" data-tab="traffic">Traffic</a>
<a href="#topology" data-tab="topology">Topology</a>
<a href="#tap" data-tab="tap">Tap</a>
<a href="#alerts" data-tab="alerts">Alerts<span id="alert-badge" class="badge hidden">0</span></a>
</nav></header>
<div id="banner"></div>
<main>
<div id="tab-overview" class="tab">
 <div class="grid" id="counts"></div>
 <section class="card"><h2>Entry points</h2><table id="entrypoints"></table></section>
 <section class="card"><h2>HTTP routers</h2><table id="routers"></table></section>
 <section class="card"><h2>Services</h2><table id="services"></table></section>
 <section class="card"><h2>Middlewares</h2><table id="middlewares"></table></section>
 <section class="card" id="errors-card"><h2>Configuration errors</h2><div id="errors"></div></section>
</div>
<div id="tab-traffic" class="tab hidden">
 <section class="card"><h2>Golden metrics</h2>
  <div class="controls">
   <select id="kind"><option value="routers">routers</option><option value="services">services</option><option value="servers">servers</option><option value="callers">callers</option><option value="entrypoints">entry points</option></select>
   <select id="window"><option>10s</option><option selected>1m</option><option>10m</option><option>1h</option></select>
   <span class="muted">click a row for its last hour</span>
  </div>
  <table id="stat"></table></section>
 <section class="card"><h2 id="chart-title">Last hour</h2><div class="charts" id="charts"><p class="muted">Select a row above.</p></div></section>
 <section class="card"><h2>Busiest paths</h2><table id="top"></table></section>
</div>
<div id="tab-topology" class="tab hidden">
 <section class="card"><h2>Who talks to whom (last minute)</h2><div id="topology"></div><table id="edges"></table></section>
</div>
<div id="tab-tap" class="tab hidden">
 <section class="card"><h2>Live tap</h2>
  <div class="controls">
   <input id="f-router" placeholder="router"><input id="f-service" placeholder="service"><input id="f-caller" placeholder="caller">
   <input id="f-path" placeholder="path prefix"><input id="f-method" placeholder="method"><input id="f-status" placeholder="status (5xx)">
   <button id="tap-toggle" class="primary">Stop</button><span id="tap-state" class="muted"></span>
  </div>
  <table id="tap-table"><thead><tr><th>time</th><th>caller</th><th>method</th><th>authority</th><th>path</th><th class="n">status</th><th class="n">latency</th><th class="n">bytes</th><th>router</th><th>service</th><th>server</th></tr></thead><tbody id="tap-rows"></tbody></table>
 </section>
</div>
<div id="tab-alerts" class="tab hidden">
 <section class="card"><h2>Alerts</h2><table id="alerts"></table></section>
</div>
</main>
<script src="app.js"></script>
</body></html>
`;
