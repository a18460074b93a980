/**
 * The dashboard's browser script (plain modern JS, no dependency): pages,
 * polling, tables, tap and alerts. Charts and the topology graph are in
 * dashboard-charts.ts and dashboard-topology.ts; src/admin/dashboard.ts joins
 * the three into one script scope. Every URL is relative to the page
 * (`../api/...`), so the dashboard also works when the API is routed under a
 * prefix. Every 2 s: the overview (revision, configuration problems) and the
 * alerts for every page, plus what the visible page shows; the configuration
 * lists only when the revision changes. The tap is an EventSource open while
 * its tab is shown.
 */
export const DASHBOARD_JS = String.raw`
var API = '../api/';
var $ = function (id) { return document.getElementById(id); };
var esc = function (s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; }); };
var RANGES = ['5m', '1h', '6h', '24h'];
var route = { tab: 'overview' };
var range = '5m';
var selected = null;
var tapSource = null;
var tapRows = [];
var tapOpen = {};
var MAX_TAP_ROWS = 200;
var showInternal = false;
var cfg = { revision: null, routers: [], services: [], middlewares: [], entrypoints: [] };
var busy = false;

function get(path) {
  var ctrl = new AbortController();
  var t = setTimeout(function () { ctrl.abort(); }, 8000);
  return fetch(API + path, { signal: ctrl.signal, headers: { accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
    clearTimeout(t);
    if (!r.ok) return r.text().then(function (b) { throw new Error(path + ': ' + r.status + ' ' + b.slice(0, 200)); });
    return r.json();
  }, function (e) { clearTimeout(t); throw e; });
}
function show(el, html) { el.innerHTML = html || ''; el.classList.toggle('hidden', !html); }
function fmtMs(ms) {
  if (ms == null || !isFinite(ms)) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return Math.round(ms * 1000) + ' µs';
  if (ms < 10000) return (ms < 10 ? (Math.round(ms * 10) / 10) : Math.round(ms)) + ' ms';
  return (ms / 1000).toFixed(1) + ' s';
}
function fmtNum(v) { return v == null ? '–' : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100); }
function fmtRps(r) { return r == null || !isFinite(r) ? '–' : (r < 10 ? r.toFixed(2) : r.toFixed(1)) + ' req/s'; }
function fmtPct(s) { return s == null || !isFinite(s) ? '–' : (s * 100).toFixed(2) + '%'; }
function fmtPctShort(s) { return s == null ? '–' : (Math.round(s * 1000) / 10) + '%'; }
function pctClass(s) { return s == null ? 'muted' : s >= 0.99 ? 'ok' : s >= 0.95 ? 'warn' : 'bad'; }
function isInternal(name) { return /@internal$/.test(name || ''); }
function link(kind, name) { return '<a href="#' + kind + '/' + encodeURIComponent(name) + '">' + esc(name) + '</a>'; }
function head(c) { var n = c.charAt(0) === '#', o = c.charAt(n ? 1 : 0) === '~'; var t = c.slice((n ? 1 : 0) + (o ? 1 : 0)); return { n: n, opt: o, t: t }; }
/** Columns: '#x' right-aligned number, '~x' hidden on a phone, '#~x' both. */
function table(el, cols, rows, opts) {
  opts = opts || {};
  var hs = cols.map(head);
  var cls = function (h) { var c = (h.n ? 'n' : '') + (h.opt ? ' opt' : ''); return c ? ' class="' + c.trim() + '"' : ''; };
  var h = '<thead><tr>' + hs.map(function (x) { return '<th' + cls(x) + '>' + esc(x.t) + '</th>'; }).join('') + '</tr></thead><tbody>';
  if (rows.length === 0) h += '<tr><td colspan="' + cols.length + '" class="muted">' + esc(opts.empty || 'Nothing yet.') + '</td></tr>';
  rows.forEach(function (r, i) {
    var attrs = opts.rowAttrs ? opts.rowAttrs(i) : '';
    h += '<tr' + attrs + '>' + r.map(function (c, j) { return '<td' + (hs[j].t === 'trend' ? ' class="sp"' : cls(hs[j])) + '>' + c + '</td>'; }).join('') + '</tr>';
  });
  el.innerHTML = h + '</tbody>';
}
function status(s) { return '<span class="' + esc(s) + '">' + esc(s) + '</span>'; }
function errs(e) { return e && e.length ? '<span class="bad">' + esc(e.join('; ')) + '</span>' : ''; }
function pct(s) { return '<span class="' + pctClass(s) + '">' + fmtPct(s) + '</span>'; }
function share(k, n) { return n ? '<span class="' + (k ? 'warn' : 'muted') + '">' + (Math.round((k / n) * 1000) / 10) + '%</span>' : '–'; }
function byTraffic(stats) {
  return function (a, b) {
    var x = stats[a.name], y = stats[b.name];
    return (y ? y.requests : 0) - (x ? x.requests : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  };
}
function index(rows) { var m = {}; (rows || []).forEach(function (r) { m[r.name] = r; }); return m; }
function stepOf(pts, def) { return pts.length > 1 ? pts[1].t - pts[0].t : def; }
/**
 * Points before the gateway started have no data (not zero), and the current slice, less than
 * half over, has too few requests for a rate: neither is drawn.
 */
var dataSince = 0;
function started(pts) {
  var now = Date.now();
  return pts.map(function (p, i) {
    var step = i + 1 < pts.length ? pts[i + 1].t - p.t : i > 0 ? p.t - pts[i - 1].t : 1000;
    var none = p.t + step <= dataSince || (i === pts.length - 1 && now - p.t < step / 2);
    return none ? { t: p.t, requests: 0, successes: 0, clientErrors: 0, rps: null, p50: null, p95: null, p99: null } : p;
  });
}

// ---- on every page: revision, configuration problems, alerts
function loadCommon() {
  return Promise.all([get('overview'), get('gatehouse/alerts').catch(function () { return []; })]).then(function (a) {
    var ov = a[0], alerts = a[1];
    $('rev').textContent = 'revision ' + ov.revision;
    configBanner(ov);
    alertBanner(alerts);
    if (ov.revision !== cfg.revision) {
      return Promise.all([get('http/routers?per_page=1000'), get('http/services?per_page=1000'), get('http/middlewares?per_page=1000'), get('entrypoints')]).then(function (l) {
        cfg = { revision: ov.revision, overview: ov, routers: l[0], services: l[1], middlewares: l[2], entrypoints: l[3] };
      });
    }
    cfg.overview = ov;
  });
}
function where(r) { return r.file + (r.line != null ? ':' + r.line + (r.column != null ? ':' + r.column : '') : ''); }
function configBanner(ov) {
  var c = ov.configuration, h = '';
  if (c && !c.healthy) {
    // Errors that only repeat a refused file are not listed twice.
    var others = (ov.errors || []).filter(function (e) { return !(c.refused || []).some(function (r) { return r.file && e.indexOf(r.file) >= 0; }); });
    var items = (c.refused || []).map(function (r) {
      return '<li><code>' + esc(where(r)) + '</code> (' + esc(r.provider) + ')' + (r.field ? ' field <code>' + esc(r.field) + '</code>' : '') + ': ' + esc(r.message) + ' <span class="small">[' + esc(r.code) + ']</span><br><span class="small">refused since ' + esc(fmtWhen(r.since)) + ' · ' +
        (r.lastGood ? 'serving the last good version from ' + esc(fmtWhen(r.lastGood)) : 'nothing of this file is served') + '</span></li>';
    });
    if (c.lastReload && !c.lastReload.success) items.push('<li>The last reload (revision ' + esc(c.lastReload.revision) + (c.lastReload.at ? ', ' + esc(fmtWhen(c.lastReload.at)) : '') + ') found errors' + (others.length ? ': ' + others.map(function (e) { return '<code>' + esc(e) + '</code>'; }).join('; ') : '') + '</li>');
    else others.forEach(function (e) { items.push('<li><code>' + esc(e) + '</code></li>'); });
    h = '<b>Configuration problem: ' + ((c.refused || []).length ? (c.refused.length === 1 ? 'a file is refused' : c.refused.length + ' files are refused') : 'errors in the configuration') + '.</b><ul>' + items.join('') + '</ul>';
  } else if (!c && (ov.errors || []).length) {
    h = '<b>Configuration problem.</b><ul>' + ov.errors.map(function (e) { return '<li><code>' + esc(e) + '</code></li>'; }).join('') + '</ul>';
  }
  show($('banner-config'), h);
}
function scopeOf(a) {
  return Object.keys(a.labels || {}).filter(function (k) { return ['router', 'service', 'server', 'entryPoint', 'caller', 'certificate'].indexOf(k) >= 0; }).map(function (k) { return k + '=' + a.labels[k]; }).join(', ') || '*';
}
function alertBanner(rows) {
  var firing = rows.filter(function (a) { return a.state === 'firing'; });
  var b = $('alert-badge');
  b.textContent = String(firing.length);
  b.className = firing.length ? 'badge' : 'badge hidden';
  show($('banner-alerts'), firing.length ? '<b>' + firing.length + (firing.length === 1 ? ' alert firing' : ' alerts firing') + '</b> (<a href="#alerts">alerts</a>)<ul>' + firing.map(function (a) {
    return '<li>' + esc(a.rule) + ' <span class="small">' + esc(a.severity) + ' · ' + esc(scopeOf(a)) + (a.value != null ? ' · value ' + esc(Math.round(a.value * 1000) / 1000) : '') + (a.startsAt ? ' · since ' + esc(fmtWhen(a.startsAt)) : '') + '</span></li>';
  }).join('') + '</ul>' : '');
  cfg.alerts = rows;
}

// ---- overview
function figure(label, value, cls, sub, sp) {
  return '<div class="stat"><span>' + esc(label) + '</span><b class="' + (cls || '') + '">' + esc(value) + '</b><span>' + sub + '</span>' + sp + '</div>';
}
function loadOverview() {
  return Promise.all([get('gatehouse/summary?range=' + range + '&limit=5'), get('gatehouse/stat?kind=routers&window=1m'), get('gatehouse/stat?kind=services&window=1m'), get('providers').catch(function () { return null; }), get('tls/certificates').catch(function () { return null; }), get('dns').catch(function () { return null; })]).then(function (a) {
    var s = a[0], rstat = index(a[1]), sstat = index(a[2]), t = s.total, pts = started(t.points);
    renderProviders(a[3]);
    renderCertificates(a[4]);
    renderDns(a[5]);
    var failed = t.requests - Math.round((t.success == null ? 1 : t.success) * t.requests);
    $('figures').innerHTML =
      figure('Requests per second', fmtRps(t.rps), '', esc(t.requests) + ' requests in the last minute', spark(pts, function (p) { return p.rps; }, 1, fmtRps)) +
      figure('Success rate (not 5xx)', fmtPct(t.success), pctClass(t.success), '4xx ' + share(t.clientErrors, t.requests) + ' · 5xx/failed ' + share(failed, t.requests), spark(pts, function (p) { return p.requests ? p.successes / p.requests : null; }, 2, fmtPct)) +
      figure('Latency p50', fmtMs(t.latencyP50Ms), '', 'median', spark(pts, function (p) { return p.p50; }, 2, fmtMs)) +
      figure('Latency p95', fmtMs(t.latencyP95Ms), '', '95th percentile', spark(pts, function (p) { return p.p95; }, 3, fmtMs)) +
      figure('Latency p99', fmtMs(t.latencyP99Ms), '', '99th percentile', spark(pts, function (p) { return p.p99; }, 4, fmtMs));
    $('ov-note').textContent = 'figures: last minute · charts: last ' + range + ' · user traffic (@internal apart: ' + fmtRps(s.internal.rps) + ')';
    trafficCharts($('ov-charts'), 'ov', pts, s.stepMs);
    var busyRows = function (kind, rows) {
      return rows.map(function (r) {
        return [link(kind, r.name), fmtRps(r.rps), pct(r.success), share(r.clientErrors, r.requests), fmtMs(r.latencyP50Ms), fmtMs(r.latencyP99Ms), spark(started(r.points), function (p) { return p.rps; }, 1, fmtRps)];
      });
    };
    var cols = ['name', '#rate', '#success', '#~4xx', '#~p50', '#~p99', 'trend'];
    table($('busy-routers'), cols, busyRows('router', s.routers), { empty: 'No traffic in the last minute.' });
    table($('busy-services'), cols, busyRows('service', s.services), { empty: 'No traffic in the last minute.' });
    renderConfigTables(rstat, sstat);
  });
}
/** GET /api/providers: each provider's Ready condition and the revision in force; a newer revision that was refused is said in red. */
function renderProviders(list) {
  if (!Array.isArray(list)) { table($('providers'), ['name'], [], { empty: 'Provider status unavailable.' }); return; }
  table($('providers'), ['name', '~type', 'ready', 'revision in force', '~last handled', '~source'], list.map(function (p) {
    var ready = (p.conditions || []).filter(function (c) { return c.type === 'Ready'; })[0];
    var rd = ready ? '<span class="' + (ready.status === 'True' ? 'ok' : ready.status === 'False' ? 'bad' : 'warn') + '">' + esc(ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'Not ready' : 'Starting') + '</span> <span class="small">' + esc(ready.reason || '') + '</span>' +
      (ready.status !== 'True' && ready.message ? '<br><span class="small">' + esc(ready.message) + '</span>' : '')
      : '<span class="' + (p.state === 'ready' ? 'ok' : 'bad') + '">' + esc(p.state) + '</span>' + (p.message ? '<br><span class="small">' + esc(p.message) + '</span>' : '');
    var applied = p.lastAppliedRevision || p.revision || '–';
    var rev = '<code>' + esc(applied) + '</code>';
    if (p.lastAttemptedRevision && p.lastAppliedRevision && p.lastAttemptedRevision !== p.lastAppliedRevision)
      rev += '<br><span class="bad small">newest <code>' + esc(p.lastAttemptedRevision) + '</code> refused: the revision above keeps serving</span>';
    return [esc(p.name), esc(p.type || p.name), rd, rev, esc(p.lastHandledAt ? fmtWhen(p.lastHandledAt) : p.lastUpdate ? fmtWhen(p.lastUpdate) : '–'), p.url ? '<code>' + esc(p.url) + '</code>' : '–'];
  }), { empty: 'No providers.' });
}
/** GET /api/tls/certificates: days to expiry (red under 14), source, routers; ACME orders with their state and the CA's error. */
function renderCertificates(list) {
  if (!Array.isArray(list)) { table($('tls-certs'), ['names'], [], { empty: 'Certificate status unavailable.' }); return; }
  table($('tls-certs'), ['names', '#days left', '~expires', '~issuer', 'source', '~routers', 'state'], list.map(function (c) {
    var days = typeof c.daysLeft === 'number' ? '<span class="' + (c.daysLeft < 14 ? 'bad' : c.daysLeft < 30 ? 'warn' : 'ok') + '">' + esc(c.daysLeft) + '</span>' : '–';
    var st = c.acme ? '<span class="' + (c.acme.state === 'Ready' ? 'ok' : c.acme.state === 'Failed' ? 'bad' : 'warn') + '">' + esc(c.acme.state) + '</span>' +
      (c.acme.error ? '<br><span class="small bad">' + esc(c.acme.error) + '</span>' : '') +
      (c.acme.nextRenewal ? '<br><span class="small">renews ' + esc(fmtWhen(c.acme.nextRenewal)) + '</span>' : '') : '–';
    var issuer = String(c.issuer || '').replace(/^.*CN=/, '');
    return [esc((c.names || []).join(', ')), days, esc(c.notAfter ? String(c.notAfter).slice(0, 10) : '–'), esc(issuer || '–'), esc(c.source + (c.default ? ' (default)' : '') + (c.resolver ? ' · ' + c.resolver : '')), (c.routers || []).map(function (n) { return link('router', n); }).join(', ') || '–', st];
  }), { empty: 'No TLS certificates.' });
}
/** GET /api/dns (404 without --dns.provider: the card stays hidden). */
function renderDns(s) {
  var card = $('dns-card');
  if (!s || s.enabled === false || !Array.isArray(s.records)) { card.classList.add('hidden'); return; }
  card.classList.remove('hidden');
  $('dns-note').innerHTML = esc((s.provider || '') + ' · policy ' + (s.policy || '') + (s.dryRun ? ' · dry run' : '') + (s.lastSync ? ' · last sync ' + fmtWhen(s.lastSync) : '')) +
    (s.lastError ? '<br><span class="bad">' + esc(typeof s.lastError === 'string' ? s.lastError : s.lastError.message || JSON.stringify(s.lastError)) + '</span>' : '');
  table($('dns-records'), ['name', 'type', '~targets', 'state', '~last check', '~message'], s.records.map(function (r) {
    var cls = r.state === 'Published' ? 'ok' : r.state === 'Pending' ? 'warn' : 'bad';
    var chk = r.lastCheck ? (r.lastCheck.ok ? '<span class="ok">answers</span>' : '<span class="bad">' + esc(r.lastCheck.error || 'no answer') + '</span>') : '–';
    return [esc(r.name), esc(r.type), esc((r.targets || []).join(', ')), '<span class="' + cls + '">' + esc(r.state) + '</span>', chk, esc(r.message || r.error || '')];
  }), { empty: 'No records.' });
}
function renderConfigTables(rstat, sstat) {
  var ov = cfg.overview;
  var card = function (label, c) { return '<div class="stat"><b>' + c.total + '</b><span>' + esc(label) + (c.warnings ? ' · <span class="warn">' + c.warnings + ' warnings</span>' : '') + (c.errors ? ' · <span class="bad">' + c.errors + ' errors</span>' : '') + '</span></div>'; };
  $('counts').innerHTML = card('HTTP routers', ov.http.routers) + card('HTTP services', ov.http.services) + card('HTTP middlewares', ov.http.middlewares) +
    '<div class="stat"><b>' + esc(ov.revision) + '</b><span>configuration revision · ' + esc((ov.providers || []).join(', ')) + '</span></div>';
  var rcols = ['status', 'name', '#rate', '#success', '#~p99', '~rule', '~entry points', '~middlewares', '~service', 'errors'];
  var rrow = function (r) {
    var st = rstat[r.name];
    return [status(r.status), link('router', r.name), st ? fmtRps(st.rps) : '–', st ? pct(st.success) : '–', st ? fmtMs(st.latencyP99Ms) : '–', '<code>' + esc(r.rule) + '</code>', esc((r.entryPoints || []).join(', ')), esc((r.middlewares || []).join(', ')), link('service', r.service), errs(r.error)];
  };
  var routers = cfg.routers.slice().sort(byTraffic(rstat));
  var user = routers.filter(function (r) { return !isInternal(r.name); }), internal = routers.filter(function (r) { return isInternal(r.name); });
  table($('routers'), rcols, user.map(rrow), { empty: 'No routers.' });
  table($('routers-internal'), rcols, internal.map(rrow), { empty: 'No @internal routers.' });
  $('routers-internal').classList.toggle('hidden', !showInternal);
  $('toggle-internal').textContent = (showInternal ? 'Hide the ' : 'Show the ') + internal.length + ' @internal routers and services';
  var services = cfg.services.slice().sort(byTraffic(sstat)).filter(function (s) { return showInternal || !isInternal(s.name); });
  table($('services'), ['status', 'name', '#rate', '#success', '~type', '~servers', '~used by', 'errors'], services.map(function (s) {
    var st = sstat[s.name];
    var servers = Object.keys(s.serverStatus || {}).map(function (u) { return '<code>' + esc(u) + '</code> <span class="' + (s.serverStatus[u] === 'UP' ? 'ok' : 'bad') + '">' + esc(s.serverStatus[u]) + '</span>'; }).join('<br>');
    return [status(s.status), link('service', s.name), st ? fmtRps(st.rps) : '–', st ? pct(st.success) : '–', esc(s.type), servers, (s.usedBy || []).map(function (n) { return link('router', n); }).join(', '), errs(s.error)];
  }), { empty: 'No services.' });
  table($('middlewares'), ['status', 'name', 'type', '~used by', 'errors'], cfg.middlewares.map(function (m) {
    return [status(m.status), esc(m.name), esc(m.type), (m.usedBy || []).map(function (n) { return link('router', n); }).join(', '), errs(m.error)];
  }), { empty: 'No middlewares.' });
  table($('entrypoints'), ['name', 'address'], cfg.entrypoints.map(function (e) { return [link('entrypoint', e.name), '<code>' + esc(e.address) + '</code>']; }));
}

// ---- detail of one router, service or entry point
var KINDS = { router: 'routers', service: 'services', entrypoint: 'entrypoints' };
function loadDetail() {
  var kind = route.kind, name = route.name, plural = KINDS[kind];
  $('detail-title').innerHTML = esc(kind === 'entrypoint' ? 'Entry point' : kind.charAt(0).toUpperCase() + kind.slice(1)) + ' <code>' + esc(name) + '</code>';
  // A service's own entry is read fresh: its servers' health changes between revisions.
  var fresh = kind === 'service' ? get('http/services/' + encodeURIComponent(name)).catch(function () { return null; }) : null;
  return Promise.all([get('gatehouse/stat?kind=' + plural + '&window=1m'), get('gatehouse/timeline?kind=' + plural + '&name=' + encodeURIComponent(name) + '&window=' + range), fresh]).then(function (a) {
    if (route.name !== name) return;
    var st = index(a[0])[name], pts = started(a[1]);
    var f = st || { rps: 0, success: null, requests: 0, clientErrors: 0 };
    $('detail-figures').innerHTML = figure('Requests per second', fmtRps(f.rps), '', esc(f.requests) + ' in the last minute', '') +
      figure('Success rate (not 5xx)', fmtPct(f.success), pctClass(f.success), '4xx ' + share(f.clientErrors || 0, f.requests), '') +
      figure('Latency p50', fmtMs(f.latencyP50Ms), '', 'last minute', '') + figure('Latency p95', fmtMs(f.latencyP95Ms), '', 'last minute', '') + figure('Latency p99', fmtMs(f.latencyP99Ms), '', 'last minute', '');
    trafficCharts($('detail-charts'), 'detail', pts, stepOf(pts, 0));
    $('detail-config').innerHTML = detailConfig(kind, name, a[2]);
  });
}
function kv(rows) { return '<dl class="kv">' + rows.filter(function (r) { return r[1] !== '' && r[1] != null; }).map(function (r) { return '<dt>' + esc(r[0]) + '</dt><dd>' + r[1] + '</dd>'; }).join('') + '</dl>'; }
function detailConfig(kind, name, fresh) {
  var list = kind === 'router' ? cfg.routers : kind === 'service' ? cfg.services : cfg.entrypoints;
  var x = fresh || list.filter(function (i) { return i.name === name; })[0];
  if (!x) return '<p class="muted">Not in the configuration in force (revision ' + esc(cfg.revision) + ').</p>';
  if (kind === 'router')
    return kv([['status', status(x.status)], ['rule', '<code>' + esc(x.rule) + '</code>'], ['entry points', (x.entryPoints || []).map(function (e) { return link('entrypoint', e); }).join(', ')], ['middlewares', esc((x.middlewares || []).join(', '))],
      ['service', link('service', x.service)], ['priority', esc(x.priority)], ['provider', esc(x.provider)], ['tls', x.tls ? '<code>' + esc(JSON.stringify(x.tls)) + '</code>' : ''], ['errors', errs(x.error)]]);
  if (kind === 'service') {
    // serverHealth (docs/failover.md): priority, weight, probe latency, standby, and why a server is down.
    var sh = x.serverHealth || {};
    var servers = Object.keys(x.serverStatus || {}).map(function (u) {
      var d = sh[u];
      var more = d ? ' <span class="muted">priority ' + esc(d.priority) + ', weight ' + esc(d.weight) + (d.latencyMs != null ? ', probe ' + esc(fmtMs(d.latencyMs)) : '') + (d.up && !d.inRotation ? ', standby' : '') + '</span>' + (d.reason ? '<br><span class="bad server-reason">' + esc(d.reason) + '</span>' : '') : '';
      return '<code>' + esc(u) + '</code> <span class="' + (x.serverStatus[u] === 'UP' ? 'ok' : 'bad') + '">' + esc(x.serverStatus[u]) + '</span>' + more;
    }).join('<br>');
    return kv([['status', status(x.status)], ['type', esc(x.type)], ['servers', servers], ['used by', (x.usedBy || []).map(function (n) { return link('router', n); }).join(', ')], ['provider', esc(x.provider)], ['errors', errs(x.error)]]);
  }
  return kv([['address', '<code>' + esc(x.address) + '</code>'], ['forwarded headers', x.forwardedHeaders ? '<code>' + esc(JSON.stringify(x.forwardedHeaders)) + '</code>' : '']]);
}

// ---- traffic
function loadTraffic() {
  var kind = $('kind').value, win = $('window').value;
  var p1 = get('gatehouse/stat?kind=' + kind + '&window=' + win).then(function (rows) {
    rows.sort(function (a, b) { return b.requests - a.requests || (a.name < b.name ? -1 : 1); });
    var linkKind = { routers: 'router', services: 'service', entrypoints: 'entrypoint' }[kind];
    table($('stat'), ['name', '#success', '#rate', '#p50', '#~p95', '#p99', '#~requests', '#~4xx', '#~tcp'], rows.map(function (r) {
      return [linkKind ? link(linkKind, r.name) : esc(r.name), pct(r.success), fmtRps(r.rps), fmtMs(r.latencyP50Ms), fmtMs(r.latencyP95Ms), fmtMs(r.latencyP99Ms), String(r.requests), share(r.clientErrors || 0, r.requests), r.tcpConnections == null ? '–' : String(r.tcpConnections)];
    }), {
      empty: 'No traffic in this window.',
      rowAttrs: function (i) { return ' class="click' + (selected && selected.kind === kind && selected.name === rows[i].name ? ' sel' : '') + '" data-name="' + esc(rows[i].name) + '"'; },
    });
  });
  var p2 = get('gatehouse/top?window=' + win + '&limit=20').then(function (rows) {
    table($('top'), ['method', 'path', '#count', '#rate', '#~best', '#~worst', '#~last', '#success'], rows.map(function (r) {
      return [esc(r.method), '<code>' + esc(r.path) + '</code>', String(r.count), fmtRps(r.rps), fmtMs(r.bestMs), fmtMs(r.worstMs), fmtMs(r.lastMs), pct(r.success)];
    }), { empty: 'No traffic in this window.' });
  });
  var p3 = selected ? loadCharts() : Promise.resolve();
  return Promise.all([p1, p2, p3]);
}
function loadCharts() {
  var s = selected;
  var long = range === '6h' || range === '24h';
  var w = long && (s.kind === 'servers' || s.kind === 'callers') ? '1h' : range;
  return get('gatehouse/timeline?kind=' + s.kind + '&name=' + encodeURIComponent(s.name) + '&window=' + w).then(function (pts) {
    if (selected !== s) return;
    $('chart-title').textContent = s.name + ' (' + s.kind + '), last ' + w + (w !== range ? ' (history beyond 1 h is kept for routers, services and entry points)' : '');
    if ($('charts').querySelector('p')) $('charts').innerHTML = '';
    trafficCharts($('charts'), 'tr', started(pts), stepOf(pts, 0));
  });
}

// ---- topology
function loadTopology() {
  return get('gatehouse/edges?window=1m').then(function (rows) {
    table($('edges'), ['caller', 'router', '~service', '~server', '#rate', '#success', '#4xx', '#5xx', '#~p50', '#~p99'], rows.map(function (r) {
      var failed = r.requests - Math.round((r.success == null ? 1 : r.success) * r.requests);
      return [esc(r.caller), r.router ? link('router', r.router) : '<span class="muted">no router</span>', r.service ? link('service', r.service) : '', '<code>' + esc(r.server) + '</code>', fmtRps(r.rps), pct(r.success), share(r.clientErrors || 0, r.requests), share(failed, r.requests), fmtMs(r.latencyP50Ms), fmtMs(r.latencyP99Ms)];
    }), { empty: 'No traffic in the last minute.' });
    $('topology').innerHTML = graph(rows);
  });
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
  es.addEventListener('dropped', function (m) { $('tap-state').textContent = 'live (some events dropped: ' + m.data + ')'; });
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
    h += '<tr class="click tap-row" data-id="' + esc(e.id) + '"><td>' + esc(fmtClock(e.at, true)) + '</td><td>' + esc(e.caller) + '</td><td>' + esc(e.method) + '</td><td class="opt">' + esc(e.authority) + '</td><td><code>' + esc(e.path) + '</code></td><td class="n ' + statusClass(e) + '">' + esc(e.status) + (e.grpcStatus != null ? ' / grpc ' + esc(e.grpcStatus) : '') + '</td><td class="n">' + fmtMs(e.latencyMs) + '</td><td class="n opt">' + esc(e.bytes) + '</td><td class="opt">' + esc(e.router) + '</td><td class="opt">' + esc(e.service) + '</td><td class="opt"><code>' + esc(e.server) + '</code></td></tr>';
    if (tapOpen[e.id]) h += '<tr class="tap-detail"><td colspan="11"><pre class="detail">' + esc(JSON.stringify(detail(e), null, 2)) + '</pre></td></tr>';
  });
  $('tap-rows').innerHTML = h || '<tr><td colspan="11" class="muted">Waiting for requests…</td></tr>';
}
function detail(e) {
  var d = {};
  Object.keys(e).forEach(function (k) { if (k !== 'at' && k !== 'type') d[k] = e[k]; });
  d.time = e.at.toISOString();
  d.localTime = fmtWhen(e.at.getTime());
  return d;
}

// ---- alerts
function loadAlerts() {
  var rows = cfg.alerts || [];
  table($('alerts'), ['state', 'rule', '#sev', 'condition', '~scope', '#value', 'since', '~notified'], rows.map(function (a) {
    var since = a.state === 'firing' ? a.startsAt : a.state === 'resolved' ? a.endsAt : null;
    var n = a.lastNotification;
    return [status(a.state), esc(a.rule) + (a.description ? '<br><span class="muted">' + esc(a.description) + '</span>' : ''), esc(a.severity), '<code>' + esc(a.condition) + '</code>', esc(scopeOf(a)), a.value == null ? '<span class="muted">no data</span>' : esc(Math.round(a.value * 1000) / 1000), since ? esc(fmtWhen(since)) : '–', n ? esc(n.status + (n.httpStatus ? ' (' + n.httpStatus + ')' : '')) : '–'];
  }), { empty: 'No alert rules (add AlertRule objects to the configuration).' });
  return Promise.resolve();
}

// ---- navigation and polling
var loaders = { overview: loadOverview, detail: loadDetail, traffic: loadTraffic, topology: loadTopology, tap: function () { return Promise.resolve(); }, alerts: loadAlerts };
function tick() {
  if (busy) return;
  busy = true;
  var r = route;
  loadCommon().then(function () { return route === r ? loaders[r.tab]() : null; }).then(function () {
    show($('banner-api'), '');
    $('live').className = 'on';
  }, function (e) {
    show($('banner-api'), '<b>Cannot reach the gateway API:</b> ' + esc(e && e.message ? e.message : e));
    $('live').className = 'off';
  }).then(function () { busy = false; });
}
function parseRoute(h) {
  var m = /^(router|service|entrypoint)\/(.+)$/.exec(h);
  if (m) { try { return { tab: 'detail', kind: m[1], name: decodeURIComponent(m[2]) }; } catch (e) { return { tab: 'overview' }; } }
  return { tab: loaders[h] && h !== 'detail' ? h : 'overview' };
}
function go(h) {
  route = parseRoute(h);
  var tab = route.tab;
  Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (el) { el.classList.toggle('hidden', el.id !== 'tab-' + tab); });
  Array.prototype.forEach.call(document.querySelectorAll('nav a'), function (a) { a.classList.toggle('active', a.getAttribute('data-tab') === tab); });
  if (tab === 'detail') { $('detail-charts').innerHTML = ''; $('detail-figures').innerHTML = ''; $('detail-config').innerHTML = ''; }
  if (tab === 'tap') { if (!tapSource && $('tap-toggle').textContent !== 'Start') tapStart(); renderTap(); } else if (tapSource) { tapSource.close(); tapSource = null; $('tap-toggle').textContent = 'Stop'; }
  busy = false;
  tick();
}
function renderRanges() {
  Array.prototype.forEach.call(document.querySelectorAll('[data-range]'), function (el) {
    el.innerHTML = RANGES.map(function (r) { return '<button type="button" data-r="' + r + '" class="' + (r === range ? 'on' : '') + '" aria-pressed="' + (r === range) + '">' + r + '</button>'; }).join('');
  });
}
document.addEventListener('click', function (ev) {
  var b = ev.target.closest ? ev.target.closest('[data-range] button') : null;
  if (!b) return;
  range = b.getAttribute('data-r');
  renderRanges();
  busy = false;
  tick();
});
window.addEventListener('hashchange', function () { go(location.hash.slice(1)); });
$('toggle-internal').addEventListener('click', function () { showInternal = !showInternal; busy = false; tick(); });
$('kind').addEventListener('change', function () { selected = null; $('charts').innerHTML = '<p class="muted">Select a row above.</p>'; busy = false; tick(); });
$('window').addEventListener('change', function () { busy = false; tick(); });
$('stat').addEventListener('click', function (ev) {
  var tr = ev.target.closest('tr[data-name]');
  if (!tr || ev.target.closest('a')) return;
  selected = { kind: $('kind').value, name: tr.getAttribute('data-name') };
  $('charts').innerHTML = '';
  busy = false;
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
$('tz').textContent = 'times: ' + tzLabel();
get('version').then(function (v) { $('ver').textContent = 'v' + v.Version; dataSince = Date.parse(v.startDate) || 0; }, function () {});
renderRanges();
setInterval(tick, 2000);
go(location.hash.slice(1) || 'overview');
`;
