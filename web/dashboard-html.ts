/**
 * The dashboard's HTML and CSS (no external assets: fonts are the system's,
 * charts are SVG drawn by dashboard-charts.ts). Responsive: tables scroll
 * sideways inside their card, the navigation wraps, cards stack on a phone;
 * the page itself never scrolls sideways (tested at 360 px). No inline style
 * anywhere: the Content-Security-Policy allows the stylesheet only.
 */
export const DASHBOARD_CSS = String.raw`
:root{--bg:#f5f6f8;--card:#fff;--fg:#1d2330;--mut:#5d6779;--line:#e6e8ec;--ok:#127a3a;--warn:#9a5b00;--bad:#b3261e;--acc:#2459d6;--c1:#2459d6;--c2:#127a3a;--c3:#c27a00;--c4:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b2029;--fg:#e6e8ec;--mut:#98a2b3;--line:#2a303b;--ok:#3fb96b;--warn:#e0a030;--bad:#f06a5e;--acc:#6d97ff;--c1:#6d97ff;--c2:#3fb96b;--c3:#e0a030;--c4:#f06a5e}}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:var(--bg);color:var(--fg)}
a{color:var(--acc)}
header{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center;background:#1d2330;color:#fff;padding:8px 16px;position:sticky;top:0;z-index:3}
header h1{font-size:16px;margin:0}
header .meta{font-size:12px;color:#c5cad3;margin-left:auto}
#live{display:inline-block;width:8px;height:8px;border-radius:50%;background:#888;margin-right:6px;vertical-align:middle}
#live.on{background:#3fb96b}#live.off{background:#f06a5e}
nav{display:flex;gap:4px;overflow-x:auto;width:100%}
nav a{color:#c5cad3;text-decoration:none;padding:5px 10px;border-radius:6px;white-space:nowrap}
nav a.active{background:#ffffff22;color:#fff}
.badge{display:inline-block;min-width:18px;padding:0 5px;border-radius:9px;background:var(--bad);color:#fff;font-size:11px;text-align:center;margin-left:4px}
#banners>div{padding:8px 16px;color:#fff}
#banners .b-api,#banners .b-config{background:#b3261e}#banners .b-alert{background:#8a4b00}
#banners ul{margin:4px 0 0;padding-left:20px}#banners li{margin:2px 0}
#banners code{color:#fff}
main{padding:10px 16px;max-width:1280px;margin:auto}
section.card{background:var(--card);border-radius:8px;box-shadow:0 1px 2px #0002;margin:12px 0;padding:12px 14px;overflow-x:auto}
section.card h2{font-size:15px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px}
.stat{background:var(--card);border-radius:8px;box-shadow:0 1px 2px #0002;padding:10px 12px;min-width:0}
.stat b{display:block;font-size:22px;font-variant-numeric:tabular-nums}.stat span{color:var(--mut);font-size:12px}
.stat svg.spark{display:block;width:100%;height:30px;margin-top:4px}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;font-size:13px;vertical-align:top}
th{color:var(--mut);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.sp{width:90px;padding-top:3px;padding-bottom:0}td.sp svg{width:90px;height:22px;display:block}
tr.click{cursor:pointer}tr.click:hover{background:#8881}
tr.sel{background:#2459d61a}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
td a,td code,dd a,dd code,#banners li{overflow-wrap:anywhere}
.enabled,.warning,.disabled{white-space:nowrap}
.enabled,.ok,.firing0{color:var(--ok)}.warning,.warn{color:var(--warn)}.disabled,.bad,.firing{color:var(--bad);font-weight:600}.resolved{color:var(--ok)}.inactive{color:var(--mut)}
.controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:8px}
.controls input,.controls select,.controls button,button.link{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg)}
.controls input{width:120px}
button{cursor:pointer}
button.primary{background:var(--acc);color:#fff;border-color:var(--acc)}
.range{display:inline-flex;border:1px solid var(--line);border-radius:6px;overflow:hidden}
.range button{font:inherit;border:0;padding:4px 10px;background:var(--card);color:var(--fg)}
.range button.on{background:var(--acc);color:#fff}
.toolbar{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:center;justify-content:space-between;margin:6px 0}
.toolbar h2{font-size:17px;margin:0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}
.chart{position:relative;min-width:0}
.chart h3{font-size:13px;margin:0 0 4px;font-weight:600}
.chart svg.plot{display:block;width:100%;height:170px;touch-action:pan-y}
.chart .axis{font:10px system-ui,sans-serif;fill:var(--mut)}
.chart .grid line{stroke:var(--line)}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;color:var(--mut);margin-top:2px}
.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
.s1{stroke:var(--c1);background:var(--c1)}.s2{stroke:var(--c2);background:var(--c2)}.s3{stroke:var(--c3);background:var(--c3)}.s4{stroke:var(--c4);background:var(--c4)}
.f1{fill:var(--c1)}.f2{fill:var(--c2)}.f3{fill:var(--c3)}.f4{fill:var(--c4)}
path.line{fill:none;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}
.tip{position:absolute;pointer-events:none;background:#1d2330ee;color:#fff;font-size:12px;padding:5px 7px;border-radius:5px;white-space:nowrap;z-index:2}
.tip.hidden{display:none}.tip i{display:inline-block;width:10px;height:3px;vertical-align:middle}
line.cursor{stroke:var(--mut);stroke-dasharray:3 3}
.muted{color:var(--mut)}
.small{font-size:12px}
pre.detail{white-space:pre-wrap;word-break:break-all;font:12px ui-monospace,Menlo,monospace;margin:0;background:#8881;padding:8px;border-radius:6px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dl.kv dt{color:var(--mut)}dl.kv dd{margin:0;min-width:0}
#topology svg{width:100%;min-width:760px;display:block}
#topology text{font:11px system-ui,sans-serif;fill:var(--fg)}
#topology text.sub{font-size:10px;fill:var(--mut)}
#topology .c4xx{fill:var(--warn)}#topology .c5xx{fill:var(--bad)}
#topology rect.node{fill:#2459d614;stroke:var(--acc)}
.hidden{display:none}
@media (max-width:640px){main{padding:6px}section.card{padding:10px 8px}th,td{padding:4px 5px}.controls input{width:96px}header{padding:8px}header .meta{margin-left:0;width:100%}.opt{display:none}.charts{grid-template-columns:1fr}.grid{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}.stat b{font-size:18px}}
`;

export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gatehouse</title><link rel="icon" href="data:,"><link rel="stylesheet" href="app.css"></head><body>
<header><h1>Gatehouse</h1>
<div class="meta"><span id="live" title="live updates"></span><span id="rev" title="configuration revision in force">revision –</span> · <span id="ver"></span> · <span id="tz"></span></div>
<nav id="nav">
<a href="#overview" data-tab="overview">Overview</a>
<a href="#traffic" data-tab="traffic">Traffic</a>
<a href="#topology" data-tab="topology">Topology</a>
<a href="#tap" data-tab="tap">Tap</a>
<a href="#alerts" data-tab="alerts">Alerts<span id="alert-badge" class="badge hidden">0</span></a>
</nav></header>
<div id="banners"><div id="banner-api" class="b-api hidden"></div><div id="banner-config" class="b-config hidden"></div><div id="banner-alerts" class="b-alert hidden"></div></div>
<main>
<div id="tab-overview" class="tab">
 <div class="toolbar"><h2>Live traffic <span class="muted small" id="ov-note">last minute · user traffic (@internal apart)</span></h2><div class="range" data-range></div></div>
 <div class="grid" id="figures"></div>
 <section class="card"><h2>Over time</h2><div class="charts" id="ov-charts"></div></section>
 <section class="card"><h2>Busiest routers</h2><table id="busy-routers"></table></section>
 <section class="card"><h2>Busiest services</h2><table id="busy-services"></table></section>
 <div class="grid" id="counts"></div>
 <section class="card"><h2>Providers <span class="muted small">where the configuration comes from, and the revision in force</span></h2><table id="providers"></table></section>
 <section class="card"><h2>TLS certificates <span class="muted small">days to expiry, where each comes from, the routers it serves</span></h2><table id="tls-certs"></table></section>
 <section class="card hidden" id="dns-card"><h2>DNS records <span class="muted small">what the gateway publishes for its router hosts</span></h2><p class="small" id="dns-note"></p><table id="dns-records"></table></section>
 <section class="card"><h2>HTTP routers</h2><table id="routers"></table>
  <p><button class="link" id="toggle-internal" type="button"></button></p><table id="routers-internal" class="hidden"></table></section>
 <section class="card"><h2>Services</h2><table id="services"></table></section>
 <section class="card"><h2>Middlewares</h2><table id="middlewares"></table></section>
 <section class="card"><h2>Entry points</h2><table id="entrypoints"></table></section>
</div>
<div id="tab-detail" class="tab hidden">
 <div class="toolbar"><h2 id="detail-title"></h2><div class="range" data-range></div></div>
 <section class="card"><div id="detail-figures" class="grid"></div></section>
 <section class="card"><h2>Over time</h2><div class="charts" id="detail-charts"></div></section>
 <section class="card"><h2>Configuration</h2><div id="detail-config"></div></section>
</div>
<div id="tab-traffic" class="tab hidden">
 <section class="card"><h2>Golden metrics</h2>
  <div class="controls">
   <select id="kind"><option value="routers">routers</option><option value="services">services</option><option value="servers">servers</option><option value="callers">callers</option><option value="entrypoints">entry points</option></select>
   <select id="window"><option>10s</option><option selected>1m</option><option>10m</option><option>1h</option></select>
   <span class="muted">busiest first; click a row for its charts</span>
  </div>
  <table id="stat"></table></section>
 <section class="card"><div class="toolbar"><h2 id="chart-title">Charts</h2><div class="range" data-range></div></div><div class="charts" id="charts"><p class="muted">Select a row above.</p></div></section>
 <section class="card"><h2>Busiest paths</h2><table id="top"></table></section>
</div>
<div id="tab-topology" class="tab hidden">
 <section class="card"><h2>Who talks to whom (last minute)</h2><p class="muted small">Line width: requests per second. Colour: success (not 5xx). Each box shows its 4xx and 5xx apart. Hover for full names and figures.</p><div id="topology"></div><table id="edges"></table></section>
</div>
<div id="tab-tap" class="tab hidden">
 <section class="card"><h2>Live tap</h2>
  <div class="controls">
   <input id="f-router" placeholder="router"><input id="f-service" placeholder="service"><input id="f-caller" placeholder="caller">
   <input id="f-path" placeholder="path prefix"><input id="f-method" placeholder="method"><input id="f-status" placeholder="status (5xx)">
   <button id="tap-toggle" class="primary">Stop</button><span id="tap-state" class="muted"></span>
  </div>
  <table id="tap-table"><thead><tr><th>time</th><th>caller</th><th>method</th><th class="opt">authority</th><th>path</th><th class="n">status</th><th class="n">latency</th><th class="n opt">bytes</th><th class="opt">router</th><th class="opt">service</th><th class="opt">server</th></tr></thead><tbody id="tap-rows"></tbody></table>
 </section>
</div>
<div id="tab-alerts" class="tab hidden">
 <section class="card"><h2>Alerts</h2><table id="alerts"></table></section>
</div>
</main>
<script src="app.js"></script>
</body></html>
`;
