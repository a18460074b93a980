/**
 * The dashboard's browser script (plain modern JS, no dependency). Every URL
 * is relative to the page (`../api/...`), so the dashboard also works when the
 * API is routed under a prefix. Only the visible tab is polled; the tap is an
 * EventSource open while its tab is shown.
 */
export const DASHBOARD_JS = String.raw`
'use strict';
(function () {
var API = '../api/';
var $ = function (id) { return document.getElementById(id); };
var esc = function (s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; }); };
var tab = 'overview';
var selected = null;
var timers = [];
var tapSource = null;
var tapRows = [];
var tapOpen = {};
var MAX_TAP_ROWS = 200;

function get(path) {
  var ctrl = new AbortController();
  var t = setTimeout(function () { ctrl.abort(); }, 8000);
  return fetch(API + path, { signal: ctrl.signal, headers: { accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
    clearTimeout(t);
    if (!r.ok) return r.text().then(function (b) { throw new Error(path + ': ' + r.status + ' ' + b.slice(0, 200)); });
    return r.json();
  }, function (e) { clearTimeout(t); throw e; });
}
function banner(msg) {
  var b = $('banner');
  b.textContent = msg || '';
  b.style.display = msg ? 'block' : 'none';
  $('live').className = msg ? 'off' : 'on';
}
function fmtMs(ms) {
  if (ms == null) return '–';
  if (ms < 1) return Math.round(ms * 1000) + 'µs';
  if (ms < 10000) return (ms < 10 ? (Math.round(ms * 10) / 10) : Math.round(ms)) + 'ms';
  return (ms / 1000).toFixed(1) + 's';
}
function fmtRps(r) { return (r < 10 ? r.toFixed(2) : r.toFixed(1)) + ' rps'; }
function fmtPct(s) { return s == null ? '–' : (s * 100).toFixed(2) + '%'; }
function pctClass(s) { return s == null ? 'muted' : s >= 0.99 ? 'ok' : s >= 0.95 ? 'warn' : 'bad'; }
function table(el, head, rows, opts) {
  opts = opts || {};
  var h = '<thead><tr>' + head.map(function (c) { return '<th' + (c.charAt(0) === '#' ? ' class="n">' + esc(c.slice(1)) : '>' + esc(c)) + '</th>'; }).join('') + '</tr></thead><tbody>';
  if (rows.length === 0) h += '<tr><td colspan="' + head.length + '" class="muted">' + esc(opts.empty || 'Nothing yet.') + '</td></tr>';
  rows.forEach(function (r, i) {
    var attrs = opts.rowAttrs ? opts.rowAttrs(i) : '';
    h += '<tr' + attrs + '>' + r.map(function (c, j) { return '<td' + (head[j].charAt(0) === '#' ? ' class="n"' : '') + '>' + c + '</td>'; }).join('') + '</tr>';
  });
  el.innerHTML = h + '</tbody>';
}
function status(s) { return '<span class="' + esc(s) + '">' + esc(s) + '</span>'; }
function errs(e) { return e && e.length ? '<span class="bad">' + esc(e.join('; ')) + '</span>' : ''; }

// ---- overview
function loadOverview() {
  return Promise.all([get('overview'), get('entrypoints'), get('http/routers?per_page=1000'), get('http/services?per_page=1000'), get('http/middlewares?per_page=1000')]).then(function (a) {
    var ov = a[0], eps = a[1], routers = a[2], services = a[3], mws = a[4];
    $('rev').textContent = 'revision ' + ov.revision;
    var card = function (label, c) { return '<div class="stat"><b>' + c.total + '</b><span>' + esc(label) + (c.warnings ? ' · <span class="warn">' + c.warnings + ' warnings</span>' : '') + (c.errors ? ' · <span class="bad">' + c.errors + ' errors</span>' : '') + '</span></div>'; };
    $('counts').innerHTML = card('HTTP routers', ov.http.routers) + card('HTTP services', ov.http.services) + card('HTTP middlewares', ov.http.middlewares) +
      '<div class="stat"><b>' + esc(ov.revision) + '</b><span>configuration revision · ' + esc((ov.providers || []).join(', ')) + '</span></div>';
    table($('entrypoints'), ['name', 'address'], eps.map(function (e) { return [esc(e.name), '<code>' + esc(e.address) + '</code>']; }));
    table($('routers'), ['status', 'name', 'rule', 'entry points', 'middlewares', 'service', 'errors'], routers.map(function (r) {
      return [status(r.status), esc(r.name), '<code>' + esc(r.rule) + '</code>', esc((r.entryPoints || []).join(', ')), esc((r.middlewares || []).join(', ')), esc(r.service), errs(r.error)];
    }), { empty: 'No routers.' });
    table($('services'), ['status', 'name', 'type', 'servers', 'used by', 'errors'], services.map(function (s) {
      var servers = Object.keys(s.serverStatus || {}).map(function (u) { return '<code>' + esc(u) + '</code> <span class="' + (s.serverStatus[u] === 'UP' ? 'ok' : 'bad') + '">' + esc(s.serverStatus[u]) + '</span>'; }).join('<br>');
      return [status(s.status), esc(s.name), esc(s.type), servers, esc((s.usedBy || []).join(', ')), errs(s.error)];
    }), { empty: 'No services.' });
    table($('middlewares'), ['status', 'name', 'type', 'used by', 'errors'], mws.map(function (m) {
      return [status(m.status), esc(m.name), esc(m.type), esc((m.usedBy || []).join(', ')), errs(m.error)];
    }), { empty: 'No middlewares.' });
    var e = ov.errors || [];
    $('errors-card').style.display = e.length ? '' : 'none';
    $('errors').innerHTML = e.map(function (x) { return '<div class="bad"><code>' + esc(x) + '</code></div>'; }).join('');
  });
}

// ---- traffic
function loadTraffic() {
  var kind = $('kind').value, win = $('window').value;
  var p1 = get('gatehouse/stat?kind=' + kind + '&window=' + win).then(function (rows) {
    table($('stat'), ['name', '#success', '#rps', '#p50', '#p95', '#p99', '#requests', '#tcp'], rows.map(function (r) {
      return [esc(r.name), '<span class="' + pctClass(r.success) + '">' + fmtPct(r.success) + '</span>', fmtRps(r.rps), fmtMs(r.latencyP50Ms), fmtMs(r.latencyP95Ms), fmtMs(r.latencyP99Ms), String(r.requests), r.tcpConnections == null ? '–' : String(r.tcpConnections)];
    }), {
      empty: 'No traffic in this window.',
      rowAttrs: function (i) { return ' class="click' + (selected && selected.kind === kind && selected.name === rows[i].name ? ' sel' : '') + '" data-name="' + esc(rows[i].name) + '"'; },
    });
  });
  var p2 = get('gatehouse/top?window=' + win + '&limit=20').then(function (rows) {
    table($('top'), ['method', 'path', '#count', '#rps', '#best', '#worst', '#last', '#success'], rows.map(function (r) {
      return [esc(r.method), '<code>' + esc(r.path) + '</code>', String(r.count), fmtRps(r.rps), fmtMs(r.bestMs), fmtMs(r.worstMs), fmtMs(r.lastMs), '<span class="' + pctClass(r.success) + '">' + fmtPct(r.success) + '</span>'];
    }), { empty: 'No traffic in this window.' });
  });
  var p3 = selected ? loadCharts() : Promise.resolve();
  return Promise.all([p1, p2, p3]);
}
function chart(title, pts, series, fmt) {
  var W = 300, H = 100, n = pts.length;
  var max = 0;
  pts.forEach(function (p) { series.forEach(function (s) { var v = s.get(p); if (v != null && v > max) max = v; }); });
  if (max <= 0) max = 1;
  var lines = series.map(function (s) {
    var d = '', pen = false;
    pts.forEach(function (p, i) {
      var v = s.get(p);
      if (v == null) { pen = false; return; }
      var x = n > 1 ? (i / (n - 1)) * W : W, y = H - (v / max) * (H - 6) - 2;
      d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1) + (pen ? '' : 'l0.01 0');
      pen = true;
    });
    return d ? '<path d="' + d + '" fill="none" stroke="' + s.color + '" stroke-width="2" stroke-linecap="round" vector-effect="non-scaling-stroke"/>' : '';
  }).join('');
  var last = pts.length ? series.map(function (s) { return esc(s.name) + ' ' + fmt(s.get(pts[pts.length - 1])); }).join(' · ') : '';
  return '<div class="chart"><h3>' + esc(title) + ' <span class="muted">(max ' + fmt(max) + ')</span></h3><svg viewBox="0 0 ' + W + ' ' + H + '" preserveAspectRatio="none" role="img" aria-label="' + esc(title) + '">' + lines + '</svg><div class="muted">' + last + '</div></div>';
}
function loadCharts() {
  var s = selected;
  return get('gatehouse/timeline?kind=' + s.kind + '&name=' + encodeURIComponent(s.name) + '&window=1h').then(function (pts) {
    if (selected !== s) return;
    $('chart-title').textContent = 'Last hour: ' + s.name + ' (' + s.kind + ')';
    var num = function (v) { return v == null ? '–' : String(Math.round(v * 100) / 100); };
    $('charts').innerHTML =
      chart('Requests per second', pts, [{ name: 'rps', color: '#2459d6', get: function (p) { return p.rps; } }], num) +
      chart('Success rate', pts, [{ name: 'success', color: '#127a3a', get: function (p) { return p.requests ? p.successes / p.requests : null; } }], fmtPct) +
      chart('Latency', pts, [
        { name: 'p50', color: '#127a3a', get: function (p) { return p.p50; } },
        { name: 'p95', color: '#a66900', get: function (p) { return p.p95; } },
        { name: 'p99', color: '#b3261e', get: function (p) { return p.p99; } },
      ], fmtMs);
  });
}

// ---- topology
function loadTopology() {
  return get('gatehouse/edges?window=1m').then(function (rows) {
    table($('edges'), ['caller', 'router', 'service', 'server', '#success', '#rps', '#p50', '#p99'], rows.map(function (r) {
      return [esc(r.caller), esc(r.router), esc(r.service), esc(r.server), '<span class="' + pctClass(r.success) + '">' + fmtPct(r.success) + '</span>', fmtRps(r.rps), fmtMs(r.latencyP50Ms), fmtMs(r.latencyP99Ms)];
    }), { empty: 'No traffic in the last minute.' });
    $('topology').innerHTML = graph(rows);
  });
}
function graph(rows) {
  if (rows.length === 0) return '';
  var cols = [[], [], [], []], index = [{}, {}, {}, {}];
  var keyOf = function (r) { return [r.caller, r.router, r.service, r.server]; };
  rows.forEach(function (r) { keyOf(r).forEach(function (k, c) { k = k || '–'; if (!(k in index[c])) { index[c][k] = cols[c].length; cols[c].push(k); } }); });
  var rowsMax = Math.max.apply(null, cols.map(function (c) { return c.length; }));
  var W = 960, BW = 190, BH = 26, GAP = 14, H = Math.max(80, rowsMax * (BH + GAP) + 40);
  var xs = [10, 10 + (W - BW - 20) / 3, 10 + 2 * (W - BW - 20) / 3, W - BW - 10];
  var y = function (c, i) { var n = cols[c].length, total = n * (BH + GAP) - GAP; return (H - 20 - total) / 2 + 20 + i * (BH + GAP); };
  var links = {};
  rows.forEach(function (r) {
    var k = keyOf(r).map(function (x) { return x || '–'; });
    for (var c = 0; c < 3; c++) {
      var id = c + '|' + k[c] + '|' + k[c + 1];
      var l = links[id] || (links[id] = { c: c, a: index[c][k[c]], b: index[c + 1][k[c + 1]], rps: 0, req: 0, ok: 0 });
      l.rps += r.rps; l.req += r.requests; l.ok += (r.success == null ? 0 : r.success * r.requests);
    }
  });
  var maxRps = 0;
  Object.keys(links).forEach(function (id) { if (links[id].rps > maxRps) maxRps = links[id].rps; });
  var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="topology">';
  ['callers', 'routers', 'services', 'servers'].forEach(function (t, c) { svg += '<text x="' + (xs[c] + 4) + '" y="12" class="muted">' + t + '</text>'; });
  Object.keys(links).forEach(function (id) {
    var l = links[id], x1 = xs[l.c] + BW, y1 = y(l.c, l.a) + BH / 2, x2 = xs[l.c + 1], y2 = y(l.c + 1, l.b) + BH / 2, mx = (x1 + x2) / 2;
    var s = l.req ? l.ok / l.req : null, color = s == null ? '#98a2b3' : s >= 0.99 ? '#3fb96b' : s >= 0.95 ? '#e0a030' : '#f06a5e';
    var w = 1.5 + (maxRps > 0 ? (l.rps / maxRps) * 6 : 0);
    svg += '<path d="M' + x1 + ' ' + y1 + 'C' + mx + ' ' + y1 + ' ' + mx + ' ' + y2 + ' ' + x2 + ' ' + y2 + '" fill="none" stroke="' + color + '" stroke-width="' + w.toFixed(1) + '" opacity="0.8"><title>' + esc(fmtRps(l.rps) + ' · ' + fmtPct(s)) + '</title></path>';
    svg += '<text x="' + (mx - 20) + '" y="' + ((y1 + y2) / 2 - 3) + '">' + esc(fmtRps(l.rps)) + '</text>';
  });
  cols.forEach(function (col, c) {
    col.forEach(function (name, i) {
      var label = name.length > 30 ? name.slice(0, 29) + '…' : name;
      svg += '<g><rect x="' + xs[c] + '" y="' + y(c, i) + '" width="' + BW + '" height="' + BH + '" rx="5" fill="#2459d61f" stroke="#2459d6"/><text x="' + (xs[c] + 6) + '" y="' + (y(c, i) + 17) + '"><title>' + esc(name) + '</title>' + esc(label) + '</text></g>';
    });
  });
  return svg + '</svg>';
}

// ---- tap
function tapQuery() {
  var q = ['maxRps=50', 'headers=1'];
  [['router', 'f-router'], ['service', 'f-service'], ['caller', 'f-caller'], ['path', 'f-path'], ['method', 'f-method'], ['status', 'f-status']].forEach(function (f) {
    var v = $(f[1]).value.trim();
    if (v) q.push(f[0] + '=' + encodeURIComponent(v));
  });
  return q.join('&');
}
function tapStart() {
  tapStop();
  var es = new EventSource(API + 'gatehouse/tap?' + tapQuery());
  tapSource = es;
  $('tap-toggle').textContent = 'Stop';
  $('tap-state').textContent = 'connecting…';
  es.onopen = function () { $('tap-state').textContent = 'live'; };
  es.onerror = function () { $('tap-state').textContent = 'reconnecting…'; };
  es.addEventListener('end', function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (x) { return; }
    e.at = new Date();
    tapRows.unshift(e);
    if (tapRows.length > MAX_TAP_ROWS) tapRows.length = MAX_TAP_ROWS;
    renderTap();
  });
  es.addEventListener('dropped', function (m) { $('tap-state').textContent = 'live (some events dropped: ' + esc(m.data) + ')'; });
}
function tapStop() {
  if (tapSource) tapSource.close();
  tapSource = null;
  $('tap-toggle').textContent = 'Start';
  $('tap-state').textContent = 'stopped';
}
function statusClass(e) { return e.status >= 500 || e.status === 0 ? 'bad' : e.status >= 400 ? 'warn' : 'ok'; }
function renderTap() {
  var h = '';
  tapRows.forEach(function (e) {
    h += '<tr class="click tap-row" data-id="' + esc(e.id) + '"><td>' + esc(e.at.toLocaleTimeString()) + '</td><td>' + esc(e.caller) + '</td><td>' + esc(e.method) + '</td><td>' + esc(e.authority) + '</td><td><code>' + esc(e.path) + '</code></td><td class="n ' + statusClass(e) + '">' + esc(e.status) + (e.grpcStatus != null ? ' / grpc ' + esc(e.grpcStatus) : '') + '</td><td class="n">' + fmtMs(e.latencyMs) + '</td><td class="n">' + esc(e.bytes) + '</td><td>' + esc(e.router) + '</td><td>' + esc(e.service) + '</td><td><code>' + esc(e.server) + '</code></td></tr>';
    if (tapOpen[e.id]) h += '<tr class="tap-detail"><td colspan="11"><pre class="detail">' + esc(JSON.stringify(detail(e), null, 2)) + '</pre></td></tr>';
  });
  $('tap-rows').innerHTML = h || '<tr><td colspan="11" class="muted">Waiting for requests…</td></tr>';
}
function detail(e) {
  var d = {};
  Object.keys(e).forEach(function (k) { if (k !== 'at' && k !== 'type') d[k] = e[k]; });
  d.time = e.at.toISOString();
  return d;
}

// ---- alerts
function loadAlerts() {
  return get('gatehouse/alerts').then(function (rows) {
    var firing = rows.filter(function (a) { return a.state === 'firing'; }).length;
    var b = $('alert-badge');
    b.textContent = String(firing);
    b.className = firing ? 'badge' : 'badge hidden';
    table($('alerts'), ['state', 'rule', '#sev', 'condition', 'scope', '#value', 'since', 'notified'], rows.map(function (a) {
      var scope = Object.keys(a.labels || {}).filter(function (k) { return ['router', 'service', 'server', 'entryPoint', 'caller', 'certificate'].indexOf(k) >= 0; }).map(function (k) { return k + '=' + a.labels[k]; }).join(', ') || '*';
      var since = a.state === 'firing' ? a.startsAt : a.state === 'resolved' ? a.endsAt : null;
      var n = a.lastNotification;
      return [status(a.state), esc(a.rule) + (a.description ? '<br><span class="muted">' + esc(a.description) + '</span>' : ''), esc(a.severity), '<code>' + esc(a.condition) + '</code>', esc(scope), a.value == null ? '<span class="muted">no data</span>' : esc(Math.round(a.value * 1000) / 1000), since ? esc(new Date(since).toLocaleString()) : '–', n ? esc(n.status + (n.httpStatus ? ' (' + n.httpStatus + ')' : '')) : '–'];
    }), { empty: 'No alert rules (add AlertRule objects to the configuration).' });
  });
}

// ---- navigation and polling
var loaders = { overview: loadOverview, traffic: loadTraffic, topology: loadTopology, tap: function () { return Promise.resolve(); }, alerts: loadAlerts };
function tick() {
  Promise.all([loaders[tab](), tab === 'alerts' ? null : loadAlerts()]).then(function () { banner(''); }, function (e) { banner('Cannot reach the gateway API: ' + (e && e.message ? e.message : e)); });
}
function show(name) {
  if (!loaders[name]) name = 'overview';
  tab = name;
  Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (el) { el.classList.toggle('hidden', el.id !== 'tab-' + name); });
  Array.prototype.forEach.call(document.querySelectorAll('nav a'), function (a) { a.classList.toggle('active', a.getAttribute('data-tab') === name); });
  if (name === 'tap') { if (!tapSource && $('tap-toggle').textContent !== 'Start') tapStart(); renderTap(); } else if (tapSource) { tapSource.close(); tapSource = null; $('tap-toggle').textContent = 'Stop'; }
  tick();
}
window.addEventListener('hashchange', function () { show(location.hash.slice(1)); });
$('kind').addEventListener('change', function () { selected = null; $('charts').innerHTML = '<p class="muted">Select a row above.</p>'; tick(); });
$('window').addEventListener('change', tick);
$('stat').addEventListener('click', function (ev) {
  var tr = ev.target.closest('tr[data-name]');
  if (!tr) return;
  selected = { kind: $('kind').value, name: tr.getAttribute('data-name') };
  tick();
});
$('tap-rows').addEventListener('click', function (ev) {
  var tr = ev.target.closest('tr.tap-row');
  if (!tr) return;
  var id = tr.getAttribute('data-id');
  tapOpen[id] = !tapOpen[id];
  renderTap();
});
$('tap-toggle').addEventListener('click', function () { if (tapSource) tapStop(); else tapStart(); });
['f-router', 'f-service', 'f-caller', 'f-path', 'f-method', 'f-status'].forEach(function (id) { $(id).addEventListener('change', function () { if (tapSource) tapStart(); }); });
get('version').then(function (v) { $('ver').textContent = 'v' + v.Version; }, function () {});
timers.push(setInterval(tick, 2000));
show(location.hash.slice(1) || 'overview');
})();
`;
